package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/chatbench/chatbench/internal/rlimit"
	"github.com/chatbench/chatbench/loadgen/results"
)

// ProcsOptions says how RunProcs starts its workers.
type ProcsOptions struct {
	// Procs is the number of worker processes (2 or more; see AutoProcs).
	Procs int
	// Command returns a command that starts one worker: this binary made
	// to call Worker with its stdin and stdout (RunProcs sets both), e.g.
	// exec.Command(exe, "swarm-worker").
	Command func() *exec.Cmd
	// Stderr receives the workers' stderr (default os.Stderr).
	Stderr io.Writer
}

// AutoProcs is the number of processes needed to hold n sockets within the
// open-files hard limit, keeping a tenth of it (and fdMargin) free: 1 when
// one process holds them.
func AutoProcs(n int) int {
	_, hard, err := rlimit.Raise()
	if err != nil || hard == 0 || hard > 1<<30 {
		return 1
	}
	per := max(1, int(hard)*9/10-fdMargin)
	return max(1, (n+per-1)/per)
}

type procEvent struct {
	w   int
	msg *procMsg // nil: the worker's stdout ended
}

type procWorker struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	enc    *json.Encoder
	status Status
	ramped int64
	done   *workerDone
	exited chan struct{}
}

// procsRun is the parent's state of a --procs run.
type procsRun struct {
	cfg     Config
	k       int
	workers []*procWorker
	events  chan procEvent
	pc      *procsCollector
	srv     *meter
	errs    []string // why the run failed, in the parent's words
	aborted bool
	origin  int64 // the wall-clock instant (Unix ns) every worker counts from

	rampedN, finishedN, goneN int
	sendStart                 int64 // 0 until every worker ramped
}

