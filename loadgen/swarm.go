package loadgen

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/chatbench/chatbench/loadgen/errkind"
	"github.com/chatbench/chatbench/loadgen/results"
)

// run is the state of one Run.
type run struct {
	cfg Config

	collectorOnce sync.Once
	collector     *swarmCollector // see metricsCollector
	t             *tracker
	groups        []*group
	members       *memberLog
	clients       []atomic.Pointer[client] // index = client id; nil until connected
	ids           []int                    // the client ids this process runs (all, or its part)
	// sched is the send schedule, set when sending starts.
	sched atomic.Pointer[schedule]
	// sent says which probes the talkers here sent.
	sent *sentBits

	connected   atomic.Int64
	binary      atomic.Int64 // binary messages read by sockets that ended
	sends       atomic.Int64
	sendErrors  atomic.Int64
	compression atomic.Bool
	closing     atomic.Bool
	readers     sync.WaitGroup
	connectHist *atomicHist

	// ka closes sockets of a server gone silent (keepalive.go); nil when off.
	ka *keepalive
	// proto is the server's session protocol.
	proto   Protocol
	dialers []*net.Dialer // one per source address
	// Clients the workload took out and put back (churn.go).
	left, rejoined atomic.Int64
	// reconnected counts lost sockets opened again (Config.Reconnect), in
	// runCtx, the run's context.
	reconnected atomic.Int64
	runCtx      context.Context

	mu       sync.Mutex // guards connErrs, discErrs, reasons
	connErrs map[errkind.Kind]int64
	discErrs map[errkind.Kind]int64
	reasons  map[errkind.Kind]string // the server's words for a kind (first seen)
}

// Run executes one swarm run and returns its results, judged
// (results.Outcome) by cfg.Limits and cfg.SLO. The error is a *ConfigError
// or *LimitError when the run could not start (no socket was opened), or
// says the run was interrupted (ctx); a run that went through its phases
// returns nil, whatever its outcome. The result is never nil.
func Run(ctx context.Context, cfg Config) (*results.Result, error) {
	res, fail := start(&cfg)
	if err := cfg.complete(); err != nil {
		return fail(&ConfigError{Err: err})
	}
	if cfg.runID == "" {
		cfg.runID = NewRunID()
	}
	ids, _ := cfg.partIDs()
	soft, warn, err := checkFit(len(ids), len(cfg.SourceIPs), len(cfg.URLs))
	res.Environment.FDLimit = soft
	if err != nil {
		return fail(err)
	}
	r, err := newRun(cfg)
	if err != nil {
		return fail(err)
	}
	res.Config = r.runConfig()
	if warn != "" {
		res.Notes = append(res.Notes, warn)
	}
	if cfg.Metrics != nil {
		unregister, err := r.registerMetrics(cfg.Metrics)
		if err != nil {
			return fail(&ConfigError{Err: err})
		}
		defer unregister()
	}
	err = r.execute(ctx, res)
	res.Finish()
	res.Decide(cfg.Limits, cfg.SLO)
	return res, err
}

// start returns a new result for a run of cfg, and fail: what Run and
// RunProcs return when the run cannot go on (the result, judged, with the
// error in its run errors).
func start(cfg *Config) (*results.Result, func(error) (*results.Result, error)) {
	res := results.NewResult()
	res.Environment = environment(cfg.Version)
	return res, func(err error) (*results.Result, error) {
		res.Errors.Run = append(res.Errors.Run, err.Error())
		res.Finish()
		res.Decide(cfg.Limits, cfg.SLO)
		return res, err
	}
}

func newRun(cfg Config) (*run, error) {
	r := &run{
		cfg:         cfg,
		members:     newMemberLog(len(cfg.lay.members), cfg.Clients),
		clients:     make([]atomic.Pointer[client], cfg.Clients),
		connectHist: newAtomicHist(),
		connErrs:    map[errkind.Kind]int64{},
		discErrs:    map[errkind.Kind]int64{},
		reasons:     map[errkind.Kind]string{},
		t:           newTracker(cfg.runID, cfg.origin),
	}
	var err error
	if r.proto, err = cfg.protocol(); err != nil {
		return nil, &ConfigError{Err: err}
	}
	var protoEvery time.Duration
	if kp, ok := r.proto.(interface{ Keepalive() time.Duration }); ok {
		protoEvery = kp.Keepalive()
	}
	r.ka = newKeepalive(cfg.Clients, cfg.PingInterval, cfg.PingTimeout, protoEvery)
	r.dialers = newDialers(&cfg)
	r.groups = make([]*group, cfg.ReceiveGroups)
	for i := range r.groups {
		r.groups[i] = newGroup()
	}
	var owned []bool
	r.ids, owned = cfg.partIDs()
	t := r.t
	t.lay, t.perSender, t.noEcho, t.owned = cfg.lay, cfg.perSender, cfg.NoEcho, owned
	r.sent = newSentBits(cfg.lay, func(c int) bool { return t.owns(int64(c)) }, t.perSender)
	t.probes = make([][]probeRec, cfg.Clients)
	if t.perSender == 0 {
		return r, nil
	}
	// Probes of senders whose room has a member here (the senders here
	// are members of their own rooms).
	if err := checkTrack(&cfg, r.ids); err != nil {
		return nil, err
	}
	local := make([]bool, len(cfg.lay.members))
	for _, id := range r.ids {
		local[cfg.lay.room[id]] = true
	}
	for _, c := range cfg.lay.talker {
		if local[cfg.lay.room[c]] {
			t.probes[c] = make([]probeRec, t.perSender)
		}
	}
	return r, nil
}

