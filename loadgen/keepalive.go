package loadgen

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// keepalive watches every connected socket of a run: one goroutine, no timer
// per socket. A socket silent for PingInterval gets a ping (skipped while a
// sender holds the socket: it is busy anyway); when nothing at all arrives in
// the PingTimeout after the ping, it is closed and its reader records
// errkind.PingTimeout. It also sends the protocol's own keepalive (STOMP
// heart-beats, MQTT PINGREQ) on a socket that wrote nothing for the
// session's Keepalive interval.
type keepalive struct {
	pings             bool       // swarm's own pings are on
	interval, timeout int64      // ns
	protocol          int64      // the sessions' keepalive interval (ns; 0: none)
	mu                sync.Mutex // guards lastPing
	lastPing          []int64
	timedOut          []atomic.Bool // by client id
}

func newKeepalive(clients int, interval, timeout, protocol time.Duration) *keepalive {
	k := &keepalive{pings: interval > 0 && timeout > 0, interval: int64(interval), timeout: int64(timeout),
		protocol: int64(protocol), lastPing: make([]int64, clients), timedOut: make([]atomic.Bool, clients)}
	if !k.pings && k.protocol <= 0 {
		return nil
	}
	return k
}

// reset starts watching client id's new socket ws: heard from now, not
// pinged, not timed out (a client reconnecting starts afresh).
func (k *keepalive) reset(id int, ws *wsclient.Conn) {
	if k != nil {
		ws.MarkRead(time.Now().UnixNano())
		k.mu.Lock()
		k.lastPing[id] = 0
		k.mu.Unlock()
		k.timedOut[id].Store(false)
	}
}

// gone reports whether client id was closed for silence.
func (k *keepalive) gone(id int) bool {
	return k != nil && id < len(k.timedOut) && k.timedOut[id].Load()
}

// tick is how often the loop looks at every socket.
func (k *keepalive) tick() time.Duration {
	every := int64(1 << 62)
	if k.pings {
		every = min(k.interval, k.timeout) / 4
	}
	if k.protocol > 0 {
		every = min(every, k.protocol/4)
	}
	return max(time.Duration(every), 10*time.Millisecond)
}

// loop runs until ctx is done.
func (k *keepalive) loop(ctx context.Context, r *run) {
	if k == nil {
		return
	}
	t := time.NewTicker(k.tick())
	defer t.Stop()
	for {
		now := wsclient.Tick()
		for i := range r.clients {
			c := r.clients[i].Load()
			if c == nil || k.timedOut[c.id].Load() {
				continue
			}
			if k.protocol > 0 && now-c.lastWrite.Load() >= k.protocol {
				if err := c.sess.SendKeepalive(time.Now().Add(time.Duration(k.protocol))); err == nil {
					c.lastWrite.Store(now)
				}
			}
			if !k.pings {
				continue
			}
			// Readers stamp lastRead with the coarse clock, which this loop
			// set to now before pinging: a read after the ping has
			// lastRead ≥ lastPing even when this loop runs late.
			k.mu.Lock()
			last, pinged := c.ws.LastRead(), k.lastPing[c.id]
			k.mu.Unlock()
			switch {
			case pinged > last && now-pinged >= k.timeout:
				k.timedOut[c.id].Store(true)
				_ = c.ws.NetConn().Close() // its reader ends and counts it
			case pinged <= last && now-last >= k.interval:
				if c.ws.TryPing(time.Now().Add(time.Duration(k.timeout))) {
					k.mu.Lock()
					k.lastPing[c.id] = now
					k.mu.Unlock()
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
