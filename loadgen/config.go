package loadgen

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatbench/chatbench/loadgen/results"
)

// Config is one swarm run. Start from DefaultConfig: in a Config literal
// every zero means zero where zero is meaningful (no warmup, no grace, no
// settle, no loss allowed).
type Config struct {
	// URLs are ws:// or wss:// URLs; client i uses URLs[i%len(URLs)]. {{user}},
	// {{room}} and {{client}} in the path or query are replaced per client.
	URLs []string
	// Clients is the number of sockets (-n).
	Clients int
	// Room sizes: RoomWeights (rooms of each size holding a share of the
	// users), else Zipf, else Rooms (that many rooms of equal size), else
	// RoomSize (every room that big, the last smaller), else one room of
	// all clients (the blog's setup): the first given wins. Clients are assigned round-robin
	// over the rooms that still have room: with equal rooms client i is in
	// room i%Rooms.
	RoomSize    int
	Rooms       int
	RoomWeights []RoomShare
	Zipf        *Zipf
	// Senders is how many clients talk, or, when it is 0, Talkers the share
	// of them that do (neither: everyone, the blog's setup): the first
	// members of each room, apportioned to the rooms by their size.
	Senders int
	Talkers float64
	// Seed makes the random parts of a workload (Zipf room sizes) the same
	// in every process and every run with the same seed (0: 1).
	Seed int64
	// Rate is probes per second per talker; 0 means nobody sends (idle
	// sockets). With Phases, the warmup's rate (the first phase's when 0).
	Rate float64
	// Arrivals is Constant (every 1/rate, talkers spread evenly: the
	// default) or Poisson (exponential gaps of mean 1/rate, as people
	// chat).
	Arrivals string
	// Phases, when given, make the steady phase: each at its own rate (a
	// hold, a spike), Duration their sum.
	Phases []Phase
	// Churn is the share of the users that leave per second while the run
	// sends (warmup and steady phase), each coming back RejoinAfter later
	// (0: at once); Storms drop and reconnect many clients at once.
	Churn       float64
	RejoinAfter time.Duration
	Storms      []Storm
	// Size is the probe text length in bytes (0: 100; never shorter than
	// the probe's fields, about 40 bytes). Sizes, when given, draws each
	// message's size from a weighted list instead.
	Size  int
	Sizes []SizeShare
	// Ramp is connections opened per second (0: 1000).
	Ramp float64
	// Warmup is sending before the steady phase, not counted.
	Warmup time.Duration
	// Duration is the steady phase (more than 0).
	Duration time.Duration
	// Grace is the longest wait after the last send for in-flight
	// deliveries; the wait ends early when all arrived.
	Grace time.Duration
	// Settle is a pause after the ramp before memory is read, so a server
	// that frees its connection-burst garbage (chatbench serve returns it
	// once its connection count holds still for 1 s; Go and Python runtimes
	// do it later by themselves) is measured as it runs, not mid-burst.
	// It is taken only when a server's cost is read.
	Settle time.Duration
	// Protocol is the session protocol the server speaks ("" or "raw":
	// every text frame a chat message; others register with
	// RegisterProtocol), with its options.
	Protocol        string
	ProtocolOptions map[string]string
	// Hello is, for the raw protocol, a first text frame sent right after
	// connecting (e.g. the blog's user name "{{user}}"); empty sends none.
	Hello string
	// Message is, for the raw protocol, the text of each message; {{probe}}
	// is replaced by the probe (empty: "{{probe}}").
	Message string
	// Compression offers permessage-deflate (without context takeover, as
	// browsers may negotiate it) so the server's cost with compression can
	// be measured. Results say whether it was negotiated.
	Compression bool
	// NoEcho says the server does not send a message back to its sender:
	// each probe then expects one receiver fewer.
	NoEcho bool
	// TLS configures wss:// connections (and https:// metrics URLs);
	// nil trusts the system's roots. See wsclient.TLSConfig.
	TLS *tls.Config `json:"-"`
	// Header is added to every upgrade request.
	Header http.Header
	// SourceIPs are local addresses used round-robin (empty: kernel's choice).
	SourceIPs []netip.Addr
	// ConnectTimeout bounds TCP connect + upgrade (0: 10 s).
	ConnectTimeout time.Duration
	// WriteTimeout bounds one write; a socket whose write times out is
	// closed and counted (0: 10 s).
	WriteTimeout time.Duration
	// PingInterval and PingTimeout detect a server that stops answering
	// (frozen, partitioned, vanished): a socket silent for PingInterval is
	// pinged; silent PingTimeout longer, it is closed and counted as lost
	// ("ping_timeout"). 0: 10 s each; negative turns the check off.
	PingInterval, PingTimeout time.Duration
	// ReadBuffer is the per-socket read buffer (0: 512 bytes). Larger
	// frames borrow a pooled buffer.
	ReadBuffer int
	// ReadLimit is the largest frame (or message) accepted, in bytes (0:
	// wsclient.DefaultReadLimit, 16 MiB); a larger one drops the socket as
	// "frame_too_big" with close 1009.
	ReadLimit int64
	// ServerPIDs are the server's processes (one per node) whose cost is
	// read from /proc; MetricsURLs are Prometheus endpoints with process
	// metrics (one per node) read for the same. The cost is the sum over
	// every one of them; if one cannot be read, it is not measured.
	ServerPIDs  []int
	MetricsURLs []string
	// Limits and SLO judge the run (results.Outcome).
	Limits results.Limits
	SLO    results.SLO `json:"-"`
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
	// (results.Merge, report merge) to the totals of one run. 0/0: all.
	ShardIndex, ShardCount int
	// StartAt, when set, is the wall-clock instant the send phase starts at
	// (after the ramp), shared by the shards of one load on several
	// machines (startat.go); a ramp not over by then starts it late.
	StartAt time.Time `json:",omitzero"`
	// Metrics, when non-nil, gets swarm's own Prometheus metrics
	// (chatbench_swarm_*, read at scrape time) for the length of Run.
	Metrics prometheus.Registerer `json:"-"`
	// ReceiveGroups is the number of receive groups (counters and
	// histograms receivers record into) and sender goroutines (0: 4×GOMAXPROCS).
	ReceiveGroups int
	// TrackBudget bounds the memory, in bytes, of per-receiver tracking of
	// which probes arrived (1 bit per expected delivery, plus 4 bytes per
	// sender of a receiver's room): a run above it is refused (0: 2 GiB).
	TrackBudget int64
	// Reconnect, when Tries > 0, opens a socket the server dropped (not one
	// the workload closed) again, trying the next URLs in turn: a node
	// that died hands its clients to the others (the chaos command).
	Reconnect Reconnect
	// Trace, when non-nil, records the run probe by probe (trace.go).
	Trace *Trace `json:"-"`

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
	// lay is the rooms and talkers (layout.go) and perSender the most
	// probes one talker sends (schedule.go), set by complete.
	lay       *layout
	perSender int64
}

