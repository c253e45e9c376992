package server

import (
	"fmt"
	"log/slog"
	"math"
	"path"
	"strings"
	"time"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/prometheus/client_golang/prometheus"
)

// Slow-consumer policies (Config.SlowPolicy).
const (
	// SlowDisconnect closes a client whose send queue is full with 1008
	// ("slow consumer"): the others keep their pace, the slow one reconnects.
	// When the room as a whole is congested by one member's flood, the
	// flooder is closed instead (see hub.full).
	SlowDisconnect = "disconnect"
	// SlowDrop drops messages for a client whose send queue is full and
	// keeps the connection: lossy but connected.
	SlowDrop = "drop"
)

// MaxConnsAuto as Config.MaxConns derives the cap from the process's
// open-files limit: the limit less FDReserve and MaxPending.
const MaxConnsAuto = -1

// Config configures a Server. Start from DefaultConfig: New takes every
// field literally, so a zero means zero (no limit, never, none) where the
// field's comment says so, and is refused where it could mean nothing.
type Config struct {
	// Addr is the TCP address to listen on, e.g. "127.0.0.1:8080"; port 0
	// picks a free port (see Server.Addr).
	Addr string

	// TLSCertFile and TLSKeyFile (PEM), when both are set, make the server
	// speak https and wss instead of http and ws. Empty: plain TCP.
	TLSCertFile string
	TLSKeyFile  string

	// Broker carries messages between nodes. nil: a memory broker of its
	// own (one node).
	Broker broker.Broker
	// NodeID identifies this node to the broker; empty: random.
	NodeID string

	// MaxMessageBytes is the largest text frame a client may send (1 byte
	// to 64 MiB); a larger one closes the connection with 1009.
	MaxMessageBytes int64
	// MaxUserBytes is the longest user name (at least 1).
	MaxUserBytes int

	// MaxConns caps open WebSocket connections; upgrades past it get HTTP
	// 503. A connection counts once it is upgraded. MaxConnsAuto: the
	// open-files limit less FDReserve and MaxPending; 0: no cap. An
	// explicit cap must fit in the open-files limit with FDReserve and
	// MaxPending beside it.
	MaxConns int
	// FDReserve is how many open files are kept back from the open-files
	// limit for the listener, the broker and the process itself.
	FDReserve int
	// MaxPending bounds the connections that are not WebSockets (yet):
	// requests being read, plain HTTP (/metrics, the page), keep-alive
	// connections between requests. When all are taken, the listener
	// waits; a connection pending longer than a second is then closed to
	// make room (oldest first), so a slow or stalled client cannot starve
	// the others or the open-files limit. At least 1.
	MaxPending int

	// SendQueue is how many frames may wait for one client's socket (at
	// least 1). Past it the client is a slow consumer (see SlowPolicy).
	//
	// Memory bound: frames are shared between receivers (a queue slot is a
	// 24-byte slice header pointing at a frame encoded once per message),
	// so clients that never read cost the server, beyond an idle
	// connection, at most about
	//
	//	conns × (2 × SendQueue × 24 B + 8 KiB)  +  distinct frames queued × frame size
	//
	// (two queue arrays per client: the batch its blocked writer holds and
	// the queue behind it; 8 KiB for that writer goroutine's stack). The
	// frames queued are at most the last few SendQueue messages of each
	// room, shared by all its members. Bytes already handed to the kernel
	// sit in socket buffers, kernel memory that is not the process's RSS.
	// While a flooder is being closed (see SlowDisconnect), the members of
	// its room may queue up to twice SendQueue.
	SendQueue int
	// SlowPolicy is SlowDisconnect or SlowDrop.
	SlowPolicy string
	// MaxMsgRate limits each connection to this many chat messages per
	// second (a token bucket per connection, see MaxMsgBurst); past it the
	// RateLimitPolicy applies. 0: no limit.
	MaxMsgRate float64
	// MaxMsgBurst is how many messages a connection may send at once
	// before MaxMsgRate applies (at most 1,000,000). 0: one second's worth
	// of MaxMsgRate, rounded up.
	MaxMsgBurst int
	// RateLimitPolicy is RateLimitDrop (excess messages are dropped and
	// counted) or RateLimitClose (close with 1008).
	RateLimitPolicy string
	// MaxPingRate limits the control frames (pings and pongs) one
	// connection may send per second, with one second's worth at once; a
	// connection past it is closed with 1008. 0: no limit.
	MaxPingRate float64

	// WriteTimeout bounds one write to a client socket, and the writing of
	// a plain HTTP response; a client that does not take its bytes in time
	// is disconnected. Must be positive.
	WriteTimeout time.Duration

	// WriteDelay holds the writer of a busy connection, one whose last
	// write was less than WriteDelay ago (more than 1/WriteDelay frames a
	// second), this long before it writes, so that the frames arriving
	// meanwhile share its system call (centrifuge's WriteDelay, applied only
	// where it pays: a socket that gets fewer frames is written at once).
	// The kernel's cost per write is most of a delivery's cost, so on busy
	// sockets this trades up to WriteDelay of latency for CPU; on a
	// CPU-bound node it lowers latency as well. 0 writes at once, always.
	WriteDelay time.Duration

	// PingInterval is how long a connection may be silent before the
	// server pings it; PingTimeout how long it then has to answer (any
	// frame counts) before it is dropped as half-open. PingInterval 0:
	// never ping (half-open peers are then never noticed); otherwise
	// PingTimeout must be positive.
	PingInterval time.Duration
	PingTimeout  time.Duration

	// AllowOrigins are host patterns (path.Match syntax, e.g.
	// "*.example.com", or "https://app.example.com" to pin the scheme)
	// accepted in the Origin header besides the server's own host. Requests
	// without an Origin header (non-browser clients) are always accepted.
	AllowOrigins []string
	// Token, when set, must be presented as ?token= or
	// "Authorization: Bearer <token>"; otherwise the upgrade gets 401.
	Token string

	// ShutdownTimeout bounds shutdown: the close handshakes and the plain
	// HTTP requests in flight get this long, then every connection still
	// open, upgraded or not, is closed. 0: close them at once.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout bounds reading an HTTP request (slowloris); the
	// server's routes take no request body. Must be positive.
	ReadHeaderTimeout time.Duration
	// NameTimeout bounds the wait for the first frame (the user name) of a
	// connection that came without ?user=; it is closed with 1008 after
	// it. Until it is named it is in no room and receives nothing. Must be
	// positive.
	NameTimeout time.Duration

	// TrimMemoryAfter: when the connection count has grown or shrunk by
	// more than 10% and then held still this long, run a GC and return
	// freed memory to the OS (see trimMemory). 0: never.
	TrimMemoryAfter time.Duration

	// Registry is where the server registers its metrics, served on
	// /metrics. nil: a NewRegistry of its own.
	Registry *prometheus.Registry

	// Logger receives the server's logs. nil: discard.
	Logger *slog.Logger
}

