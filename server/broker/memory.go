package broker

import (
	"context"
	"sync"
)

// Bus connects Memory brokers in one process, standing in for a network
// between nodes: what one node publishes reaches every other node on the same
// Bus that subscribed to the room. A node alone on its Bus is the ordinary
// single-node server.
type Bus struct {
	mu    sync.RWMutex
	nodes map[*Memory]struct{}
}

// NewBus returns an empty Bus.
func NewBus() *Bus { return &Bus{nodes: make(map[*Memory]struct{})} }

// Memory is the in-process broker. Delivery is synchronous and never lost.
type Memory struct {
	bus *Bus

	mu      sync.RWMutex
	rooms   map[string]struct{}
	self    string
	handler Handler
	closed  bool
}

var _ Broker = (*Memory)(nil)

// NewMemory returns a Memory broker on bus; a nil bus gives the node a bus of
// its own (one node, no peers).
func NewMemory(bus *Bus) *Memory {
	if bus == nil {
		bus = NewBus()
	}
	return &Memory{bus: bus, rooms: make(map[string]struct{})}
}

// Name implements Broker.
func (m *Memory) Name() string { return "memory" }

// Start implements Broker.
func (m *Memory) Start(_ context.Context, self string, h Handler) error {
	m.mu.Lock()
	m.self = self
	m.handler = h
	m.mu.Unlock()
	m.bus.mu.Lock()
	m.bus.nodes[m] = struct{}{}
	m.bus.mu.Unlock()
	return nil
}

// Publish implements Broker: it hands m to every other node on the bus that
// has the room subscribed, synchronously.
func (m *Memory) Publish(msg Message) error {
	m.mu.RLock()
	closed := m.closed
	m.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	m.bus.mu.RLock()
	defer m.bus.mu.RUnlock()
	if len(m.bus.nodes) == 1 {
		// Alone on the bus: the hub already delivered locally.
		return nil
	}
	for n := range m.bus.nodes {
		n.mu.RLock()
		_, ok := n.rooms[msg.Room]
		h, own := n.handler, n.self == msg.Origin
		n.mu.RUnlock()
		if ok && h != nil && !own {
			h(msg)
		}
	}
	return nil
}

// Subscribe implements Broker.
func (m *Memory) Subscribe(room string) {
	m.mu.Lock()
	m.rooms[room] = struct{}{}
	m.mu.Unlock()
}

// Unsubscribe implements Broker.
func (m *Memory) Unsubscribe(room string) {
	m.mu.Lock()
	delete(m.rooms, room)
	m.mu.Unlock()
}

// Ready implements Broker: memory is always ready.
func (m *Memory) Ready() error { return nil }

// Close implements Broker.
func (m *Memory) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.bus.mu.Lock()
	delete(m.bus.nodes, m)
	m.bus.mu.Unlock()
	return nil
}
