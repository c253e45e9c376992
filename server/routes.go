package server

import (
	"context"
	_ "embed"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

//go:embed page/index.html
var indexHTML []byte

// Handler returns the server's HTTP routes: / (chat page), /ws, /metrics,
// /healthz, /readyz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handlePage)
	mux.HandleFunc("GET /ws", s.handleWS)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.handleReady)
	return mux
}

func (s *Server) handlePage(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'")
	_, _ = w.Write(indexHTML)
}

func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready: shutting down\n"))
		return
	}
	if err := s.broker.Ready(); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready: " + s.broker.Name() + " backend: " + err.Error() + "\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// handleWS upgrades /ws?room=R&user=U. Every refusal happens before the
// upgrade, with an HTTP status and a one-line reason.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	reject := func(status int, reason, msg string) {
		s.m.rejected.WithLabelValues(reason).Inc()
		http.Error(w, msg, status)
	}
	if s.draining.Load() {
		w.Header().Set("Retry-After", "1")
		reject(http.StatusServiceUnavailable, rejectShutdown, "server is shutting down")
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="chatbench"`)
		reject(http.StatusUnauthorized, rejectUnauthorized, "missing or wrong token: pass ?token= or Authorization: Bearer")
		return
	}
	if !s.originAllowed(r) {
		reject(http.StatusForbidden, rejectOrigin, "origin not allowed: serve the page from this host or add --allow-origin")
		return
	}
	q := r.URL.Query()
	roomName, user := q.Get("room"), q.Get("user")
	if roomName == "" {
		roomName = "chat"
	}
	if len(roomName) > 256 || !utf8.ValidString(roomName) || len(user) > s.cfg.MaxUserBytes || !utf8.ValidString(user) {
		reject(http.StatusBadRequest, rejectBadRequest, "room must be valid UTF-8 of at most 256 bytes, user of at most MaxUserBytes")
		return
	}
	if n := s.conns.Add(1); s.cfg.MaxConns > 0 && n > int64(s.cfg.MaxConns) {
		s.conns.Add(-1)
		w.Header().Set("Retry-After", "1")
		reject(http.StatusServiceUnavailable, rejectMaxConns, "server is at its connection limit (--max-conns)")
		return
	}

	// Counted before the hijack: http.Server.Shutdown waits for handlers
	// until they hijack, so by then every upgrade in flight is counted.
	s.clients.Add(1)
	hw := &hijackWriter{ResponseWriter: w, writeTimeout: s.cfg.WriteTimeout}
	c := &client{srv: s, roomName: roomName, user: user, limit: newMsgLimiter(s.cfg.MaxMsgRate, s.cfg.MaxMsgBurst)}
	c.writeFn = c.writeLoop
	conn, err := websocket.Accept(hw, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // origin checked above, with counting
		CompressionMode:    websocket.CompressionDisabled,
		OnPingReceived: func(_ context.Context, _ []byte) bool {
			c.lastRead.Store(time.Now().UnixNano())
			return true
		},
		OnPongReceived: func(_ context.Context, _ []byte) {
			c.lastRead.Store(time.Now().UnixNano())
		},
	})
	if err != nil {
		s.conns.Add(-1)
		s.clients.Done()
		s.m.rejected.WithLabelValues(rejectBadRequest).Inc() // Accept wrote the status
		return
	}
	conn.SetReadLimit(s.cfg.MaxMessageBytes)
	c.conn, c.wire = conn, hw.wire
	c.lastRead.Store(time.Now().UnixNano())

	s.m.accepted.Inc()
	s.m.connections.Inc()
	s.hub.join(c)
	if s.draining.Load() {
		// Joined after shutdown took its snapshot of the hub.
		c.closeAsync(discShutdown, websocket.StatusGoingAway, "server shutting down")
	}
	// Return from the handler: net/http's goroutine has a deep stack; the
	// reader gets a fresh, small one.
	go c.readLoop()
}
