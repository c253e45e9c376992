package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatbench/chatbench/internal/rlimit"
	"github.com/chatbench/chatbench/server/broker"
	"github.com/prometheus/client_golang/prometheus"
)

// Server is a running chat node: an HTTP listener, a hub of rooms and a
// broker to other nodes.
type Server struct {
	cfg      Config
	maxConns int    // Config.MaxConns resolved (0: no cap)
	fdLimit  uint64 // the open-files limit read at New (0: unknown)
	log      *slog.Logger
	ln       net.Listener
	http     *http.Server
	hub      *hub
	broker   broker.Broker
	reg      *prometheus.Registry
	m        *metrics
	pending  *pendingConns

	conns    atomic.Int64 // open WebSocket connections (counted once upgraded)
	draining atomic.Bool  // shutdown started: refuse upgrades, /readyz 503
	live     liveClients  // upgraded connections, named or not, until their reader ends

	stopBroker context.CancelFunc
	// brokerWaits: the broker's Handler may wait (broker.Waiter), so a
	// message from it waits for room in a full send queue, up to
	// WriteTimeout, before the slow-consumer policy applies.
	brokerWaits bool
	tls         bool // the listener speaks TLS (https, wss)

	// Run and Close.
	runMu     sync.Mutex
	runCancel context.CancelFunc // cancels a running Run; nil before Run
	runDone   chan struct{}      // closed when Run has returned
	closed    bool
	warnedAt  atomic.Int64 // last "pending budget full" warning (Unix ns)
}

// ListenError is returned by New when the address cannot be listened on.
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("cannot listen on %s: %v", e.Addr, e.Err)
}
func (e *ListenError) Unwrap() error { return e.Err }

// BackendError is returned by New when the broker cannot be started.
type BackendError struct {
	Backend string
	Err     error
}

func (e *BackendError) Error() string {
	if msg := e.Err.Error(); strings.HasPrefix(msg, e.Backend+":") {
		return msg
	}
	return fmt.Sprintf("%s: %v", e.Backend, e.Err)
}
func (e *BackendError) Unwrap() error { return e.Err }

// New validates cfg (taken literally: start from DefaultConfig), raises the
// soft open-files limit to the hard one and fits MaxConns to it, starts the
// broker and listens. Serving starts with Run; a server that is never run
// is released with Close. Invalid settings are a *ConfigError.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	limit, _, rerr := rlimit.Raise()
	if rerr != nil {
		cfg.Logger.Warn("could not raise the open-files limit", "err", rerr)
	}
	maxConns, err := cfg.fitMaxConns(limit)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return nil, &TLSConfigError{Err: err}
	}
	if cfg.NodeID == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		cfg.NodeID = hex.EncodeToString(b[:])
	}
	if cfg.Broker == nil {
		cfg.Broker = broker.NewMemory(nil)
	}
	reg := cfg.Registry
	if reg == nil {
		reg = NewRegistry()
	}
	s := &Server{cfg: cfg, maxConns: maxConns, fdLimit: limit, log: cfg.Logger, broker: cfg.Broker, reg: reg}
	if w, ok := cfg.Broker.(broker.Waiter); ok {
		s.brokerWaits = w.HandlerMayWait()
	}
	s.live.init()
	s.m = newMetrics(s.reg)
	s.hub = newHub(cfg.Broker, s.m)
	s.pending = newPendingConns(cfg.MaxPending, min(evictAge, cfg.ReadHeaderTimeout), s.m.pendingEvicted.Inc)
	s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chatbench_pending_connections", Help: "Accepted connections that are not WebSockets (yet): requests being read or answered, idle keep-alives.",
	}, func() float64 { return float64(s.pending.len()) }))

	ctx, cancel := context.WithCancel(context.Background())
	s.stopBroker = cancel
	if err := cfg.Broker.Start(ctx, cfg.NodeID, s.onBrokerMessage); err != nil {
		cancel()
		return nil, &BackendError{Backend: cfg.Broker.Name(), Err: err}
	}
	tcp, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		cancel()
		_ = cfg.Broker.Close()
		return nil, &ListenError{Addr: cfg.Addr, Err: err}
	}
	var ln net.Listener = &pendingListener{Listener: tcp, p: s.pending, onFull: s.pendingFull, done: make(chan struct{})}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
		s.tls = true
	}
	s.ln = ln
	s.http = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		// The routes take no body (refuseBody), so the whole request must
		// be in within the header timeout; a hijacked connection has its
		// deadlines cleared.
		ReadTimeout:    cfg.ReadHeaderTimeout,
		WriteTimeout:   cfg.WriteTimeout,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 16 << 10,
		ConnState:      s.pending.connState,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// Addr is the address the server listens on (with the real port when the
