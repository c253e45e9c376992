package loadgen

import (
	"context"
	"encoding/json"
	"errors"
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

	"github.com/chatbench/chatbench/server/rlimit"
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

// RunProcs runs cfg split over opt.Procs worker processes (see procs.go)
// and merges their results exactly into one: histograms merged, counts
// summed, and loss accounted across processes (a probe's expected receivers
// are its room's members in every process; a copy received in any process
// counts). The server's cost is read by the parent, once. Like Run, it
// always returns a Result, partial when the run failed.
func RunProcs(ctx context.Context, cfg Config, opt ProcsOptions) (*Result, error) {
	res := &Result{Schema: Schema, Kind: "swarm", StartedAt: time.Now().UTC(), Runs: 1,
		Errors: Errors{Connect: map[string]int64{}, Run: []string{}}}
	res.Environment = environment(cfg.Version)
	if err := cfg.defaults(); err != nil {
		res.Partial = true
		return res, &ConfigError{Err: err}
	}
	ids, _ := cfg.partIDs()
	k := min(opt.Procs, len(ids))
	if k < 2 || opt.Command == nil {
		res.Partial = true
		return res, &ConfigError{Err: fmt.Errorf("procs %d: want 2 or more worker processes (and at most one per client)", opt.Procs)}
	}
	stderr := opt.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	if cfg.runID == "" {
		cfg.runID = NewRunID()
	}
	ips := splitSourceIPs(cfg, k, len(ids))
	per := (len(ids) + k - 1) / k
	soft, _, err := checkFit(per, len(ips[0]), len(cfg.URLs))
	res.Environment.FDLimit = soft
	if err != nil {
		res.Partial = true
		return res, &LimitError{Msg: fmt.Sprintf("--procs %d: %v", k, err)}
	}
	dir, err := os.MkdirTemp("", "chatbench-procs-")
	if err != nil {
		res.Partial = true
		return res, err
	}
	defer os.RemoveAll(dir)

	// Swarm's own metrics: the sum of the workers' snapshots, which they
	// send with their status every second.
	var pc *procsCollector
	if cfg.Metrics != nil {
		pc = &procsCollector{snaps: make([]MetricsSnapshot, k)}
		if err := cfg.Metrics.Register(pc); err != nil {
			res.Partial = true
			return res, fmt.Errorf("metrics: %w", err)
		}
		defer cfg.Metrics.Unregister(pc)
	}

	sr := &run{cfg: cfg}
	srv0, srvSource, srvErr := sr.sampleServer(ctx)
	origin := time.Now().UnixNano()

	events := make(chan procEvent, 64*k)
	workers := make([]*procWorker, 0, k)
	var protoErrs []string
	aborted := false
	abort := func() {
		if aborted {
			return
		}
		aborted = true
		for _, w := range workers {
			_ = w.stdin.Close()
		}
	}
	for i := 0; i < k; i++ {
		wc := cfg
		wc.Progress, wc.coord = nil, nil
		wc.Metrics, wc.TLS = nil, nil // not sent as JSON: the worker's own command line sets TLS
		wc.MetricsURL, wc.ServerPid, wc.ServerPids, wc.Settle = "", 0, nil, 0
		wc.SourceIPs = ips[i]
		w, err := startWorker(opt.Command(), stderr, i, events)
		if err == nil {
			err = w.enc.Encode(procMsg{Spec: &workerSpec{Config: wc, RunID: cfg.runID, Proc: i, Procs: k,
				Origin: origin, Dir: dir, Version: cfg.Version, Metrics: pc != nil}})
			workers = append(workers, w)
		}
		if err != nil {
			protoErrs = append(protoErrs, fmt.Sprintf("starting worker %d: %v", i, err))
			abort()
			break
		}
	}

	var rampedN, finishedN, goneN int
	var sendStart int64
	var srv1, srv2 ProcSample
	var sampled1, sampled2 bool
	ctxDone := ctx.Done()
	for goneN < len(workers) {
		select {
		case <-ctxDone:
			ctxDone = nil
			abort()
			continue
		case ev := <-events:
			w := workers[ev.w]
			m := ev.msg
			switch {
			case m == nil:
				goneN++
				if w.done == nil {
					protoErrs = append(protoErrs, fmt.Sprintf("worker %d exited without results (see its stderr)", ev.w))
					abort()
				}
			case m.Status != nil:
				if pc != nil && m.Status.Metrics != nil {
					pc.set(ev.w, *m.Status.Metrics)
					m.Status.Metrics = nil
				}
				w.status = *m.Status
				if cfg.Progress != nil {
					var sum Status
					for _, x := range workers {
						addStatus(&sum, x.status)
					}
					cfg.Progress(sum)
				}
			case m.Ramped != nil:
				w.ramped = *m.Ramped
				rampedN++
				if rampedN < k || aborted {
					continue
				}
				// Every socket is open: measure the server's cost, then start together.
				if cfg.Settle > 0 && srvSource != "" {
					t := time.NewTimer(cfg.Settle)
					select {
					case <-ctx.Done():
					case <-t.C:
					}
					t.Stop()
				}
				var e error
				srv1, _, e = sr.sampleServer(ctx)
				srvErr, sampled1 = errors.Join(srvErr, e), true
				sendStart = time.Now().UnixNano() + int64(200*time.Millisecond) - origin
				for _, x := range workers {
					if err := x.enc.Encode(procMsg{SendStart: &sendStart}); err != nil {
						protoErrs = append(protoErrs, fmt.Sprintf("telling worker %d to start: %v", ev.w, err))
						abort()
					}
				}
			case m.Finished:
				finishedN++
				if finishedN == k {
					var e error
					srv2, _, e = sr.sampleServer(context.WithoutCancel(ctx))
					srvErr, sampled2 = errors.Join(srvErr, e), true
				}
			case m.Done != nil:
				w.done = m.Done
				if m.Done.Error != "" && finishedN < k {
					abort() // a worker failed before the end: stop the others
				}
			}
		}
	}
	abort()
	for i, w := range workers {
		select {
		case <-w.exited:
		case <-time.After(10 * time.Second):
			_ = w.cmd.Process.Kill()
			<-w.exited
			protoErrs = append(protoErrs, fmt.Sprintf("worker %d did not exit; killed", i))
		}
	}
	if !sampled2 && sampled1 {
		srv2, _, _ = sr.sampleServer(context.WithoutCancel(ctx))
	}

	// Results and accounting.
	var rs []*Result
	var accts []*procAccount
	var connectedAtRamp int64
	for i, w := range workers {
		connectedAtRamp += w.ramped
		if w.done == nil {
			continue
		}
		r, err := ReadResult(w.done.Result)
		if err != nil {
			protoErrs = append(protoErrs, fmt.Sprintf("worker %d: %v", i, err))
			continue
		}
		if w.done.Error != "" && !slices.Contains(r.Errors.Run, w.done.Error) {
			protoErrs = append(protoErrs, fmt.Sprintf("worker %d: %s", i, w.done.Error))
		}
		rs = append(rs, r)
		a := &procAccount{}
		if err := readGob(w.done.Account, a); err != nil {
			protoErrs = append(protoErrs, fmt.Sprintf("worker %d accounting: %v", i, err))
			continue
		}
		accts = append(accts, a)
	}
	if len(rs) == 0 {
		res.Partial = true
		msg := strings.Join(protoErrs, "; ")
		if msg == "" {
			msg = "no worker produced results"
		}
		if ctx.Err() != nil {
			msg = "interrupted: " + msg
		}
		res.Errors.Run = append(res.Errors.Run, msg)
		return res, errors.New(msg)
	}
	m, err := Merge(rs...)
	if err != nil {
		return res, err
	}
	m.StartedAt = res.StartedAt
	m.Runs = 1
	m.Config.RunID, m.Config.RunIDs = cfg.runID, nil
	m.Config.Procs = k
	m.Config.URLs = cfg.URLs
	m.Config.ServerPid, m.Config.ServerPids, m.Config.MetricsURL = cfg.ServerPid, cfg.ServerPids, cfg.MetricsURL
	m.Config.SourceIPs = 0
	for _, x := range ips {
		m.Config.SourceIPs += len(x)
	}
	if len(cfg.SourceIPs) > 0 && len(cfg.SourceIPs) < k {
		m.Config.SourceIPs = len(cfg.SourceIPs)
	}
	m.Environment.FDLimit = soft
	m.Notes = append(m.Notes, fmt.Sprintf("%d worker processes; latency and first/last receiver times are taken where sender and receiver share a process (one clock); deliveries to other processes count for loss accounting", k))
	// Merge divided each worker's CPU by the deliveries of its own senders'
	// probes; a worker received others' too.
	var received int64
	for _, a := range accts {
		received += a.Received
	}
	if sw := &m.Summary.Swarm; received > 0 && len(accts) == len(rs) {
		sw.CPUUsPerMessage = sw.CPUSeconds * 1e6 / float64(received)
	}
	switch {
	case len(accts) == len(workers) && len(workers) == k && sendStart != 0:
		applyAccounts(m, cfg, sendStart, accts)
	case sendStart != 0:
		m.Notes = append(m.Notes, "loss accounting across processes incomplete: a worker's accounting is missing; counts are per process")
	}

	// The server's cost, read once by the parent.
	sv := &m.Summary.Server
	*sv = ServerCost{}
	deliv := float64(m.Summary.Delivered + m.Summary.ForeignDelivered)
	switch {
	case srvSource == "":
	case srvErr != nil || !srv0.OK || !srv1.OK || !srv2.OK:
		m.Notes = append(m.Notes, fmt.Sprintf("server cost not measured: %v", errors.Join(srvErr, errors.New("run ended before the send phase"))))
	default:
		sv.Source = srvSource
		sv.RSSBytesBefore, sv.RSSBytesAfter = srv0.RSSBytes, srv1.RSSBytes
		sv.CPUSeconds = srv2.CPUSec - srv1.CPUSec
		if connectedAtRamp > 0 {
			sv.RSSKBPerConn = (srv1.RSSBytes - srv0.RSSBytes) / 1024 / float64(connectedAtRamp)
		}
		if deliv > 0 {
			sv.CPUUsPerDelivery = sv.CPUSeconds * 1e6 / deliv
		}
	}
	m.finishSummary()

	var runErr error
	switch {
	case ctx.Err() != nil:
		runErr = fmt.Errorf("interrupted: %w", ctx.Err())
	case len(protoErrs) > 0:
		runErr = errors.New(strings.Join(protoErrs, "; "))
	case m.Summary.Connected == 0:
		runErr = fmt.Errorf("no socket connected (%s)", kinds(m.Errors.Connect))
	case m.Summary.Disconnected > 0:
		runErr = fmt.Errorf("%d of %d sockets lost mid-run (%s): the server refused, reset or vanished",
			m.Summary.Disconnected, m.Summary.Connected, kinds(m.Errors.Disconnect))
	case m.Partial:
		runErr = errors.New("a worker failed: " + strings.Join(m.Errors.Run, "; "))
	}
	if runErr != nil {
		m.Partial = true
		if !slices.Contains(m.Errors.Run, runErr.Error()) {
			m.Errors.Run = append(m.Errors.Run, runErr.Error())
		}
	}
	return m, runErr
}

func startWorker(cmd *exec.Cmd, stderr io.Writer, i int, events chan<- procEvent) (*procWorker, error) {
	cmd.Stderr = stderr
	// Its own process group: a Ctrl-C reaches the parent, which stops the
	// workers by closing their stdin, so each still writes its results.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
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

// applyAccounts replaces m's loss accounting (summed per process, each
// seeing only its own receivers) with the whole run's: per probe, expected
// = its room's members in every process when it was due, delivered = the
// copies received in every process.
func applyAccounts(m *Result, cfg Config, sendStart int64, accts []*procAccount) {
	type acc struct {
		exp, got []int32
		sent     []bool
	}
	per := perSenderProbes(cfg)
	all := map[int32]*acc{}
	s := &m.Summary
	s.Sent, s.Expected, s.Delivered, s.Lost, s.Duplicated = 0, 0, 0, 0, 0
	for _, a := range accts {
		s.Duplicated += a.Duplicated
		if a.PerSender != per {
			continue
		}
		for k, c := range a.Senders {
			x := all[c]
			if x == nil {
				x = &acc{exp: make([]int32, per), got: make([]int32, per), sent: make([]bool, per)}
				all[c] = x
			}
			for seq := 0; seq < per; seq++ {
				i := k*per + seq
				x.exp[seq] += a.Members[i]
				x.got[seq] += a.Count[i]
				x.sent[seq] = x.sent[seq] || a.Sent[i]
			}
		}
	}
	ss := sendStart + int64(cfg.Warmup)
	se := ss + int64(cfg.Duration)
	for c, x := range all {
		for seq := 0; seq < per; seq++ {
			if !x.sent[seq] {
				continue
			}
			if due := dueAt(cfg, sendStart, int(c), int64(seq)); due < ss || due >= se {
				continue
			}
			s.Sent++
			exp, got := int64(x.exp[seq]), int64(x.got[seq])
			if cfg.NoEcho && exp > 0 {
				exp--
			}
			s.Expected += exp
			s.Delivered += min(got, exp)
			if got < exp {
				s.Lost += exp - got
			} else if !s.OrderTracked {
				s.Duplicated += got - exp
			}
		}
	}
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