// Reconnect bounds the reopening of lost sockets: at most Tries connects
// per loss, the first at once, the others Wait apart (each bounded by
// ConnectTimeout).
type Reconnect struct {
	Tries int
	Wait  time.Duration
}

// Arrivals.
const (
	Constant = "constant"
	Poisson  = "poisson"
)

// SizeShare is one message size of a weighted size distribution.
type SizeShare struct {
	Bytes int     `json:"bytes"`
	Share float64 `json:"share"`
}

// DefaultConfig is the configuration `chatbench swarm` starts from.
func DefaultConfig() Config {
	return Config{Clients: 100, RoomSize: 100, Talkers: 0.1, Rate: 1, Size: 100, Ramp: 1000, Warmup: 2 * time.Second,
		Duration: 10 * time.Second, Grace: 2 * time.Second, Settle: 2 * time.Second, Message: "{{probe}}",
		ConnectTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, PingInterval: 10 * time.Second,
		PingTimeout: 10 * time.Second, ReadBuffer: 512, Limits: results.DefaultLimits()}
}

// complete checks c and fills the fields whose zero stands for a default.
func (c *Config) complete() error {
	switch {
	case c.Clients <= 0:
		return errors.New("clients must be at least 1")
	case len(c.URLs) == 0:
		return errors.New("no URL to connect to")
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return errors.New("rate must be ≥ 0")
	case c.Warmup < 0 || c.Duration < 0 || (c.Duration == 0 && len(c.Phases) == 0) || c.Grace < 0 || c.Settle < 0:
		return errors.New("duration must be more than 0; warmup, grace and settle not negative")
	case c.Size < 0 || c.Ramp < 0 || c.Senders < 0 || c.RoomSize < 0 || c.Rooms < 0:
		return errors.New("size, ramp, senders, room size and rooms must not be negative")
	}
	if c.Reconnect.Tries < 0 || c.Reconnect.Wait < 0 {
		return errors.New("reconnect tries and wait must not be negative")
	}
	if c.Talkers < 0 || c.Talkers > 1 {
		return fmt.Errorf("talkers %g: want a share from 0 to 100%%", c.Talkers)
	}
	if c.Senders == 0 && c.Talkers > 0 {
		c.Senders = max(1, int(math.Round(c.Talkers*float64(c.Clients))))
	}
	if c.Senders == 0 || c.Senders > c.Clients {
		c.Senders = c.Clients
	}
	defaultTo(&c.Seed, 1)
	if err := c.completeTraffic(); err != nil {
		return err
	}
	if err := c.checkChurn(); err != nil {
		return err
	}
	if c.lay == nil {
		lay, err := newLayout(c)
		if err != nil {
			return err
		}
		c.lay = lay
		c.perSender = perSenderProbes(c)
	}
	if c.Message == "" {
		c.Message = "{{probe}}"
	}
	if !strings.Contains(c.Message, "{{probe}}") {
		return errors.New("message template must contain {{probe}}")
	}
	defaultTo(&c.Size, 100)
	defaultTo(&c.Ramp, 1000)
	defaultTo(&c.ReadBuffer, 512)
	defaultTo(&c.ConnectTimeout, 10*time.Second)
	defaultTo(&c.WriteTimeout, 10*time.Second)
	defaultTo(&c.PingInterval, 10*time.Second)
	defaultTo(&c.PingTimeout, 10*time.Second)
	defaultTo(&c.ReceiveGroups, 4*runtime.GOMAXPROCS(0))
	defaultTo(&c.TrackBudget, 2<<30)
	if err := c.checkShard(); err != nil {
		return err
	}
	if _, err := c.protocol(); err != nil {
		return err
	}
	for _, u := range c.URLs {
		if _, err := expandURL(u, 0, 0); err != nil {
			return fmt.Errorf("url %q: %w", u, err)
		}
	}
	return nil
}

