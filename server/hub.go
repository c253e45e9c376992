package server

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/chatbench/chatbench/server/broker"
)

// hubStripes is the number of independent room maps (lock striping).
// Broadcasts to rooms in different stripes share no lock; joins and leaves
// lock one stripe briefly.
const hubStripes = 64

// hub holds the rooms with local members. It never does I/O and never waits
// under its locks: broadcast only appends a shared frame to member queues.
type hub struct {
	seed    maphash.Seed
	stripes [hubStripes]stripe
	broker  broker.Broker
	m       *metrics
}

type stripe struct {
	mu    sync.RWMutex
	rooms map[string]*room
}

// room is one broadcast group. members is guarded by mu: broadcasts hold it
// for reading while they enqueue, joins and leaves for writing.
type room struct {
	name    string
	mu      sync.RWMutex
	members []*client

	flood floodVerdict // who, if anyone, floods the room (see overflow)
}

func newHub(b broker.Broker, m *metrics) *hub {
	h := &hub{seed: maphash.MakeSeed(), broker: b, m: m}
	for i := range h.stripes {
		h.stripes[i].rooms = make(map[string]*room)
	}
	return h
}

func (h *hub) stripe(room string) *stripe {
	return &h.stripes[maphash.String(h.seed, room)%hubStripes]
}

// join adds c to its room, creating the room (and subscribing it at the
// broker) when c is its first local member.
func (h *hub) join(c *client) {
	s := h.stripe(c.roomName)
	s.mu.Lock()
	r := s.rooms[c.roomName]
	if r == nil {
		r = &room{name: c.roomName}
		s.rooms[c.roomName] = r
		h.m.rooms.Inc()
		// Non-blocking by contract; called under the stripe lock so that
		// subscribe and unsubscribe of one room reach the broker in order.
		h.broker.Subscribe(c.roomName)
	}
	r.mu.Lock()
	c.room = r
	c.index = len(r.members)
	r.members = append(r.members, c)
	r.mu.Unlock()
	s.mu.Unlock()
}

// leave removes c from its room, deleting the room (and unsubscribing it) when
// c was its last local member. It is safe to call once per joined client.
func (h *hub) leave(c *client) {
	s := h.stripe(c.roomName)
	s.mu.Lock()
	r := c.room
	r.mu.Lock()
	last := len(r.members) - 1
	if c.index != last {
		moved := r.members[last]
		r.members[c.index] = moved
		moved.index = c.index
	}
	r.members[last] = nil
	r.members = r.members[:last]
	empty := last == 0
	r.mu.Unlock()
	if empty && s.rooms[c.roomName] == r {
		delete(s.rooms, c.roomName)
		h.m.rooms.Dec()
		h.broker.Unsubscribe(c.roomName)
	}
	s.mu.Unlock()
}

// room is the room named roomName, or nil when it has no members here.
func (h *hub) room(roomName string) *room {
	s := h.stripe(roomName)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.rooms[roomName]
}

// broadcast hands frame to every local member of room and returns how many
// members it was queued for. frame is shared, never copied or modified.
func (h *hub) broadcast(roomName string, frame []byte) int {
	start := time.Now()
	r := h.room(roomName)
	if r == nil {
		return 0
	}
	n := 0
	r.mu.RLock()
	for _, c := range r.members {
		switch c.enqueue(frame) {
		case queued:
			n++
		case queueFull:
			r.overflow(c, frame)
		}
	}
	r.mu.RUnlock()
	h.m.broadcastSeconds.Observe(time.Since(start).Seconds())
	return n
}

// broadcastWait is broadcast for a frame from a broker.Waiter: members
// whose send queue is half full (see enqueueWait) are waited for, all within
// one wait from the first, before the slow-consumer policy applies, so k
// slow members hold the frame (and the rooms behind it on its lane) for one
// wait, not k. The waits happen outside the room's locks; this room's next
// frame comes after them (a lane hands one room's frames on in order), so
// each member still gets the room's frames in order.
func (h *hub) broadcastWait(roomName string, frame []byte, wait time.Duration) int {
	start := time.Now()
	r := h.room(roomName)
	if r == nil {
		return 0
	}
	n := 0
	var full []*client
	r.mu.RLock()
	for _, c := range r.members {
		switch c.enqueueUpTo(frame, c.waitLimit()) {
		case queued:
			n++
		case queueFull:
			full = append(full, c)
		}
	}
	r.mu.RUnlock()
	deadline := time.Now().Add(wait)
	for _, c := range full {
		switch c.enqueueWait(frame, max(0, time.Until(deadline))) {
		case queued:
			n++
		case queueFull:
			r.mu.RLock()
			r.overflow(c, frame)
			r.mu.RUnlock()
		}
	}
	h.m.broadcastSeconds.Observe(time.Since(start).Seconds())
	return n
}

// clients appends every local client to dst and returns it. The snapshot is
// taken under read locks; act on it after they are released.
func (h *hub) clients(dst []*client) []*client {
	for i := range h.stripes {
		s := &h.stripes[i]
		s.mu.RLock()
		for _, r := range s.rooms {
			r.mu.RLock()
			dst = append(dst, r.members...)
			r.mu.RUnlock()
		}
		s.mu.RUnlock()
	}
	return dst
}

// roomSize returns the number of local members of room (for tests and the
// page's presence line).
func (h *hub) roomSize(roomName string) int {
	r := h.room(roomName)
	if r == nil {
		return 0
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.members)
}

// RoomSize returns how many local members room has.
func (s *Server) RoomSize(room string) int { return s.hub.roomSize(room) }