// DefaultConfig is the one source of the server's defaults: `chatbench
// serve` binds its flags to it, so a library user who starts from it gets
// the same server.
//
// MaxMsgRate is on: one connection at rate L costs L deliveries a second to
// every member of its room. 50/s is the largest rate at which, measured, a
// member sending at the limit left the other members' latency where it was
// (docs/serve.md has the measurement; twice that raised it several-fold),
// and it is well above what a person or the blog's busiest user (10/s)
// sends.
func DefaultConfig() Config {
	return Config{
		Addr:              "127.0.0.1:8080",
		MaxMessageBytes:   16 << 10,
		MaxUserBytes:      128,
		MaxConns:          MaxConnsAuto,
		FDReserve:         64,
		MaxPending:        256,
		SendQueue:         256,
		SlowPolicy:        SlowDisconnect,
		MaxMsgRate:        50,
		RateLimitPolicy:   RateLimitDrop,
		MaxPingRate:       10,
		WriteTimeout:      10 * time.Second,
		WriteDelay:        10 * time.Millisecond,
		PingInterval:      25 * time.Second,
		PingTimeout:       10 * time.Second,
		ShutdownTimeout:   10 * time.Second,
		ReadHeaderTimeout: 10 * time.Second,
		NameTimeout:       10 * time.Second,
		TrimMemoryAfter:   time.Second,
	}
}

