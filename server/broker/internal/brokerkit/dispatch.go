package brokerkit

import (
	"sync"

	"github.com/chatbench/chatbench/server/broker"
)

// dispatchers hand received messages to the Handler through lanes: one
// goroutine and one bounded queue each, rooms spread over them by a hash of
// their name. A room's messages therefore reach the Handler in the order
// they were received, and a room whose Handler calls are slow delays only
// the rooms of its own lane. The connection reader never waits: a message
// that finds its lane full is dropped and counted.
type dispatchers struct {
	lanes []lane
	m     *Metrics
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

type lane chan broker.Message

func newDispatchers(h broker.Handler, n, size int, m *Metrics) *dispatchers {
	d := &dispatchers{lanes: make([]lane, n), m: m, stop: make(chan struct{})}
	for i := range d.lanes {
		d.lanes[i] = make(lane, size)
		d.wg.Add(1)
		go d.run(d.lanes[i], h)
	}
	return d
}

func (d *dispatchers) run(q lane, h broker.Handler) {
	defer d.wg.Done()
	for {
		select {
		case <-d.stop:
			return
		case msg := <-q:
			h(msg)
		}
	}
}

// LaneOf returns the lane (0 to n-1) that room's messages take among n:
// FNV-1a of the name, so it costs no allocation on the delivery path.
func LaneOf(room string, n int) int {
	h := uint32(2166136261)
	for i := 0; i < len(room); i++ {
		h ^= uint32(room[i])
		h *= 16777619
	}
	return int(h % uint32(n))
}

// deliver queues msg on its room's lane without blocking; it reports false
// (and counts a drop) when the lane is full.
func (d *dispatchers) deliver(msg broker.Message) bool {
	select {
	case d.lanes[LaneOf(msg.Room, len(d.lanes))] <- msg:
		return true
	default:
		d.m.Drop(DropDeliverFull, 1)
		return false
	}
}

// deliverWait queues msg on its room's lane, waiting while it is full,
// until stop or the dispatchers close; it reports whether msg was queued.
func (d *dispatchers) deliverWait(msg broker.Message, stop <-chan struct{}) bool {
	select {
	case d.lanes[LaneOf(msg.Room, len(d.lanes))] <- msg:
		return true
	case <-stop:
		return false
	case <-d.stop:
		return false
	}
}

// close stops every lane; queued messages are discarded. It waits for the
// Handler calls in progress to return.
func (d *dispatchers) close() {
	d.once.Do(func() { close(d.stop) })
	d.wg.Wait()
}
