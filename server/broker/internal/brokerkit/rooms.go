package brokerkit

import "sync"

// Rooms is the set of rooms a node wants subscribed. Subscribe and
// Unsubscribe only record the change and wake the applier (Changed), so they
// never block; the applier reconciles the backend with Snapshot. Applying the
// final set is equivalent to applying every change in call order.
type Rooms struct {
	mu      sync.Mutex
	want    map[string]struct{}
	changed chan struct{}
}

// NewRooms returns an empty set.
func NewRooms() *Rooms {
	return &Rooms{want: make(map[string]struct{}), changed: make(chan struct{}, 1)}
}

// Add records that room is wanted.
func (r *Rooms) Add(room string) {
	r.mu.Lock()
	r.want[room] = struct{}{}
	r.mu.Unlock()
	r.notify()
}

// Remove records that room is no longer wanted.
func (r *Rooms) Remove(room string) {
	r.mu.Lock()
	delete(r.want, room)
	r.mu.Unlock()
	r.notify()
}

func (r *Rooms) notify() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// Changed is signalled (coalesced) after every Add or Remove.
func (r *Rooms) Changed() <-chan struct{} { return r.changed }

// Snapshot returns a copy of the wanted set.
func (r *Rooms) Snapshot() map[string]struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]struct{}, len(r.want))
	for k := range r.want {
		out[k] = struct{}{}
	}
	return out
}
