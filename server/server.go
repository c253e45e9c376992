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

	"github.com/chatbench/chatbench/server/broker"
	"github.com/prometheus/client_golang/prometheus"
)

// Server is a running chat node: an HTTP listener, a hub of rooms and a
// broker to other nodes.
type Server struct {
	cfg    Config
	log    *slog.Logger
	ln     net.Listener
	http   *http.Server
	hub    *hub
	broker broker.Broker
	reg    *prometheus.Registry
	m      *metrics

	conns    atomic.Int64   // open WebSocket connections (admission count)
	clients  sync.WaitGroup // one per accepted connection, until its reader ends
	draining atomic.Bool    // shutdown started: refuse upgrades, /readyz 503

	stopBroker context.CancelFunc
	tls        bool // the listener speaks TLS (https, wss)
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

// New validates cfg, starts the broker and listens. Serving starts with Run.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
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
	s := &Server{cfg: cfg, log: cfg.Logger, broker: cfg.Broker, reg: reg}
	s.m = newMetrics(s.reg)
	s.hub = newHub(cfg.Broker, s.m)

	ctx, cancel := context.WithCancel(context.Background())
	s.stopBroker = cancel
	if err := cfg.Broker.Start(ctx, cfg.NodeID, s.onBrokerMessage); err != nil {
		cancel()
		return nil, &BackendError{Backend: cfg.Broker.Name(), Err: err}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		cancel()
		_ = cfg.Broker.Close()
		return nil, &ListenError{Addr: cfg.Addr, Err: err}
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
		s.tls = true
	}
	s.ln = ln
	s.http = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// Addr is the address the server listens on (with the real port when the
// configured one was 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Registry is the server's Prometheus registry, served on /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Run serves until ctx is done, then shuts down gracefully: it stops
// accepting, closes every WebSocket with 1001 (going away), waits up to
// ShutdownTimeout for the close handshakes and closes the broker. It returns
// nil after a shutdown asked for by ctx.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	go s.keepalive(ctx)
	if s.cfg.TrimMemoryAfter > 0 {
		go s.trimMemory(ctx, s.cfg.TrimMemoryAfter)
	}
	select {
	case err := <-errc:
		s.shutdown()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.shutdown()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

func (s *Server) shutdown() {
	s.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	_ = s.http.Shutdown(sctx) // listener and plain HTTP; hijacked sockets are ours

	clients := s.hub.clients(nil)
	s.log.Info("shutting down", "connections", len(clients))
	for _, c := range clients {
		c.closeAsync(discShutdown, 1001, "server shutting down")
	}
	done := make(chan struct{})
	go func() { s.clients.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		for _, c := range s.hub.clients(nil) {
			_ = c.conn.CloseNow()
		}
		<-done
	}
	s.stopBroker()
	_ = s.broker.Close()
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

// onBrokerMessage fans out a message from another node. It must not block:
// the broker calls it from its reader.
func (s *Server) onBrokerMessage(m broker.Message) {
	if m.Origin == s.cfg.NodeID {
		return
	}
	s.m.remote.Inc()
	s.hub.broadcast(m.Room, frameFromPayload(m.Payload))
}

// clientDone is the last thing a client's reader does.
func (s *Server) clientDone(c *client) {
	s.hub.leave(c)
	reason := discReadError
	if r := c.reason.Load(); r != nil {
		reason = *r
	}
	s.m.disconnects.WithLabelValues(reason).Inc()
	s.m.connections.Dec()
	s.conns.Add(-1)
	s.log.Debug("disconnected", "room", c.roomName, "user", c.user, "reason", reason)
	s.clients.Done()
}