// checkTrack refuses a run whose per-receiver tracking of which probes
// arrived (recv.go) would take more than cfg.TrackBudget.
func checkTrack(cfg *Config, ids []int) error {
	per := cfg.perSender
	var track int64
	for _, id := range ids {
		track += trackBytes(int(cfg.lay.talkers[cfg.lay.room[id]]), per)
	}
	if track > cfg.TrackBudget {
		return &LimitError{Msg: fmt.Sprintf("tracking which of %.0f M expected deliveries arrived needs %d MB, over the %d MB budget: "+
			"shorten --duration, lower --rate or the senders per room", cfg.RequestedPerS()*(cfg.Warmup+cfg.Duration).Seconds()/1e6, track>>20, cfg.TrackBudget>>20)}
	}
	return nil
}

func (r *run) runConfig() results.RunConfig {
	cfg := &r.cfg
	senders := 0
	for _, id := range r.ids {
		if cfg.lay.talkIdx[id] >= 0 {
			senders++
		}
	}
	return results.RunConfig{URLs: cfg.URLs, Backend: cfg.Backend, Clients: len(r.ids), RoomSize: int(slices.Max(cfg.lay.members)),
		Rooms: len(cfg.lay.members), RoomSizes: cfg.roomSizesText(), Senders: senders,
		Arrivals: cfg.Arrivals, Phases: cfg.phasesText(), Sizes: cfg.sizesText(), Seed: cfg.Seed, RatePerS: cfg.Rate, SizeBytes: cfg.Size, MeanSizeBytes: cfg.meanSize(), RampPerS: cfg.Ramp,
		WarmupS: cfg.Warmup.Seconds(), DurationS: cfg.Duration.Seconds(), GraceS: cfg.Grace.Seconds(),
		SettleS: cfg.Settle.Seconds(), Hello: cfg.Hello, NoEcho: cfg.NoEcho, CompressionOffered: cfg.Compression,
		Message: cfg.Message, Protocol: cfg.Protocol, SourceIPs: len(cfg.SourceIPs), RunID: cfg.runID, Shard: cfg.shardName(),
		RequestedPerS: cfg.RequestedPerS() * float64(len(r.ids)) / float64(cfg.Clients)}
}

func environment(version string) results.Environment {
	if version == "" {
		version = "dev"
	}
	e := results.Environment{Cores: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		GoVersion: runtime.Version(), Version: version, Hostname: hostname()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb uint64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			e.MemBytes = kb * 1024
		}
	}
	return e
}

