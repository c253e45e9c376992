package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type room struct {
	connected atomic.Int64
	_         [56]byte
}

type client struct {
	id  int
	ws  *wsConn
	rcv receiver
	// dead is set when a write failed; senders skip it.
	dead atomic.Bool
}

// run is the state of one Run.
type run struct {
	cfg Config

	collectorOnce sync.Once
	collector     *swarmCollector // see metricsCollector
	t             *tracker
	shards        []*shard
	rooms         []room
	clients       []*client // index = client id; nil until connected
	ids           []int     // the client ids this process runs (all, or its part)
	// owned[c] says client c runs in this process; nil when all do. Only
	// owned senders' probes are timed (one clock).
	owned []bool
	// members logs room joins and leaves of a worker (procs.go).
	members memberLog

	connected   atomic.Int64
	sends       atomic.Int64
	sendErrors  atomic.Int64
	steadyExpct atomic.Int64
	closing     atomic.Bool
	readers     sync.WaitGroup
	connectHist *atomicHist

	// ka closes sockets of a server gone silent (keepalive.go); nil when off.
	ka *keepalive

	mu          sync.Mutex
	connErrs    map[string]int64
	discErrs    map[string]int64
	compression bool

	orderTracked bool
	senderCount  []int // senders per room
}

func (r *run) addConnErr(kind string) {
	r.mu.Lock()
	r.connErrs[kind]++
	r.mu.Unlock()
}

// Run executes one swarm run. It always returns a Result (partial when the
// run was interrupted or failed) and an error when the run failed: a
// *ConfigError or *LimitError before any socket was opened, ctx's error when
// interrupted, or an error describing a server that refused every
// connection or dropped sockets mid-run.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	res := &Result{Schema: Schema, Kind: "swarm", StartedAt: time.Now().UTC(), Runs: 1,
		Errors: Errors{Connect: map[string]int64{}, Run: []string{}}}
	if err := cfg.defaults(); err != nil {
		res.Partial = true
		return res, &ConfigError{Err: err}
	}
	if cfg.runID == "" {
		cfg.runID = NewRunID()
	}
	r := newRun(cfg)
	res.Config = RunConfig{
		URLs: cfg.URLs, Backend: cfg.Backend, Clients: len(r.ids), RoomSize: cfg.RoomSize, Rooms: cfg.Rooms,
		Senders: r.localSenders(), RatePerS: cfg.Rate, SizeBytes: cfg.Size, RampPerS: cfg.Ramp,
		WarmupS: cfg.Warmup.Seconds(), DurationS: cfg.Duration.Seconds(), GraceS: cfg.Grace.Seconds(),
		Hello: cfg.Hello, NoEcho: cfg.NoEcho, CompressionOffered: cfg.Compression, Message: cfg.Message, SourceIPs: len(cfg.SourceIPs), RunID: cfg.runID,
		ServerPid: cfg.ServerPid, ServerPids: cfg.ServerPids, MetricsURL: cfg.MetricsURL, Shard: cfg.shardName(),
	}
	res.Environment = environment(cfg.Version)
	soft, warn, err := checkFit(len(r.ids), len(cfg.SourceIPs), len(cfg.URLs))
	res.Environment.FDLimit = soft
	if err != nil {
		res.Partial = true
		return res, err
	}
	if warn != "" {
		res.Notes = append(res.Notes, warn)
	}
	if cfg.Metrics != nil {
		unregister, err := r.registerMetrics(cfg.Metrics)
		if err != nil {
			res.Partial = true
			return res, &ConfigError{Err: err}
		}
		defer unregister()
	}
	return r.execute(ctx, res)
}

