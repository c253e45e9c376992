package server

import (
	"context"
	"sync"
	"time"
)

// liveClients tracks every WebSocket from the moment its upgrade begins
// until its reader ends, named or not, in a room or not: shutdown closes
// them all and waits for them. An upgrade cannot begin once shutdown has
// started (begin and drain share the lock), so none slips past the wait.
type liveClients struct {
	mu       sync.Mutex
	n        int // upgrades begun and not ended: in progress, or registered
	set      map[*client]struct{}
	draining bool
	empty    chan struct{} // closed when n reaches 0, if someone waits
}

func (l *liveClients) init() { l.set = make(map[*client]struct{}) }

// begin counts an upgrade about to start; false once shutdown has begun.
func (l *liveClients) begin() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.draining {
		return false
	}
	l.n++
	return true
}

// register adds an upgraded client (counted by begin).
func (l *liveClients) register(c *client) {
	l.mu.Lock()
	l.set[c] = struct{}{}
	l.mu.Unlock()
}

// end uncounts an upgrade that did not become a registered client.
func (l *liveClients) end() { l.remove(nil) }

// remove uncounts a client whose reader has ended (nil: see end).
func (l *liveClients) remove(c *client) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c != nil {
		delete(l.set, c)
	}
	l.n--
	if l.n == 0 && l.empty != nil {
		close(l.empty)
		l.empty = nil
	}
}

// drain refuses new upgrades and returns the registered clients.
func (l *liveClients) drain() []*client {
	l.mu.Lock()
	l.draining = true
	l.mu.Unlock()
	return l.snapshot()
}

func (l *liveClients) snapshot() []*client {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*client, 0, len(l.set))
	for c := range l.set {
		out = append(out, c)
	}
	return out
}

// wait waits until no upgrade or client is left, or ctx is done; it
// reports whether none is left.
func (l *liveClients) wait(ctx context.Context) bool {
	l.mu.Lock()
	if l.n == 0 {
		l.mu.Unlock()
		return true
	}
	if l.empty == nil {
		l.empty = make(chan struct{})
	}
	ch := l.empty
	l.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// clientDone is the last thing a client's reader does.
func (s *Server) clientDone(c *client) {
	if c.nameTimer != nil {
		c.nameTimer.Stop()
	}
	if c.room != nil {
		s.hub.leave(c)
	}
	reason := discReadError
	if d := c.reason.Load(); d != nil {
		reason = d
	}
	s.m.disconnects.WithLabelValues(reason.label).Inc()
	s.m.connections.Dec()
	s.conns.Add(-1)
	s.log.Debug("disconnected", "room", c.roomName, "user", c.user, "reason", reason.label)
	s.live.remove(c)
}

// Bounds of the steps after the shutdown timeout: readers end at once once
// their sockets are closed, and the broker closes its connections.
const (
	forcedCloseWait = 250 * time.Millisecond
	brokerCloseWait = 500 * time.Millisecond
)

// shutdown stops the server within ShutdownTimeout plus under a second:
// no new connection or upgrade; every WebSocket gets 1001 and plain HTTP
// requests in flight are let finish, for up to ShutdownTimeout; then every
// connection still open, upgraded or not, is closed under its protocol;
// then the broker.
func (s *Server) shutdown() {
	s.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	clients := s.live.drain()
	s.log.Info("shutting down", "connections", len(clients), "timeout", s.cfg.ShutdownTimeout)
	for _, c := range clients {
		c.closeAsync(discShutdown)
	}
	httpDone := make(chan error, 1)
	go func() { httpDone <- s.http.Shutdown(sctx) }() // closes the listener and idle connections
	graceful := s.live.wait(sctx)
	if err := <-httpDone; err != nil || !graceful {
		left := s.live.snapshot()
		s.log.Warn("shutdown timeout: closing the connections still open", "websockets", len(left))
		_ = s.http.Close() // every connection not hijacked: requests being read or answered
		for _, c := range left {
			c.forceClose()
		}
		wctx, wcancel := context.WithTimeout(context.Background(), forcedCloseWait)
		if !s.live.wait(wctx) {
			s.log.Warn("readers still running after their sockets were closed")
		}
		wcancel()
	}
	s.stopBroker()
	done := make(chan error, 1)
	go func() { done <- s.broker.Close() }()
	select {
	case err := <-done:
		if err != nil {
			s.log.Warn("closing the backend", "err", err)
		}
	case <-time.After(brokerCloseWait):
		s.log.Warn("the backend did not close in time; leaving it", "waited", brokerCloseWait)
	}
}
