package server

import (
	"container/list"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
)

// Pending connections: every accepted connection that is not a WebSocket
// (yet): its request being read, a plain HTTP request (/metrics, the page,
// the health checks) being answered, a keep-alive connection between
// requests. They share a budget of their own (Config.MaxPending), apart
// from MaxConns, so that they cannot spend the open-files limit that
// upgraded connections need, nor starve each other:
//
//   - When the budget is full, the listener holds the connection it just
//     accepted and accepts no more: the next ones wait in the kernel's
//     accept queue, where they cost the process no file.
//   - The held connection is admitted as soon as a slot frees, or as soon
//     as the oldest pending connection has been pending for evictAge:
//     that one is then closed to make room. A real client's request takes
//     a round trip; a connection still pending after a second is a
//     stalled, slow or idle one, and the first to go.
//
// A connection leaves the budget when it is hijacked (upgraded to a
// WebSocket) or closed.

// evictAge is how long a pending connection is safe from eviction: enough
// for a client to send its request over a slow link, short next to
// ReadHeaderTimeout.
const evictAge = time.Second

// pendingConns tracks the pending connections, oldest first.
type pendingConns struct {
	budget  int
	minAge  time.Duration
	evicted func() // counts one eviction (a metric)

	mu    sync.Mutex
	list  list.List     // of *pendingConn, oldest first
	freed chan struct{} // a slot was released (capacity 1: a wake-up, not a count)
}

func newPendingConns(budget int, minAge time.Duration, evicted func()) *pendingConns {
	return &pendingConns{budget: budget, minAge: minAge, evicted: evicted, freed: make(chan struct{}, 1)}
}

// pendingConn is an accepted connection counted in the budget until it is
// released (hijacked or closed).
type pendingConn struct {
	net.Conn
	p     *pendingConns
	since time.Time
	elem  *list.Element // nil once released; guarded by p.mu
}

// admit waits until the budget has room for c, a connection just accepted,
// evicting the oldest pending connection once it is old enough, and then
// counts c. It reports whether it had to wait or evict, and returns false
// when done is closed first. Evicting only with a connection in hand
// (never in advance) keeps stalled connections from being closed when
// nobody needs their slot.
func (p *pendingConns) admit(c net.Conn, done <-chan struct{}) (pc *pendingConn, full, ok bool) {
	for {
		p.mu.Lock()
		if p.list.Len() < p.budget {
			pc = &pendingConn{Conn: c, p: p, since: time.Now()}
			pc.elem = p.list.PushBack(pc)
			p.mu.Unlock()
			return pc, full, true
		}
		full = true
		oldest := p.list.Front().Value.(*pendingConn)
		wait := p.minAge - time.Since(oldest.since)
		if wait <= 0 {
			p.releaseLocked(oldest)
			p.mu.Unlock()
			_ = oldest.Conn.Close()
			p.evicted()
			continue
		}
		p.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-p.freed:
		case <-t.C:
		case <-done:
			t.Stop()
			return nil, full, false
		}
		t.Stop()
	}
}

func (p *pendingConns) release(pc *pendingConn) {
	p.mu.Lock()
	p.releaseLocked(pc)
	p.mu.Unlock()
}

func (p *pendingConns) releaseLocked(pc *pendingConn) {
	if pc.elem == nil {
		return
	}
	p.list.Remove(pc.elem)
	pc.elem = nil
	select {
	case p.freed <- struct{}{}:
	default:
	}
}

// len is the number of pending connections (for tests and metrics).
func (p *pendingConns) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.list.Len()
}

// Close releases the connection's slot and closes it.
func (pc *pendingConn) Close() error {
	pc.p.release(pc)
	return pc.Conn.Close()
}

// CloseWrite keeps net/http's half-close before it closes a connection
// (the client then reads the whole response before the reset).
func (pc *pendingConn) CloseWrite() error {
	if cw, ok := pc.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// connState is the http.Server's ConnState hook: a hijacked or closed
// connection leaves the budget.
func (p *pendingConns) connState(c net.Conn, state http.ConnState) {
	if state != http.StateHijacked && state != http.StateClosed {
		return
	}
	if pc := asPending(c); pc != nil {
		p.release(pc)
	}
}

// asPending finds the pendingConn under c (a *tls.Conn wraps it).
func asPending(c net.Conn) *pendingConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	pc, _ := c.(*pendingConn)
	return pc
}

// pendingListener accepts only when the pending budget has room.
type pendingListener struct {
	net.Listener
	p      *pendingConns
	onFull func() // called when an accept had to wait or evict
	done   chan struct{}
	once   sync.Once
}

func (l *pendingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	pc, full, ok := l.p.admit(c, l.done)
	if !ok {
		c.Close()
		return nil, net.ErrClosed
	}
	if full {
		l.onFull()
	}
	return pc, nil
}

func (l *pendingListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}