// RunProcs runs cfg split over opt.Procs worker processes (see procs.go)
// and merges their results exactly into one (results.Merge), with the loss
// accounted across processes by the same tally as one process's: a probe's
// expected receivers are its room's members in every process, and a copy
// received in any process counts. The server's cost is read by the parent,
// once. Like Run, it always returns a result, judged by cfg.Limits and
// cfg.SLO; the error is a usage error or an interruption.
func RunProcs(ctx context.Context, cfg Config, opt ProcsOptions) (*results.Result, error) {
	res, fail := start(&cfg)
	if err := cfg.complete(); err != nil {
		return fail(&ConfigError{Err: err})
	}
	ids, _ := cfg.partIDs()
	k := min(opt.Procs, len(ids))
	if k < 2 || opt.Command == nil {
		return fail(&ConfigError{Err: fmt.Errorf("procs %d: want 2 or more worker processes (and at most one per client)", opt.Procs)})
	}
	if cfg.runID == "" {
		cfg.runID = NewRunID()
	}
	ips := splitSourceIPs(cfg, k, len(ids))
	soft, _, err := checkFit((len(ids)+k-1)/k, len(ips[0]), len(cfg.URLs))
	res.Environment.FDLimit = soft
	if err != nil {
		return fail(&LimitError{Msg: fmt.Sprintf("--procs %d: %v", k, err)})
	}
	dir, err := os.MkdirTemp("", "chatbench-procs-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	p := &procsRun{cfg: cfg, k: k, events: make(chan procEvent, 64*k), srv: serverMeter(cfg.ServerPIDs, cfg.MetricsURLs, cfg.TLS)}
	if cfg.Metrics != nil {
		// Swarm's own metrics: the sum of the workers' snapshots, which
		// they send with their status every second.
		p.pc = &procsCollector{snaps: make([]MetricsSnapshot, k)}
		if err := cfg.Metrics.Register(p.pc); err != nil {
			return fail(&ConfigError{Err: fmt.Errorf("metrics: %w", err)})
		}
		defer cfg.Metrics.Unregister(p.pc)
	}
	p.srv.sample(ctx, before)
	p.start(opt, ips, dir)
	p.loop(ctx)
	p.stop()
	return p.result(ctx, res, ips)
}

// start starts the k workers and sends each its spec.
func (p *procsRun) start(opt ProcsOptions, ips [][]netip.Addr, dir string) {
	stderr := opt.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	p.origin = time.Now().UnixNano()
	for i := 0; i < p.k; i++ {
		wc := p.cfg
		wc.Progress, wc.coord, wc.Metrics, wc.TLS = nil, nil, nil, nil // not sent: the worker's own command line sets TLS
		wc.MetricsURLs, wc.ServerPIDs, wc.Settle = nil, nil, 0
		wc.SourceIPs = ips[i]
		w, err := startWorker(opt.Command(), stderr, i, p.events)
		if err == nil {
			err = w.enc.Encode(procMsg{Spec: &workerSpec{Config: wc, RunID: p.cfg.runID, Proc: i, Procs: p.k,
				Origin: p.origin, Dir: dir, Version: p.cfg.Version, Metrics: p.pc != nil}})
			p.workers = append(p.workers, w)
		}
		if err != nil {
			p.errs = append(p.errs, fmt.Sprintf("starting worker %d: %v", i, err))
			p.abort()
			return
		}
	}
}

// abort stops every worker (closing its stdin); each still writes its results.
func (p *procsRun) abort() {
	if p.aborted {
		return
	}
	p.aborted = true
	for _, w := range p.workers {
		_ = w.stdin.Close()
	}
}

// loop handles the workers' messages until every one's stdout ended.
func (p *procsRun) loop(ctx context.Context) {
	ctxDone := ctx.Done()
	for p.goneN < len(p.workers) {
		select {
		case <-ctxDone:
			ctxDone = nil
			p.abort()
		case ev := <-p.events:
			p.handle(ctx, ev)
		}
	}
	p.abort()
}

func (p *procsRun) handle(ctx context.Context, ev procEvent) {
	w, m := p.workers[ev.w], ev.msg
	switch {
	case m == nil:
		p.goneN++
		if w.done == nil {
			p.errs = append(p.errs, fmt.Sprintf("worker %d exited without results (see its stderr)", ev.w))
			p.abort()
		}
	case m.Status != nil:
		if p.pc != nil && m.Status.Metrics != nil {
			p.pc.set(ev.w, *m.Status.Metrics)
			m.Status.Metrics = nil
		}
		w.status = *m.Status
		if p.cfg.Progress != nil {
			var sum Status
			for _, x := range p.workers {
				addStatus(&sum, x.status)
			}
			p.cfg.Progress(sum)
		}
	case m.Ramped != nil:
		w.ramped = *m.Ramped
		if p.rampedN++; p.rampedN == p.k && !p.aborted {
			p.startSending(ctx)
		}
	case m.Finished:
		if p.finishedN++; p.finishedN == p.k {
			p.srv.sample(ctx, end)
		}
	case m.Done != nil:
		w.done = m.Done
		if m.Done.Error != "" && p.finishedN < p.k {
			p.abort() // a worker failed before the end: stop the others
		}
	}
}

// startSending reads the server's cost once every socket is open, then
// gives every worker one start instant.
func (p *procsRun) startSending(ctx context.Context) {
	if len(p.srv.procs) > 0 {
		sleepCtx(ctx, p.cfg.Settle)
	}
	p.srv.sample(ctx, ramped)
	p.sendStart = procsSendStart(&p.cfg, p.origin)
	for i, x := range p.workers {
		if err := x.enc.Encode(procMsg{SendStart: &p.sendStart}); err != nil {
			p.errs = append(p.errs, fmt.Sprintf("telling worker %d to start: %v", i, err))
			p.abort()
		}
	}
}

// stop waits for every worker to exit (killing one that does not).
func (p *procsRun) stop() {
	for i, w := range p.workers {
		select {
		case <-w.exited:
		case <-time.After(10 * time.Second):
			_ = w.cmd.Process.Kill()
			<-w.exited
			p.errs = append(p.errs, fmt.Sprintf("worker %d did not exit; killed", i))
		}
	}
}

// result merges the workers' results, tallies their accounts together and
// adds the server's cost.
func (p *procsRun) result(ctx context.Context, res *results.Result, ips [][]netip.Addr) (*results.Result, error) {
	var rs []*results.Result
	var accts []*Account
	var connectedAtRamp int64
	for i, w := range p.workers {
		connectedAtRamp += w.ramped
		if w.done == nil {
			continue
		}
		r, err := results.ReadRun(w.done.Result)
		if err != nil {
			p.errs = append(p.errs, fmt.Sprintf("worker %d: %v", i, err))
			continue
		}
		if w.done.Error != "" && !slices.Contains(r.Errors.Run, w.done.Error) {
			p.errs = append(p.errs, fmt.Sprintf("worker %d: %s", i, w.done.Error))
		}
		rs = append(rs, r)
		a := &Account{}
		if err := readGob(w.done.Account, a); err != nil {
			p.errs = append(p.errs, fmt.Sprintf("worker %d accounting: %v", i, err))
			continue
		}
		accts = append(accts, a)
	}
	if ctx.Err() != nil {
		p.errs = append(p.errs, fmt.Sprintf("interrupted: %v", ctx.Err()))
	}
	if len(rs) == 0 {
		if len(p.errs) == 0 {
			p.errs = append(p.errs, "no worker produced results")
		}
		res.Errors.Run = append(res.Errors.Run, strings.Join(p.errs, "; "))
		res.Finish()
		res.Decide(p.cfg.Limits, p.cfg.SLO)
		return res, p.ctxErr(ctx)
	}
	m, err := results.Merge(rs...)
	if err != nil {
		return res, err
	}
	p.fill(m, res.StartedAt, ips)
	if p.sendStart != 0 && len(accts) == p.k {
		sch := newSchedule(&p.cfg, p.sendStart)
		t := tally(&sch, accts)
		s := &m.Summary
		s.Sent, s.Expected, s.Delivered, s.Lost = t.Sent, t.Expected, t.Delivered, t.Lost
		if t.Excess > 0 {
			m.Notes = append(m.Notes, fmt.Sprintf("accounting error: %d deliveries beyond their probes' expected receivers (a bug in swarm: please report it)", t.Excess))
		}
	} else if p.sendStart != 0 {
		p.errs = append(p.errs, "a worker's loss accounting is missing: loss across processes is not known")
	}
	m.Server = p.srv.cost(connectedAtRamp, m.Swarm.Received)
	for _, e := range p.errs {
		if !slices.Contains(m.Errors.Run, e) {
			m.Errors.Run = append(m.Errors.Run, e)
		}
	}
	m.Finish()
	m.Decide(p.cfg.Limits, p.cfg.SLO)
	return m, p.ctxErr(ctx)
}

func (p *procsRun) ctxErr(ctx context.Context) error {
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	return nil
}

// fill sets what the parent knows better than its workers' merged results.
func (p *procsRun) fill(m *results.Result, started time.Time, ips [][]netip.Addr) {
	cfg := &p.cfg
	m.StartedAt = started
	m.Runs = 1
	m.Config.RunID, m.Config.RunIDs = cfg.runID, nil
	m.Config.Procs = p.k
	m.Config.URLs = cfg.URLs
	m.Config.SourceIPs = 0
	for _, x := range ips {
		m.Config.SourceIPs += len(x)
	}
	if len(cfg.SourceIPs) > 0 && len(cfg.SourceIPs) < p.k {
		m.Config.SourceIPs = len(cfg.SourceIPs)
	}
	m.Notes = append(m.Notes, fmt.Sprintf("%d worker processes; latency and first/last receiver times are taken where sender and receiver share a process (one clock); deliveries to other processes count for loss accounting", p.k))
}

func startWorker(cmd *exec.Cmd, stderr io.Writer, i int, events chan<- procEvent) (*procWorker, error) {
	cmd.Stderr = stderr
	// Its own process group: a Ctrl-C reaches the parent, which stops the
	// workers by closing their stdin, so each still writes its results.
	// If the parent dies (killed), the kernel stops the worker too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &procWorker{cmd: cmd, stdin: stdin, enc: json.NewEncoder(stdin), exited: make(chan struct{})}
	go func() {
		dec := json.NewDecoder(stdout)
		for {
			m := new(procMsg)
			if err := dec.Decode(m); err != nil {
				break
			}
			events <- procEvent{w: i, msg: m}
		}
		_, _ = io.Copy(io.Discard, stdout)
		events <- procEvent{w: i}
		_ = cmd.Wait()
		close(w.exited)
	}()
	return w, nil
}

// splitSourceIPs gives each of k workers its source addresses: a share of
// --source-ips when there are at least k, all of them when fewer, and when
// none were given but n sockets could exhaust one address's ephemeral
// ports, a loopback address of its own (127.0.0.2, …) if every URL is on
// loopback.
func splitSourceIPs(cfg Config, k, n int) [][]netip.Addr {
	out := make([][]netip.Addr, k)
	switch {
	case len(cfg.SourceIPs) >= k:
		for j, a := range cfg.SourceIPs {
			out[j%k] = append(out[j%k], a)
		}
	case len(cfg.SourceIPs) > 0:
		for i := range out {
			out[i] = cfg.SourceIPs
		}
	case n > ephemeralPorts() && k <= 250 && allLoopback(cfg.URLs):
		for i := range out {
			out[i] = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i)})}
		}
	}
	return out
}

func allLoopback(urls []string) bool {
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			return false
		}
		h := u.Hostname()
		if ip := net.ParseIP(h); !(h == "localhost" || ip != nil && ip.IsLoopback() && ip.To4() != nil) {
			return false
		}
	}
	return true
}
