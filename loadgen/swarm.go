package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config is one swarm run. Zero values take the documented defaults.
type Config struct {
	// URLs are ws:// or wss:// URLs; client i uses URLs[i%len(URLs)]. {{user}},
	// {{room}} and {{client}} in the path or query are replaced per client.
	URLs []string
	// Clients is the number of sockets (-n).
	Clients int
	// RoomSize is the members per room; 0 with Rooms 0 means one room of all
	// clients (the blog's setup). Client i joins room i%Rooms.
	RoomSize int
	// Rooms is the number of rooms; it wins over RoomSize when both are set.
	Rooms int
	// Senders is how many clients send (clients 0..Senders-1); 0 means all.
	Senders int
	// Rate is probes per second per sender; 0 means nobody sends (idle sockets).
	Rate float64
	// Size is the probe text length in bytes (default 100; never shorter
	// than the probe's fields, about 40 bytes).
	Size int
	// Ramp is connections opened per second (default 1000).
	Ramp float64
	// Warmup is sending before the steady phase, not counted (default 2 s).
	Warmup time.Duration
	// Duration is the steady phase (default 10 s).
	Duration time.Duration
	// Grace is how long to wait after the last send for in-flight
	// deliveries (default 2 s); the wait ends early when all arrived.
	Grace time.Duration
	// Settle is a pause after the ramp before the server's memory is read,
	// so that a server that frees its connection-burst garbage (chatbench
	// serve returns it to the OS once its connection count holds still for
	// 1 s; Go and Python runtimes do it later by themselves) is measured as
	// it runs, not mid-burst. 0: no pause.
	Settle time.Duration
	// Hello is a first text frame sent right after connecting (e.g. the
	// blog's user name "{{user}}"); empty sends none.
	Hello string
	// Message is the text of each message; {{probe}} is replaced by the
	// probe (default "{{probe}}").
	Message string
	// Compression offers permessage-deflate (without context takeover, as
	// browsers may negotiate it) so the server's cost with compression can
	// be measured. Default off; results say whether it was negotiated.
	Compression bool
	// NoEcho says the server does not send a message back to its sender:
	// each probe then expects one receiver fewer.
	NoEcho bool
	// TLS configures wss:// connections (and an https:// MetricsURL);
	// nil trusts the system's roots. See TLSConfig.
	TLS *tls.Config
	// Header is added to every upgrade request.
	Header http.Header
	// SourceIPs are local addresses used round-robin (empty: kernel's choice).
	SourceIPs []netip.Addr
	// ConnectTimeout bounds TCP connect + upgrade (default 10 s).
	ConnectTimeout time.Duration
	// WriteTimeout bounds one write; a socket whose write times out is
	// closed and counted (default 10 s).
	WriteTimeout time.Duration
	// PingInterval and PingTimeout detect a server that stops answering
	// (frozen, partitioned, vanished): a socket silent for PingInterval is
	// pinged; silent PingTimeout longer, it is closed and counted as
	// disconnected (Errors.Disconnect "ping_timeout"). Defaults 10 s and
	// 10 s; a negative value turns the check off.
	PingInterval, PingTimeout time.Duration
	// ReadBuffer is the per-socket read buffer (default 512 bytes). Larger
	// frames borrow a pooled buffer.
	ReadBuffer int
	// ReadLimit is the largest frame (or inflated message) accepted, in
	// bytes (default DefaultReadLimit, 16 MiB); a larger one drops the
	// socket as "frame_too_big" with close 1009.
	ReadLimit int64
	// ServerPid, when set, reads the server's cost from /proc/PID.
	ServerPid int
	// ServerPids are more server processes (nodes) read from /proc and added
	// to ServerPid's: memory per connection and CPU per delivery of all of
	// them together.
	ServerPids []int
	// MetricsURL, when set (and ServerPid is not), scrapes the server's
	// cost from this Prometheus endpoint.
	MetricsURL string
	// Backend is recorded in the results when swarm started the server.
	Backend string
	// Version is recorded in the results.
	Version string
	// Progress, when non-nil, is called with a live status every second
	// (from one goroutine at a time); it must not block.
	Progress func(Status) `json:"-"`
	// ShardIndex and ShardCount (--shard i/K) run only this machine's part
	// of the load: the rooms r with r%ShardCount == ShardIndex and their
	// clients, numbered as in the whole run, so that the K results merge
	// (Merge, report merge) to the totals of one run. 0/0: the whole load.
	ShardIndex, ShardCount int
	// Metrics, when non-nil, gets swarm's own Prometheus metrics
	// (chatbench_swarm_*, read at scrape time) for the length of Run.
	Metrics prometheus.Registerer
	// OrderBudget bounds per-receiver order tracking: it is on when
	// Σ rooms members × senders in room ≤ OrderBudget (default 4,000,000
	// entries of 4 bytes).
	OrderBudget int
	// Shards is the number of receive shards and sender goroutines
	// (default 4×GOMAXPROCS).
	Shards int

	// beforeSend, for tests, runs before each send (it may block).
	beforeSend func(client int, seq int64)
	// runID, for tests, overrides the random run id.
	runID string
	// procIndex of procCount: this worker's part of its swarm (procs.go).
	procIndex, procCount int
	// workerMetrics: a --procs worker whose parent serves --metrics-addr
	// sends a MetricsSnapshot with every Status.
	workerMetrics bool
	// coord, for a worker, synchronises with the parent (procs.go).
	coord coordinator
	// origin, when non-zero, is the wall-clock instant (Unix ns) that due
	// times count from, shared by every worker of one swarm.
	origin int64
}

