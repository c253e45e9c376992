package loadgen

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
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
	TLS *tls.Config `json:"-"`
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
	Metrics prometheus.Registerer `json:"-"`
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
