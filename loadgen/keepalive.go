package loadgen

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// DiscPingTimeout is the Errors.Disconnect kind of a socket closed by swarm
// because the server went silent: nothing arrived for PingInterval, a ping
// went out, and still nothing arrived for PingTimeout (a frozen, partitioned
// or vanished server whose socket looks open).
const DiscPingTimeout = "ping_timeout"

// keepalive watches every connected socket of a run: one goroutine, no timer
// per socket. A socket silent for PingInterval gets a ping (skipped while a
// sender holds the socket: it is busy anyway); when nothing at all arrives in
// the PingTimeout after the ping, it is closed and its reader records
// DiscPingTimeout.
type keepalive struct {
	interval, timeout int64 // ns
	lastPing          []int64
	timedOut          []atomic.Bool // by client id
}

func newKeepalive(clients int, interval, timeout time.Duration) *keepalive {
	if interval <= 0 || timeout <= 0 {
		return nil
	}
	return &keepalive{interval: int64(interval), timeout: int64(timeout),
		lastPing: make([]int64, clients), timedOut: make([]atomic.Bool, clients)}
}

// stamp marks socket ws as heard from now (at connect time).
func (k *keepalive) stamp(ws *wsclient.Conn) {
	if k != nil {
		ws.MarkRead(time.Now().UnixNano())
	}
}

// gone reports whether client id was closed for silence.
func (k *keepalive) gone(id int) bool {
	return k != nil && id < len(k.timedOut) && k.timedOut[id].Load()
}

// loop runs until ctx is done.
func (k *keepalive) loop(ctx context.Context, r *run) {
	if k == nil {
		return
	}
	tick := time.Duration(min(k.interval, k.timeout) / 4)
	tick = max(tick, 10*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	var snap []*client
	for {
		now := wsclient.Tick()
		r.mu.Lock()
		snap = append(snap[:0], r.clients...)
		r.mu.Unlock()
		for _, c := range snap {
			if c == nil || k.timedOut[c.id].Load() {
				continue
			}
			// Readers stamp lastRead with the coarse clock, which this loop
			// set to now before pinging: a read after the ping has
			// lastRead ≥ lastPing even when this loop runs late.
			last, pinged := c.ws.LastRead(), k.lastPing[c.id]
			switch {
			case pinged > last && now-pinged >= k.timeout:
				k.timedOut[c.id].Store(true)
				_ = c.ws.NetConn().Close() // its reader ends and counts it
			case pinged <= last && now-last >= k.interval:
				if c.ws.TryPing(time.Now().Add(time.Duration(k.timeout))) {
					k.lastPing[c.id] = now
				}
			}
		}
		clear(snap)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