func newRun(cfg Config) *run {
	r := &run{
		cfg:         cfg,
		rooms:       make([]room, cfg.Rooms),
		clients:     make([]*client, cfg.Clients),
		connectHist: newAtomicHist(),
		connErrs:    map[string]int64{},
		discErrs:    map[string]int64{},
	}
	r.ka = newKeepalive(cfg.Clients, cfg.PingInterval, cfg.PingTimeout)
	r.shards = make([]*shard, cfg.Shards)
	for i := range r.shards {
		r.shards[i] = newShard()
	}
	r.ids, r.owned = cfg.partIDs()
	t := &tracker{run: []byte(cfg.runID), base: originBase(cfg.origin), rooms: cfg.Rooms, owned: r.owned}
	t.steadyStart.Store(math.MaxInt64)
	t.steadyEnd.Store(math.MaxInt64)
	t.probes = make([][]probeRec, cfg.Clients)
	if cfg.Rate > 0 {
		// Probes of senders whose room has a member here: sent or received here.
		local := r.localRooms()
		perSender := perSenderProbes(cfg)
		for c := 0; c < cfg.Senders; c++ {
			if local[c%cfg.Rooms] {
				t.probes[c] = make([]probeRec, perSender)
			}
		}
	}
	r.t = t
	r.senderCount = make([]int, cfg.Rooms)
	var pairs int
	for rm := range r.senderCount {
		r.senderCount[rm] = (cfg.Senders - rm + cfg.Rooms - 1) / cfg.Rooms
		members := (cfg.Clients - rm + cfg.Rooms - 1) / cfg.Rooms
		pairs += members * r.senderCount[rm]
	}
	r.orderTracked = cfg.Rate > 0 && pairs <= cfg.OrderBudget
	return r
}

func environment(version string) Environment {
	host, _ := os.Hostname()
	if version == "" {
		version = "dev"
	}
	e := Environment{Cores: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		GoVersion: runtime.Version(), Version: version, Hostname: host}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb uint64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			e.MemBytes = kb * 1024
		}
	}
	return e
}

// sampleServer reads the server's RSS and CPU, from /proc or a scrape.
func (r *run) sampleServer(ctx context.Context) (ProcSample, string, error) {
	switch {
	case r.cfg.ServerPid > 0 || len(r.cfg.ServerPids) > 0:
		var sum ProcSample
		sum.OK = true
		for _, pid := range r.cfg.serverPids() {
			s, err := ReadProc(fmt.Sprint(pid))
			if err != nil {
				return ProcSample{}, "proc", err
			}
			sum.RSSBytes += s.RSSBytes
			sum.CPUSec += s.CPUSec
			sum.OK = sum.OK && s.OK
		}
		return sum, "proc", nil
	case r.cfg.MetricsURL != "":
		s, err := scrapeProm(ctx, promClient(r.cfg.TLS), r.cfg.MetricsURL)
		return s, "prometheus", err
	}
	return ProcSample{}, "", nil
}