// configured one was 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// MaxConns is the cap on WebSockets in force: Config.MaxConns with
// MaxConnsAuto resolved (0: no cap).
func (s *Server) MaxConns() int { return s.maxConns }

// OpenFilesLimit is the soft open-files limit New found after raising it,
// which MaxConns was fitted to (0: it could not be read).
func (s *Server) OpenFilesLimit() uint64 { return s.fdLimit }

// Registry is the server's Prometheus registry, served on /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// ErrClosed is returned by Run on a server that was closed or has run.
var ErrClosed = errors.New("server: closed, or already run")

// Run serves until ctx is done (or Close is called), then shuts down: it
// stops accepting, closes every WebSocket with 1001 (going away), waits up
// to ShutdownTimeout for the close handshakes and the plain HTTP requests
// in flight, closes whatever is still open and closes the broker. It
// returns nil after a shutdown asked for by ctx or Close. A server runs
// once.
func (s *Server) Run(ctx context.Context) error {
	s.runMu.Lock()
	if s.closed || s.runDone != nil {
		s.runMu.Unlock()
		return ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	s.runCancel, s.runDone = cancel, make(chan struct{})
	s.runMu.Unlock()
	defer close(s.runDone)
	defer cancel()

	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	var bg sync.WaitGroup
	bg.Add(1)
	go func() { defer bg.Done(); s.keepalive(ctx) }()
	if s.cfg.TrimMemoryAfter > 0 {
		bg.Add(1)
		go func() { defer bg.Done(); s.trimMemory(ctx, s.cfg.TrimMemoryAfter) }()
	}
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	cancel()
	s.shutdown()
	bg.Wait()
	if serveErr == nil {
		serveErr = <-errc
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return nil
}

// Close stops the server: a running Run shuts down as if its context were
// done, and Close waits for it to return; a server that was never run has
// its listener and broker closed. Close may be called more than once.
func (s *Server) Close() error {
	s.runMu.Lock()
	cancel, done := s.runCancel, s.runDone
	first := !s.closed
	s.closed = true
	s.runMu.Unlock()
	if done != nil {
		cancel()
		<-done
		return nil
	}
	if !first {
		return nil
	}
	err := s.ln.Close()
	s.stopBroker()
	return errors.Join(err, s.broker.Close())
}

// pendingFull logs, at most every 10 s, that the pending-connection budget
// is full: the listener is holding new connections back.
func (s *Server) pendingFull() {
	s.m.pendingFull.Inc()
	now := time.Now().UnixNano()
	if last := s.warnedAt.Load(); now-last < int64(10*time.Second) || !s.warnedAt.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn("pending connections at their budget: new connections wait, the oldest pending are closed after a second",
		"max_pending", s.cfg.MaxPending)
}

// publish handles one chat message from a local client: encode once, fan
// out locally, hand to the broker for the other nodes.
func (s *Server) publish(c *client, msg []byte) {
	s.m.received.Inc()
	s.m.receivedBytes.Add(float64(len(msg)))
	wire, payload := broadcastFrame(c.user, c.roomName, msg)
	s.hub.broadcast(c.roomName, wire)
	err := s.broker.Publish(broker.Message{Room: c.roomName, Origin: s.cfg.NodeID, Payload: payload})
	if err != nil {
		s.m.publishErrors.Inc()
		s.log.Debug("publish failed", "room", c.roomName, "err", err)
	}
}

// onBrokerMessage fans out a message from another node. It must not block
// (the broker calls it from its dispatch), unless the broker lets it wait
// (brokerWaits): a client whose queue is full is then waited for, up to
// WriteTimeout for each batch its writer takes, so that a backlog the broker
// redelivers after an outage reaches clients that read, at their pace,
// rather than overflowing their queues.
func (s *Server) onBrokerMessage(m broker.Message) {
	if m.Origin == s.cfg.NodeID {
		return
	}
	s.m.remote.Inc()
	if s.brokerWaits {
		s.hub.broadcastWait(m.Room, frameFromPayload(m.Payload), s.cfg.WriteTimeout)
		return
	}
	s.hub.broadcast(m.Room, frameFromPayload(m.Payload))
}
