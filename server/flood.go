package server

import (
	"sync"
	"sync/atomic"
	"time"
)

// The slow-consumer decision, made when a member's send queue is full.
//
// A full queue has two causes. Either the member reads slower than a
// healthy room sends (a stalled or slow client): it is the slow consumer,
// and SlowPolicy applies to it. Or the room receives more than its members
// can read, because one member floods it: then every member's queue fills
// at once, and disconnecting them would let one socket empty the room.
// Under SlowDisconnect the decision tells the two apart:
//
//   - The flooder is the member that sent the most messages in the last one
//     to two seconds, if that is at least half a send queue (it alone could
//     fill a queue that fast) and more than half of all the room's members
//     sent (it, not the room's traffic as a whole, is the excess).
//   - The room is congested if at least half of its other members (a sample
//     of up to floodSample) have a queue at least a quarter full: the flood
//     reaches everyone, while a slow consumer is alone in its backlog.
//
// With both, the flooder is closed with 1008 "flooding the room"
// (disconnects{reason="flood"}) and the member whose queue was full stays
// connected. Its queue may then hold up to twice SendQueue, so that what
// the others say while the flood drains is not lost; a frame past that is
// dropped (dropped{reason="flood"}). Otherwise the member is the slow
// consumer. The verdict is
// reached at most once per floodVerdictTTL per room, so a flood of a large
// room costs one scan, not one per member. Under SlowDrop every overflow
// is a drop, as that policy says.
//
// The per-connection rate limit (MaxMsgRate) is the first defence, and
// this decision the second, for rates set high or off: a room whose many
// members together send more than its members can read has no flooder,
// and the slow consumers go.

const (
	floodVerdictTTL = 100 * time.Millisecond
	floodSample     = 64
)

// floodVerdict caches a room's last verdict.
type floodVerdict struct {
	mu      sync.Mutex
	at      int64   // when it was reached (Unix ns)
	flooder *client // nil: nobody floods the room
}

// overflow applies the slow-consumer decision to c, a member of r whose
// queue was full for frame. Called with r.mu held for reading.
func (r *room) overflow(c *client, frame []byte) {
	if c.srv.cfg.SlowPolicy == SlowDrop {
		c.slow()
		return
	}
	sendQueue := c.srv.cfg.SendQueue
	f := r.verdict(time.Now().UnixNano(), sendQueue)
	if f == nil {
		c.slow()
		return
	}
	f.closeAsync(discFlood)
	if f == c || c.enqueueUpTo(frame, 2*sendQueue) != queued {
		c.srv.m.droppedFlood.Inc()
	}
}

// verdict returns the room's flooder, reaching a new verdict when the last
// one is older than floodVerdictTTL. Called with r.mu held for reading.
func (r *room) verdict(now int64, sendQueue int) *client {
	v := &r.flood
	v.mu.Lock()
	defer v.mu.Unlock()
	if now-v.at < int64(floodVerdictTTL) {
		return v.flooder
	}
	v.at, v.flooder = now, findFlooder(r.members, now, sendQueue)
	return v.flooder
}

// findFlooder returns the member flooding a congested room, or nil.
func findFlooder(members []*client, now int64, sendQueue int) *client {
	var top *client
	var topSent, total int64
	for _, m := range members {
		n := m.sent.recent(now)
		total += n
		if n > topSent {
			top, topSent = m, n
		}
	}
	if top == nil || 2*topSent < int64(sendQueue) || 2*topSent <= total {
		return nil
	}
	others := len(members) - 1
	if others == 0 {
		return nil // alone: it is its own slow consumer
	}
	stride := max(others/floodSample, 1)
	sampled, congested := 0, 0
	for i := 0; i < len(members); i += stride {
		m := members[i]
		if m == top {
			continue
		}
		sampled++
		if 4*m.queueLen() >= sendQueue {
			congested++
		}
	}
	if 2*congested < sampled || congested == 0 {
		return nil
	}
	return top
}

// sendMeter counts one client's published messages in the current and the
// previous second. Only its reader adds; the hub reads it when a room
// overflows.
type sendMeter struct {
	second    atomic.Int64 // the Unix second cur counts
	cur, prev atomic.Int64
}

func (m *sendMeter) add(now int64) {
	sec := now / int64(time.Second)
	if old := m.second.Load(); old != sec {
		var p int64
		if old == sec-1 {
			p = m.cur.Load()
		}
		m.prev.Store(p)
		m.cur.Store(0)
		m.second.Store(sec)
	}
	m.cur.Add(1)
}

// recent is the count over the last one to two seconds.
func (m *sendMeter) recent(now int64) int64 {
	sec := now / int64(time.Second)
	switch m.second.Load() {
	case sec:
		return m.cur.Load() + m.prev.Load()
	case sec - 1:
		return m.cur.Load()
	}
	return 0
}
