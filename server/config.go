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
	SlowDisconnect = "disconnect"
	// SlowDrop drops messages for a client whose send queue is full and
	// keeps the connection: lossy but connected.
	SlowDrop = "drop"
)

// Config configures a Server. The zero value of a field means its default.
type Config struct {
	// Addr is the TCP address to listen on, e.g. "127.0.0.1:8080"; port 0
	// picks a free port (see Server.Addr).
	Addr string

	// TLSCertFile and TLSKeyFile (PEM), when both are set, make the server
	// speak https and wss instead of http and ws. Default: plain TCP.
	TLSCertFile string
	TLSKeyFile  string

	// Broker carries messages between nodes. Default: a memory broker of
	// its own (one node).
	Broker broker.Broker
	// NodeID identifies this node to the broker; default: random.
	NodeID string

	// MaxMessageBytes is the largest text frame a client may send; a larger
	// one closes the connection with 1009. Default 16 KiB.
	MaxMessageBytes int64
	// MaxUserBytes is the longest user name. Default 128.
	MaxUserBytes int
	// MaxConns caps open WebSocket connections; upgrades past it get HTTP
	// 503. 0 means no cap beyond the process's open-files limit.
	MaxConns int

	// SendQueue is how many frames may wait for one client's socket. Past
	// it the client is a slow consumer (see SlowPolicy). Default 256.
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
	// room, shared by all its members. Measured with 1,000 non-reading
	// clients, SendQueue 64 and 1 KB messages: +5.8 MB RSS against a bound
	// of 11.5 MB (TestManySlowConsumersStayWithinTheSendQueueBound). Bytes
	// already handed to the kernel sit in socket buffers (on loopback up to
	// about 1.5 MB per socket), kernel memory that is not the process's RSS.
	SendQueue int
	// SlowPolicy is SlowDisconnect (default) or SlowDrop.
	SlowPolicy string
	// MaxMsgRate limits each connection to this many chat messages per
	// second (a token bucket per connection, see MaxMsgBurst); past it the
	// RateLimitPolicy applies. 0 (the default): no limit.
	MaxMsgRate float64
	// MaxMsgBurst is how many messages a connection may send at once
	// before MaxMsgRate applies. Default: MaxMsgRate rounded up (one
	// second's worth), at least 1.
	MaxMsgBurst int
	// RateLimitPolicy is RateLimitDrop (default: excess messages are
	// dropped and counted) or RateLimitClose (close with 1008).
	RateLimitPolicy string

	// WriteTimeout bounds one write to a client socket; a client that does
	// not take its bytes in time is disconnected. Default 10s.
	WriteTimeout time.Duration

	// WriteDelay holds the writer of a busy connection, one whose last
	// write was less than WriteDelay ago (more than 1/WriteDelay frames a
	// second), this long before it writes, so that the frames arriving
	// meanwhile share its system call (centrifuge's WriteDelay, applied only
	// where it pays: a socket that gets fewer frames is written at once).
	// The kernel's cost per write is most of a delivery's cost, so on busy
	// sockets this trades up to WriteDelay of latency for CPU; on a
	// CPU-bound node it lowers latency as well. 0 writes at once, always.
	// The serve command defaults to 10ms.
	WriteDelay time.Duration

	// PingInterval is how long a connection may be silent before the
	// server pings it; PingTimeout how long it then has to answer (any
	// frame counts) before it is dropped as half-open. Defaults 25s and 10s.
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

	// ShutdownTimeout bounds the close handshakes at shutdown; connections
	// still open after it are dropped. Default 10s.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout bounds reading an HTTP request's headers
	// (slowloris). Default 10s.
	ReadHeaderTimeout time.Duration

	// TrimMemoryAfter: when the connection count has grown by more than
	// 10% and then held still this long, run a GC and return freed memory
	// to the OS (see trimMemory). 0 disables it. The serve command sets 1s.
	TrimMemoryAfter time.Duration

	// Registry is where the server registers its metrics, served on
	// /metrics. Default: a NewRegistry of its own.
	Registry *prometheus.Registry

	// Logger receives the server's logs. Default: discard.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 16 << 10
	}
	if c.MaxUserBytes == 0 {
		c.MaxUserBytes = 128
	}
	if c.SendQueue == 0 {
		c.SendQueue = 256
	}
	if c.SlowPolicy == "" {
		c.SlowPolicy = SlowDisconnect
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.MaxMsgBurst == 0 && c.MaxMsgRate > 0 {
		c.MaxMsgBurst = max(1, int(math.Ceil(c.MaxMsgRate)))
	}
	if c.RateLimitPolicy == "" {
		c.RateLimitPolicy = RateLimitDrop
	}
	if c.PingInterval == 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = 10 * time.Second
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports the first invalid setting, in words a user can act on.
func (c *Config) Validate() error {
	if c.Addr == "" {
		return fmt.Errorf("listen address is empty: give host:port, e.g. 127.0.0.1:8080")
	}
	if c.MaxMessageBytes < 1 {
		return fmt.Errorf("max message size %d must be at least 1 byte", c.MaxMessageBytes)
	}
	if c.MaxConns < 0 {
		return fmt.Errorf("max connections %d must be 0 (no cap) or more", c.MaxConns)
	}
	if c.SendQueue < 1 {
		return fmt.Errorf("send queue %d must be at least 1 frame", c.SendQueue)
	}
	if c.SlowPolicy != SlowDisconnect && c.SlowPolicy != SlowDrop {
		return fmt.Errorf("slow policy %q is not one of %q, %q", c.SlowPolicy, SlowDisconnect, SlowDrop)
	}
	if c.MaxMsgRate < 0 || math.IsNaN(c.MaxMsgRate) || math.IsInf(c.MaxMsgRate, 0) {
		return fmt.Errorf("max message rate %v must be 0 (no limit) or a positive number per second", c.MaxMsgRate)
	}
	if c.MaxMsgBurst < 0 {
		return fmt.Errorf("max message burst %d must not be negative", c.MaxMsgBurst)
	}
	if c.RateLimitPolicy != RateLimitDrop && c.RateLimitPolicy != RateLimitClose {
		return fmt.Errorf("rate limit policy %q is not one of %q, %q", c.RateLimitPolicy, RateLimitDrop, RateLimitClose)
	}
	for name, d := range map[string]time.Duration{
		"write timeout": c.WriteTimeout, "write delay": c.WriteDelay, "ping interval": c.PingInterval, "ping timeout": c.PingTimeout,
		"shutdown timeout": c.ShutdownTimeout, "read header timeout": c.ReadHeaderTimeout,
	} {
		if d < 0 {
			return fmt.Errorf("%s %v must not be negative", name, d)
		}
	}
	for _, p := range c.AllowOrigins {
		if _, err := path.Match(strings.ToLower(p), ""); err != nil {
			return fmt.Errorf("origin pattern %q is malformed: %w", p, err)
		}
	}
	return nil
}