// execute runs the phases (ramp, settle, warmup, steady, grace), then
// closes every socket and fills res with the counts, histograms, costs and
// timeline.
func (r *run) execute(ctx context.Context, res *results.Result) error {
	cfg := &r.cfg
	r.runCtx = ctx
	srv := serverMeter(cfg.ServerPIDs, cfg.MetricsURLs, cfg.TLS)
	self := selfMeter(r.selfName())
	sampleAll := func(at moment) { parallel(func() { srv.sample(ctx, at) }, func() { self.sample(ctx, at) }) }
	sampleAll(before)

	tl := newTimeline(r)
	tlDone := make(chan struct{})
	tlCtx, tlStop := context.WithCancel(context.Background())
	go func() { defer close(tlDone); tl.loop(tlCtx) }()
	kaCtx, kaStop := context.WithCancel(context.Background())
	kaDone := make(chan struct{})
	go func() { defer close(kaDone); r.ka.loop(kaCtx, r) }()

	tl.setPhase("ramp")
	r.ramp(ctx)
	if len(srv.procs) > 0 {
		sleepCtx(ctx, cfg.Settle) // let the server return the burst's garbage before reading its memory
	}
	runtime.GC()
	debug.FreeOSMemory()
	sampleAll(ramped)
	connectedAtRamp := r.connected.Load()
	recv0 := r.received()

	sendStart := r.t.now() + int64(20*time.Millisecond)
	if cfg.coord != nil && ctx.Err() == nil {
		// A worker starts sending when the parent says, with the others.
		sendStart = cfg.coord.ramped(ctx, connectedAtRamp)
	} else if at := int64(cfg.StartAt.Sub(r.t.base)); !cfg.StartAt.IsZero() && at > sendStart {
		sendStart = at // --start-at: with the other shards
		tl.setPhase("wait")
	}
	sch := newSchedule(cfg, sendStart)
	s := &sch
	r.startGate(ctx, res, sendStart)
	steadyS := r.sendPhase(ctx, tl, s, connectedAtRamp)
	if cfg.coord != nil {
		cfg.coord.finished()
	}
	sampleAll(end)
	recv := r.received() - recv0
	if cfg.Trace != nil {
		cfg.Trace.ConnectedAtEnd = r.connected.Load()
	}

	tlStop()
	<-tlDone
	kaStop()
	<-kaDone
	r.closeAll()

	r.collect(res, s, steadyS)
	res.Timeline = tl.rows
	res.Server = srv.cost(connectedAtRamp, recv)
	res.Swarm = self.cost(connectedAtRamp, recv)
	if cfg.coord != nil {
		cfg.coord.account(r.account(s))
	}
	if ctx.Err() != nil {
		err := fmt.Errorf("interrupted: %w", ctx.Err())
		res.Errors.Run = append(res.Errors.Run, err.Error())
		return err
	}
	return nil
}

// sendPhase runs warmup, steady and grace (or, with no rate, holds the
// idle sockets for the steady phase) and returns the steady seconds run.
func (r *run) sendPhase(ctx context.Context, tl *timeline, s *schedule, connected int64) float64 {
	cfg := &r.cfg
	switch {
	case ctx.Err() != nil || connected == 0:
		return 0
	case cfg.Rate == 0:
		// Idle sockets: hold them so memory can be observed, then stop.
		tl.setPhase("steady")
		sleepCtx(ctx, cfg.Duration)
		return cfg.Duration.Seconds()
	}
	r.t.steadyStart.Store(s.steadyStart())
	r.t.steadyEnd.Store(s.steadyEnd())
	r.sched.Store(s)
	r.traceSteady(s)
	tl.setPhaseAt(s.start, "warmup")
	tl.setPhaseAt(s.steadyStart(), "steady")
	tl.setPhaseAt(s.steadyEnd(), "grace")
	if cfg.churns() {
		churnCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); r.runChurn(churnCtx, s.start, s.steadyEnd()) }()
		defer func() { stop(); <-done }()
	}
	r.send(ctx, s)
	if ctx.Err() != nil {
		// Count what was sent up to the interruption.
		return max(0, min(float64(r.t.now()-s.steadyStart()), float64(cfg.Duration))/1e9)
	}
	r.grace(ctx, s, tl)
	return cfg.Duration.Seconds()
}

func (r *run) selfName() string {
	if r.cfg.procCount > 1 {
		return fmt.Sprintf("swarm worker %d", r.cfg.procIndex)
	}
	return "swarm"
}

// closeAll closes every socket and waits for the readers.
func (r *run) closeAll() {
	r.closing.Store(true)
	for i := range r.clients {
		if c := r.clients[i].Load(); c != nil {
			c.ws.Close()
		}
	}
	r.readers.Wait()
}

// graceQuiet is how long the grace period goes on after every expected
// delivery arrived, while copies still come in: duplicates, misrouted and
// echoed copies in flight are counted, not cut off.
const graceQuiet = 100 * time.Millisecond

// grace waits for in-flight steady-phase deliveries, at most cfg.Grace: it
// ends early once every expected delivery arrived and no copy came in for
// graceQuiet. A trace's Recovered holds its start back (see Trace): the
// timeline calls that wait "recovery".
func (r *run) grace(ctx context.Context, s *schedule, tl *timeline) {
	target := r.graceTarget(s)
	if tr := r.cfg.Trace; tr != nil {
		tr.SendEnd = time.Duration(r.t.now())
		arrived := false
		if tr.Recovered != nil {
			tl.setPhase("recovery")
			arrived = r.awaitDelivered(ctx, target, tr.Recovered)
			tl.setPhase("grace")
		}
		tr.GraceFrom = time.Duration(r.t.now())
		if arrived {
			return
		}
	}
	gctx, cancel := context.WithTimeout(ctx, r.cfg.Grace)
	defer cancel()
	r.awaitDelivered(gctx, target, nil)
}