// Bounds of settings whose larger values would overflow or could not be
// meant.
const (
	maxMessageBytesLimit = 64 << 20
	maxBurst             = 1_000_000
)

// ConfigError is a setting New refuses, in words a user can act on.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }

func configErr(format string, args ...any) error {
	return &ConfigError{Msg: fmt.Sprintf(format, args...)}
}

// Validate reports the first invalid setting as a *ConfigError. The limits
// that depend on the open-files limit (MaxConns, FDReserve, MaxPending) are
// checked further by New, which reads it.
func (c *Config) Validate() error {
	if c.Addr == "" {
		return configErr("listen address is empty: give host:port, e.g. 127.0.0.1:8080")
	}
	if err := c.validateSizes(); err != nil {
		return err
	}
	if err := c.validateRates(); err != nil {
		return err
	}
	if err := c.validateDurations(); err != nil {
		return err
	}
	for _, p := range c.AllowOrigins {
		if _, err := path.Match(strings.ToLower(p), ""); err != nil {
			return configErr("origin pattern %q is malformed: %v", p, err)
		}
	}
	return nil
}

func (c *Config) validateSizes() error {
	switch {
	case c.MaxMessageBytes < 1 || c.MaxMessageBytes > maxMessageBytesLimit:
		return configErr("max message size %d must be 1 byte to 64 MiB (%d)", c.MaxMessageBytes, maxMessageBytesLimit)
	case c.MaxUserBytes < 1:
		return configErr("max user name size %d must be at least 1 byte", c.MaxUserBytes)
	case c.MaxConns < MaxConnsAuto:
		return configErr("max connections %d must be %d (from the open-files limit), 0 (no cap) or more", c.MaxConns, MaxConnsAuto)
	case c.FDReserve < 0:
		return configErr("fd reserve %d must not be negative", c.FDReserve)
	case c.MaxPending < 1:
		return configErr("max pending connections %d must be at least 1", c.MaxPending)
	case c.SendQueue < 1:
		return configErr("send queue %d must be at least 1 frame", c.SendQueue)
	case c.SlowPolicy != SlowDisconnect && c.SlowPolicy != SlowDrop:
		return configErr("slow policy %q is not one of %q, %q", c.SlowPolicy, SlowDisconnect, SlowDrop)
	}
	return nil
}

func (c *Config) validateRates() error {
	for name, r := range map[string]float64{"max message rate": c.MaxMsgRate, "max ping rate": c.MaxPingRate} {
		if r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
			return configErr("%s %v must be 0 (no limit) or a positive number per second", name, r)
		}
	}
	if c.MaxMsgBurst < 0 || c.MaxMsgBurst > maxBurst {
		return configErr("max message burst %d must be 0 (one second's worth) to %d", c.MaxMsgBurst, maxBurst)
	}
	if c.RateLimitPolicy != RateLimitDrop && c.RateLimitPolicy != RateLimitClose {
		return configErr("rate limit policy %q is not one of %q, %q", c.RateLimitPolicy, RateLimitDrop, RateLimitClose)
	}
	return nil
}

func (c *Config) validateDurations() error {
	for _, d := range []struct {
		name     string
		v        time.Duration
		positive bool // zero would mean "unbounded": refused
	}{
		{"write timeout", c.WriteTimeout, true},
		{"write delay", c.WriteDelay, false},
		{"ping interval", c.PingInterval, false},
		{"ping timeout", c.PingTimeout, c.PingInterval > 0},
		{"shutdown timeout", c.ShutdownTimeout, false},
		{"read header timeout", c.ReadHeaderTimeout, true},
		{"name timeout", c.NameTimeout, true},
		{"trim memory after", c.TrimMemoryAfter, false},
	} {
		switch {
		case d.v < 0:
			return configErr("%s %v must not be negative", d.name, d.v)
		case d.v == 0 && d.positive:
			return configErr("%s must be positive: 0 would leave it unbounded", d.name)
		}
	}
	return nil
}

// burstFor is a token bucket's burst: the configured one, or one second's
// worth of rate (at least 1).
func burstFor(rate float64, burst int) int {
	if burst > 0 {
		return burst
	}
	return max(1, int(math.Ceil(min(rate, maxBurst))))
}