// serverPids is ServerPid and ServerPids together.
func (c *Config) serverPids() []int {
	pids := c.ServerPids
	if c.ServerPid > 0 {
		pids = append([]int{c.ServerPid}, pids...)
	}
	return pids
}

func (c *Config) defaults() error {
	if c.Clients <= 0 {
		return errors.New("clients must be at least 1")
	}
	if len(c.URLs) == 0 {
		return errors.New("no URL to connect to")
	}
	if c.Rooms <= 0 {
		if c.RoomSize > 0 {
			c.Rooms = (c.Clients + c.RoomSize - 1) / c.RoomSize
		} else {
			c.Rooms = 1
		}
	}
	if c.Rooms > c.Clients {
		c.Rooms = c.Clients
	}
	c.RoomSize = (c.Clients + c.Rooms - 1) / c.Rooms
	if c.Senders <= 0 || c.Senders > c.Clients {
		c.Senders = c.Clients
	}
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		return errors.New("rate must be ≥ 0")
	}
	if c.Size <= 0 {
		c.Size = 100
	}
	if c.Ramp <= 0 {
		c.Ramp = 1000
	}
	if c.Warmup < 0 || c.Duration < 0 || c.Grace < 0 {
		return errors.New("warmup, duration and grace must be ≥ 0")
	}
	if c.Warmup == 0 {
		c.Warmup = 2 * time.Second
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Grace == 0 {
		c.Grace = 2 * time.Second
	}
	if c.Message == "" {
		c.Message = "{{probe}}"
	}
	if !strings.Contains(c.Message, "{{probe}}") {
		return errors.New("message template must contain {{probe}}")
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.PingInterval == 0 {
		c.PingInterval = 10 * time.Second
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = 10 * time.Second
	}
	if c.ReadBuffer <= 0 {
		c.ReadBuffer = 512
	}
	if c.OrderBudget <= 0 {
		c.OrderBudget = 4_000_000
	}
	if c.Shards <= 0 {
		c.Shards = 4 * runtime.GOMAXPROCS(0)
	}
	if err := c.checkShard(); err != nil {
		return err
	}
	for _, u := range c.URLs {
		if _, err := expandURL(u, 0, 0); err != nil {
			return fmt.Errorf("url %q: %w", u, err)
		}
	}
	return nil
}

// ConfigError is a Config that cannot run (a usage error).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

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
	steadySent  atomic.Int64
	steadyExpct atomic.Int64
	closing     atomic.Bool
	readers     sync.WaitGroup
	connectHist *atomicHist

	// ka closes sockets of a server gone silent (keepalive.go); nil when off.
	ka *keepalive

	mu          sync.Mutex
	connErrs    map[string]int64
	discErrs    map[string]int64
	runErrs     []string
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
	warn, err := checkFit(len(r.ids), len(cfg.SourceIPs), len(cfg.URLs))
	soft, _, _ := RaiseFDLimit()
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
	s.Connected = r.connectHist0()
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

// connectHist0 is the number of sockets that connected.
func (r *run) connectHist0() int64 {
	var n int64
	for i := range r.connectHist.counts {
		n += atomic.LoadInt64(&r.connectHist.counts[i])
	}
	return n
}