// awaitDelivered waits until target steady-phase deliveries arrived and no
// copy came in for graceQuiet (true), or until stop fires or ctx ends
// (false). A nil stop never fires.
func (r *run) awaitDelivered(ctx context.Context, target int64, stop <-chan struct{}) bool {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	lastRecv, lastChange := r.received(), time.Now()
	for {
		var got int64
		for _, g := range r.groups {
			got += g.steadyDelivered.Load()
		}
		if recv := r.received(); recv != lastRecv {
			lastRecv, lastChange = recv, time.Now()
		}
		if got >= target && time.Since(lastChange) >= graceQuiet {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-stop:
			return false
		case <-tick.C:
		}
	}
}

// received is every probe copy received so far.
func (r *run) received() int64 {
	var n int64
	for _, g := range r.groups {
		n += g.received.Load()
	}
	return n
}

// collect fills res's counts, histograms and errors from the run's state.
func (r *run) collect(res *results.Result, s *schedule, steadyS float64) {
	sm := &res.Summary
	r.mu.Lock()
	for _, v := range r.connErrs {
		sm.ConnectErrors += v
	}
	for _, v := range r.discErrs {
		sm.Disconnected += v
	}
	res.Errors.Connect = r.connErrs
	if len(r.discErrs) > 0 {
		res.Errors.Disconnect = r.discErrs
	}
	if len(r.reasons) > 0 {
		res.Errors.Reasons = r.reasons
	}
	r.mu.Unlock()
	res.Environment.Compression = r.compression.Load()
	res.Errors.Frames = r.frameErrors()
	sm.SendErrors = r.sendErrors.Load()
	sm.SteadyS = steadyS
	var dueS, sendS []*atomicHist
	for _, g := range r.groups {
		dueS, sendS = append(dueS, g.dueSteady), append(sendS, g.sendSteady)
		sm.Foreign += g.foreign.Load()
		sm.Received += g.received.Load()
		sm.Duplicated += g.duplicated.Load()
		sm.Misrouted += g.misrouted.Load()
		sm.Unexpected += g.unexpected.Load()
		sm.OutOfOrder += g.outOfOrder.Load()
		sm.Stray += g.stray.Load()
	}
	h := &res.Histograms
	h.LatencyDue, h.LatencySend, h.Connect = mergeAtomic(dueS...), mergeAtomic(sendS...), mergeAtomic(r.connectHist)
	sm.Left, sm.Rejoined = r.left.Load(), r.rejoined.Load()
	// One sample per connect: the ramp's, the rejoins and the reconnects.
	sm.Connected = h.Connect.TotalCount() - sm.Rejoined - r.reconnected.Load()
	if r.sched.Load() == nil {
		return // nothing was sent
	}
	t := tally(s, []*Account{r.account(s)})
	sm.Sent, sm.Expected, sm.Delivered, sm.Lost = t.Sent, t.Expected, t.Delivered, t.Lost
	if t.Excess > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("accounting error: %d deliveries beyond their probes' expected receivers (a bug in swarm: please report it)", t.Excess))
	}
	h.FanoutFirst, h.FanoutLast = r.fanout(s)
	r.traceProbes(s)
}

// fanout is, per steady probe sent here, the time from its due time to its
// first and to its last receiver (receivers in this process).
func (r *run) fanout(s *schedule) (first, last *hdr.Histogram) {
	first, last = results.NewHist(), results.NewHist()
	for c, recs := range r.t.probes {
		if len(recs) == 0 || !r.t.owns(int64(c)) {
			continue
		}
		s.each(c, func(seq, due int64) bool {
			p := &recs[seq]
			if f := p.first.Load(); f != 0 && s.steady(due) {
				_ = first.RecordValue(nsToUs(f - due))
				_ = last.RecordValue(nsToUs(p.last.Load() - due))
			}
			return true
		})
	}
	return first, last
}

// frameErrors counts the frames a chat server should not send (see
// results.Errors.Frames); nil when there were none. Called after every
// reader ended.
func (r *run) frameErrors() map[string]int64 {
	var bin, bad int64
	bin = r.binary.Load()
	for _, g := range r.groups {
		bad += g.bad.Load()
	}
	m := map[string]int64{}
	if bin > 0 {
		m["binary"] = bin
	}
	if bad > 0 {
		m["bad_probe"] = bad
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// parallel runs fs at once and waits for all.
func parallel(fs ...func()) {
	var wg sync.WaitGroup
	for _, f := range fs {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	wg.Wait()
}