func (r *run) execute(ctx context.Context, res *Result) (*Result, error) {
	cfg := r.cfg
	srv0, srvSource, srvErr := r.sampleServer(ctx)
	self0, _ := ReadProc("self")

	tl := newTimeline(r)
	tlDone := make(chan struct{})
	tlCtx, tlStop := context.WithCancel(context.Background())
	go func() { defer close(tlDone); tl.loop(tlCtx) }()

	kaCtx, kaStop := context.WithCancel(context.Background())
	kaDone := make(chan struct{})
	go func() { defer close(kaDone); r.ka.loop(kaCtx, r) }()

	// Ramp.
	tl.setPhase("ramp")
	r.ramp(ctx)

	// Sockets are open: measure their cost before any traffic.
	if cfg.Settle > 0 && (len(cfg.serverPids()) > 0 || cfg.MetricsURL != "") {
		t := time.NewTimer(cfg.Settle)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	runtime.GC()
	debug.FreeOSMemory()
	self1, _ := ReadProc("self")
	srv1, _, srvErr1 := r.sampleServer(ctx)
	srvErr = errors.Join(srvErr, srvErr1)
	connectedAtRamp := r.connected.Load()
	sendStart := r.t.now() + int64(20*time.Millisecond)
	if r.cfg.coord != nil && ctx.Err() == nil {
		// A worker starts sending when the parent says, with the others.
		sendStart = r.cfg.coord.ramped(ctx, connectedAtRamp)
	}

	// Send phase: warmup, steady, then grace.
	interrupted := ctx.Err() != nil
	var steadyS float64
	if !interrupted && cfg.Rate > 0 && connectedAtRamp > 0 {
		steadyStart := sendStart + int64(cfg.Warmup)
		steadyEnd := steadyStart + int64(cfg.Duration)
		r.t.steadyStart.Store(steadyStart)
		r.t.steadyEnd.Store(steadyEnd)
		tl.setPhaseAt(sendStart, "warmup")
		tl.setPhaseAt(steadyStart, "steady")
		tl.setPhaseAt(steadyEnd, "grace")
		r.send(ctx, sendStart, steadyEnd)
		steadyS = cfg.Duration.Seconds()
		if ctx.Err() == nil {
			r.grace(ctx)
		} else {
			// Count what was sent up to the interruption.
			steadyS = math.Max(0, math.Min(float64(r.t.now()-steadyStart), float64(cfg.Duration))/1e9)
		}
		interrupted = ctx.Err() != nil
	} else if !interrupted && cfg.Rate == 0 && connectedAtRamp > 0 {
		// Idle sockets: hold them for the steady phase so the server's and
		// our memory can be observed, then stop.
		tl.setPhase("steady")
		select {
		case <-ctx.Done():
		case <-time.After(cfg.Duration):
		}
		interrupted = ctx.Err() != nil
	}
	self2, _ := ReadProc("self")
	if r.cfg.coord != nil {
		r.cfg.coord.finished()
	}
	srv2, _, srvErr2 := r.sampleServer(context.WithoutCancel(ctx))
	srvErr = errors.Join(srvErr, srvErr2)

	// Stop: the timeline's last row, then close every socket and wait for the readers.
	tlStop()
	<-tlDone
	kaStop()
	<-kaDone
	r.closing.Store(true)
	r.mu.Lock()
	clients := r.clients
	r.mu.Unlock()
	for _, c := range clients {
		if c != nil {
			c.ws.close()
		}
	}
	r.readers.Wait()

	r.collect(res, steadyS)
	res.Timeline = tl.rows
	if r.cfg.coord != nil {
		r.cfg.coord.account(r.account(sendStart))
	}
	// Costs.
	deliv := float64(res.Summary.Delivered + res.Summary.ForeignDelivered)
	if all := float64(r.allDeliveries()); all > deliv {
		deliv = all
	}
	sock := float64(connectedAtRamp)
	sw := &res.Summary.Swarm
	if self0.OK && self1.OK && self2.OK {
		sw.RSSBytesBefore, sw.RSSBytesAfter = self0.RSSBytes, self1.RSSBytes
		sw.CPUSeconds = self2.CPUSec - self1.CPUSec
		if sock > 0 {
			sw.RSSKBPerSocket = (self1.RSSBytes - self0.RSSBytes) / 1024 / sock
		}
		if deliv > 0 {
			sw.CPUUsPerMessage = sw.CPUSeconds * 1e6 / deliv
		}
	}
	sv := &res.Summary.Server
	switch {
	case srvSource == "":
	case srvErr != nil || !srv0.OK || !srv1.OK || !srv2.OK:
		res.Notes = append(res.Notes, fmt.Sprintf("server cost not measured: %v", srvErr))
	default:
		sv.Source = srvSource
		sv.RSSBytesBefore, sv.RSSBytesAfter = srv0.RSSBytes, srv1.RSSBytes
		sv.CPUSeconds = srv2.CPUSec - srv1.CPUSec
		if sock > 0 {
			sv.RSSKBPerConn = (srv1.RSSBytes - srv0.RSSBytes) / 1024 / sock
		}
		if deliv > 0 {
			sv.CPUUsPerDelivery = sv.CPUSeconds * 1e6 / deliv
		}
	}

	var err error
	switch {
	case interrupted:
		err = fmt.Errorf("interrupted: %w", ctx.Err())
	case res.Summary.Connected == 0:
		err = fmt.Errorf("no socket connected (%s)", kinds(res.Errors.Connect))
	case res.Summary.Disconnected > 0:
		err = fmt.Errorf("%d of %d sockets lost mid-run (%s): the server refused, reset or vanished",
			res.Summary.Disconnected, res.Summary.Connected, kinds(res.Errors.Disconnect))
	}
	if err != nil {
		res.Partial = true
		res.Errors.Run = append(res.Errors.Run, err.Error())
	}
	return res, err
}

func kinds(m map[string]int64) string {
	var ks []string
	for k, v := range m {
		ks = append(ks, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(ks)
	if len(ks) == 0 {
		return "no errors recorded"
	}
	return strings.Join(ks, ", ")
}

// ramp opens every client's socket at cfg.Ramp per second.
func (r *run) ramp(ctx context.Context) {
	cfg := r.cfg
	workers := min(len(r.ids), 32)
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	dialers := make([]*net.Dialer, max(1, len(cfg.SourceIPs)))
	for i := range dialers {
		dialers[i] = &net.Dialer{}
		if len(cfg.SourceIPs) > 0 {
			dialers[i].LocalAddr = &net.TCPAddr{IP: cfg.SourceIPs[i].AsSlice()}
			dialers[i].Control = bindNoPort
		}
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			timer := time.NewTimer(0)
			defer timer.Stop()
			for {
				k := int(next.Add(1) - 1)
				if k >= len(r.ids) {
					return
				}
				i := r.ids[k] // the global number keeps the whole run's ramp schedule
				due := start.Add(time.Duration(float64(i) / cfg.Ramp * float64(time.Second)))
				if d := time.Until(due); d > 0 {
					timer.Reset(d)
					select {
					case <-ctx.Done():
						return
					case <-timer.C:
					}
				}
				if ctx.Err() != nil {
					return
				}
				r.connect(ctx, i, dialers[i%len(dialers)])
			}
		}()
	}
	wg.Wait()
}

// connect opens client i's socket, sends the hello frame and starts its reader.
func (r *run) connect(ctx context.Context, i int, d *net.Dialer) {
	cfg := r.cfg
	rm := i % cfg.Rooms
	u, err := expandURL(cfg.URLs[i%len(cfg.URLs)], i, rm)
	if err != nil {
		r.addConnErr(ErrOther)
		return
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	t0 := time.Now()
	ws, err := dialWS(dctx, d, u, cfg.Header, cfg.ReadBuffer, cfg.Compression, cfg.TLS)
	if ws != nil {
		ws.limit = cfg.ReadLimit
	}
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			r.addConnErr(classifyConnectErr(err))
		}
		return
	}
	connectUs := nsToUs(int64(time.Since(t0)))
	if cfg.Hello != "" {
		h := expand(cfg.Hello, i, rm, "")
		buf := make([]byte, frameHeaderRoom, frameHeaderRoom+len(h))
		buf = append(buf, h...)
		if err := ws.writeText(buf, uint32(i)*2654435761, time.Now().Add(cfg.WriteTimeout)); err != nil {
			ws.nc.Close()
			r.addConnErr(classifyConnectErr(err))
			return
		}
	}
	r.connectHist.Record(connectUs)
	c := &client{id: i, ws: ws}
	c.rcv = receiver{t: r.t, sh: r.shards[i%len(r.shards)]}
	if r.orderTracked {
		c.rcv.last = make([]uint32, r.senderCount[rm])
	}
	if ws.compression {
		r.mu.Lock()
		r.compression = true
		r.mu.Unlock()
	}
	r.mu.Lock()
	r.ka.stamp(ws)
	r.clients[i] = c
	r.mu.Unlock()
	r.rooms[rm].connected.Add(1)
	r.members.add(r, rm, 1)
	r.connected.Add(1)
	r.readers.Add(1)
	go r.read(c, rm)
}

// read is the one goroutine per socket, started fresh so its stack stays small.
func (r *run) read(c *client, rm int) {
	defer r.readers.Done()
	err := c.ws.readLoop(c.rcv.frame)
	r.rooms[rm].connected.Add(-1)
	r.members.add(r, rm, -1)
	r.connected.Add(-1)
	if r.closing.Load() {
		return
	}
	kind := classifyConnectErr(err)
	var ce *closeError
	switch {
	case errors.As(err, &ce):
		kind = fmt.Sprintf("close_%d", ce.code)
	case r.ka.gone(c.id):
		kind = DiscPingTimeout
	case errors.Is(err, io.EOF):
		kind = "eof"
	case errors.Is(err, net.ErrClosed) && c.dead.Load():
		kind = "write_failed"
	}
	r.mu.Lock()
	r.discErrs[kind]++
	r.mu.Unlock()
}

// grace waits for in-flight steady-phase deliveries, at most cfg.Grace.
func (r *run) grace(ctx context.Context) {
	deadline := time.Now().Add(r.cfg.Grace)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		var got int64
		for _, sh := range r.shards {
			got += sh.steadyDelivered.Load()
		}
		if got >= r.graceTarget() {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (r *run) allDeliveries() int64 {
	var n int64
	for _, sh := range r.shards {
		n += sh.deliveries.Load()
	}
	return n
}

// collect fills res from the run's counters and histograms.
func (r *run) collect(res *Result, steadyS float64) {
	s := &res.Summary
	for _, v := range r.connErrs {
		s.ConnectErrors += v
	}
	for _, v := range r.discErrs {
		s.Disconnected += v
	}
	res.Errors.Connect = r.connErrs
	if len(r.discErrs) > 0 {
		res.Errors.Disconnect = r.discErrs
	}
	res.Environment.Compression = r.compression
	res.Errors.Frames = r.frameErrors()
	s.OrderTracked = r.orderTracked
	s.SendErrors = r.sendErrors.Load()
	s.SteadyS = steadyS
	var dueS, sendS []*atomicHist
	for _, sh := range r.shards {
		dueS = append(dueS, sh.dueSteady)
		sendS = append(sendS, sh.sendSteady)
		s.ForeignDelivered += sh.foreign.Load()
		s.Duplicated += sh.duplicated.Load()
		s.OutOfOrder += sh.outOfOrder.Load()
	}
	res.Histograms.LatencyDue = mergeAtomic(dueS...)
	res.Histograms.LatencySend = mergeAtomic(sendS...)
	res.Histograms.Connect = mergeAtomic(r.connectHist)
	s.Connected = res.Histograms.Connect.TotalCount() // one sample per socket that connected
	first, last := NewHist(), NewHist()
	t := r.t
	ss, se := t.steadyStart.Load(), t.steadyEnd.Load()
	for _, recs := range t.probes {
		for i := range recs {
			p := &recs[i]
			if !p.sent.Load() || p.due < ss || p.due >= se {
				continue
			}
			s.Sent++
			exp, got := int64(p.expected), int64(p.count.Load())
			s.Expected += exp
			s.Delivered += min(got, exp)
			if got < exp {
				s.Lost += exp - got
			} else if !r.orderTracked {
				s.Duplicated += got - exp
			}
			if got > 0 {
				_ = first.RecordValue(nsToUs(p.first.Load() - p.due))
				_ = last.RecordValue(nsToUs(p.last.Load() - p.due))
			}
		}
	}
	res.Histograms.FanoutFirst = first
	res.Histograms.FanoutLast = last
	res.finishSummary()
}