func defaultTo[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// RequestedPerS is the deliveries per second the load asks for: per room,
// talkers × rate × receivers (members, less the sender with NoEcho). Call
// it on a completed config (Run's results carry it).
func (c *Config) RequestedPerS() float64 {
	var sum float64
	for rm, m := range c.lay.members {
		recv := m
		if c.NoEcho {
			recv--
		}
		sum += float64(c.lay.talkers[rm]) * c.Rate * float64(max(recv, 0))
	}
	return sum
}

// ConfigError is a Config that cannot run (a usage error).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Check reports whether cfg can run, split over procs processes (1: this
// one), before anything is dialed: a *ConfigError for a config that makes
// no sense, a *LimitError for one that does not fit this machine's limits.
// Run and RunProcs check the same again.
func Check(cfg Config, procs int) error {
	if err := cfg.complete(); err != nil {
		return &ConfigError{Err: err}
	}
	ids, _ := cfg.partIDs()
	n := (len(ids) + max(procs, 1) - 1) / max(procs, 1)
	if _, _, err := checkFit(n, len(cfg.SourceIPs), len(cfg.URLs)); err != nil {
		if procs > 1 {
			return &LimitError{Msg: fmt.Sprintf("--procs %d: %v", procs, err)}
		}
		return err
	}
	return checkTrack(&cfg, ids)
}

// protocol makes the run's Protocol.
func (c *Config) protocol() (Protocol, error) {
	if c.Protocol == "" || c.Protocol == "raw" {
		if len(c.ProtocolOptions) > 0 {
			return nil, fmt.Errorf("protocol options %v need a --protocol", c.ProtocolOptions)
		}
		return rawProtocol{hello: c.Hello, message: c.Message}, nil
	}
	if c.Hello != "" || c.Message != "{{probe}}" {
		return nil, fmt.Errorf("--hello and --message are for the raw protocol; %s builds its own messages (see its options)", c.Protocol)
	}
	return NewProtocol(c.Protocol, c.ProtocolOptions)
}

// completeTraffic checks the arrivals, phases and sizes.
func (c *Config) completeTraffic() error {
	switch c.Arrivals {
	case "":
		c.Arrivals = Constant
	case Constant, Poisson:
	default:
		return fmt.Errorf("arrivals %q: want %s or %s", c.Arrivals, Constant, Poisson)
	}
	if len(c.Phases) > 0 {
		var sum time.Duration
		for _, p := range c.Phases {
			if p.Duration <= 0 || p.Rate < 0 || math.IsNaN(p.Rate) || math.IsInf(p.Rate, 0) {
				return fmt.Errorf("phase %q: want a duration above 0 and a rate of 0 or more", p.Name)
			}
			sum += p.Duration
		}
		if c.Duration != 0 && c.Duration != sum {
			return fmt.Errorf("the phases last %v, the steady phase %v: give one", sum, c.Duration)
		}
		c.Duration = sum
		if c.Rate == 0 {
			c.Rate = c.Phases[0].Rate
		}
	}
	var total float64
	for _, s := range c.Sizes {
		if s.Bytes < 1 || !(s.Share > 0) {
			return fmt.Errorf("message size %d with share %g: want a size of at least 1 byte and a share above 0", s.Bytes, s.Share)
		}
		total += s.Share
	}
	for i := range c.Sizes {
		c.Sizes[i].Share /= total
	}
	return nil
}

// maxSize is the largest message size.
func (c *Config) maxSize() int {
	m := c.Size
	for _, s := range c.Sizes {
		m = max(m, s.Bytes)
	}
	return m
}

// meanSize is the mean message size of a weighted Sizes list; 0 without one.
func (c *Config) meanSize() float64 {
	var m float64
	for _, s := range c.Sizes {
		m += float64(s.Bytes) * s.Share
	}
	return m
}

// messageSize draws one message's size.
func (c *Config) messageSize(rng *rand.Rand) int {
	if len(c.Sizes) == 0 {
		return c.Size
	}
	u := rng.Float64()
	for _, s := range c.Sizes {
		if u < s.Share {
			return s.Bytes
		}
		u -= s.Share
	}
	return c.Sizes[len(c.Sizes)-1].Bytes
}

// phasesText is the phases as NAME:DURATION:RATE, for the results.
func (c *Config) phasesText() []string {
	var out []string
	for _, p := range c.Phases {
		out = append(out, fmt.Sprintf("%s:%v:%g/s", p.Name, p.Duration, p.Rate))
	}
	return out
}

// sizesText is the weighted message sizes, for the results ("" when fixed).
func (c *Config) sizesText() string {
	var parts []string
	for _, s := range c.Sizes {
		parts = append(parts, fmt.Sprintf("%dB:%.4g%%", s.Bytes, s.Share*100))
	}
	return strings.Join(parts, ",")
}
