package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// handleWS upgrades /ws?room=R&user=U. Every refusal it can decide before
// the upgrade happens there, with an HTTP status and a one-line reason.
//
// A connection counts against MaxConns once it is upgraded: a request
// that never completes its upgrade holds no slot. Requests are refused
// with 503 when the cap is already reached; upgrades that race past it
// (several completing at once) are closed right after the handshake with
// 1013 (try again later), counted as rejected{max_conns} too.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	roomName, user := q.Get("room"), q.Get("user")
	if roomName == "" {
		roomName = "chat"
	}
	if status, reason, msg := s.refuseUpgrade(r, roomName, user); status != 0 {
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="chatbench"`)
		}
		s.m.rejected.WithLabelValues(reason).Inc()
		http.Error(w, msg, status)
		return
	}
	if !s.live.begin() {
		s.m.rejected.WithLabelValues(rejectShutdown).Inc()
		w.Header().Set("Retry-After", "1")
		http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
		return
	}
	hw := &hijackWriter{ResponseWriter: w, writeTimeout: s.cfg.WriteTimeout}
	c := newClient(s, roomName, user)
	conn, err := websocket.Accept(hw, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // origin checked above, with counting
		CompressionMode:    websocket.CompressionDisabled,
		OnPingReceived:     func(context.Context, []byte) bool { return c.onControl() },
		OnPongReceived:     func(context.Context, []byte) { c.onControl() },
	})
	if err != nil {
		s.live.end()
		s.m.rejected.WithLabelValues(rejectBadRequest).Inc() // Accept wrote the status
		return
	}
	conn.SetReadLimit(s.cfg.MaxMessageBytes)
	c.conn, c.wire = conn, hw.wire
	if n := s.conns.Add(1); s.maxConns > 0 && n > int64(s.maxConns) {
		s.conns.Add(-1)
		s.m.rejected.WithLabelValues(rejectMaxConns).Inc()
		go func() {
			_ = c.wire.writeClose(discMaxConns.code, discMaxConns.text)
			_ = conn.CloseNow()
			s.live.end()
		}()
		return
	}
	c.lastRead.Store(time.Now().UnixNano())
	s.m.accepted.Inc()
	s.m.connections.Inc()
	s.live.register(c)
	if user == "" {
		// Named by its first frame: until then in no room, and bounded.
		c.nameTimer = time.AfterFunc(s.cfg.NameTimeout, func() { c.closeAsync(discNameTimeout) })
	} else {
		s.hub.join(c)
	}
	if s.draining.Load() {
		// Registered after shutdown took its snapshot.
		c.closeAsync(discShutdown)
	}
	// Return from the handler: net/http's goroutine has a deep stack; the
	// reader gets a fresh, small one.
	go c.readLoop()
}

// refuseUpgrade returns the HTTP status, metric reason and message that
// refuse an upgrade request, or status 0.
func (s *Server) refuseUpgrade(r *http.Request, roomName, user string) (status int, reason, msg string) {
	switch {
	case s.draining.Load():
		return http.StatusServiceUnavailable, rejectShutdown, "server is shutting down"
	case !s.authorized(r):
		return http.StatusUnauthorized, rejectUnauthorized, "missing or wrong token: pass ?token= or Authorization: Bearer"
	case !s.originAllowed(r):
		return http.StatusForbidden, rejectOrigin, "origin not allowed: serve the page from this host or add --allow-origin"
	case len(roomName) > 256 || !utf8.ValidString(roomName) || len(user) > s.cfg.MaxUserBytes || !utf8.ValidString(user):
		return http.StatusBadRequest, rejectBadRequest, "room must be valid UTF-8 of at most 256 bytes, user of at most MaxUserBytes"
	case s.maxConns > 0 && s.conns.Load() >= int64(s.maxConns):
		return http.StatusServiceUnavailable, rejectMaxConns, "server is at its connection limit (--max-conns)"
	}
	return 0, "", ""
}

// refuseBody answers any request that carries a body with 400 and closes
// its connection at once, without reading the body: no route takes one,
// and a body that never arrives would otherwise hold the connection
// (net/http drains up to 256 KiB of an unread body, then lingers half a
// second before it closes).
func (s *Server) refuseBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		s.m.rejected.WithLabelValues(rejectBody).Inc()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			w.Header().Set("Connection", "close")
			http.Error(w, bodyRefusal, http.StatusBadRequest)
			return
		}
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = io.WriteString(conn, bodyRefusalResponse)
		_ = conn.Close()
	})
}

const bodyRefusal = "requests to this server carry no body\n"

var bodyRefusalResponse = fmt.Sprintf("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"+
	"Connection: close\r\nContent-Length: %d\r\n\r\n%s", len(bodyRefusal), bodyRefusal)
