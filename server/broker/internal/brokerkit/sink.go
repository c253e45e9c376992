package brokerkit

import (
	"sync"
	"time"

	"github.com/chatbench/chatbench/server/broker"
)

// Sink is how a session reports to its supervisor: what it received, and
// that it failed or that the backend refuses messages for now. One Sink
// serves one session, so a closed session's late reports cannot end its
// successor. Its methods are safe for concurrent use and never block.
type Sink struct {
	sup     *Supervisor
	failed  chan failure  // the session's first failure
	changed chan struct{} // blocked changed

	mu      sync.Mutex
	blocked error
}

type failure struct {
	err   error
	since time.Time
}

func newSink(sup *Supervisor) *Sink {
	return &Sink{sup: sup, failed: make(chan failure, 1), changed: make(chan struct{}, 1)}
}

// Own reports whether origin is this node: its messages are not delivered,
// so a transport may skip decoding the rest of one.
func (k *Sink) Own(origin string) bool { return origin == k.sup.self }

// Deliver hands m to the Handler through m.Room's dispatcher lane, unless m
// is the node's own message, which is dropped here, before it takes a place
// in a queue. It reports whether m was accepted (queued, or deliberately
// skipped as the node's own): false means its lane was full and m was
// dropped and counted. A transport with manual acknowledgements acks on
// true.
func (k *Sink) Deliver(m broker.Message) bool {
	if m.Origin == k.sup.self {
		return true
	}
	return k.sup.disp.deliver(m)
}

// DeliverWait is Deliver for a transport that acknowledges what it received
// (RabbitMQ's guarantee mode): when m's lane is full it waits for room
// instead of dropping m, until stop is closed or the broker closes, and then
// reports false (m was not handed on: leave it unacknowledged, to be
// delivered again).
func (k *Sink) DeliverWait(m broker.Message, stop <-chan struct{}) bool {
	if m.Origin == k.sup.self {
		return true
	}
	return k.sup.disp.deliverWait(m, stop)
}

// Duplicate counts a message received again and not handed on.
func (k *Sink) Duplicate() { k.sup.metrics.Duplicate() }

// Malformed counts a received message that could not be decoded.
func (k *Sink) Malformed() {
	k.sup.metrics.Error(OpReceive, 1)
	k.sup.metrics.Drop(DropMalformed, 1)
}

// Fail reports that the session's connections failed: the supervisor marks
// the backend down, closes the session and reconnects. Only the first
// failure counts.
func (k *Sink) Fail(err error) { k.FailSince(err, time.Now()) }

// FailSince is Fail for a failure known to have begun at since (when the
// backend was last heard from).
func (k *Sink) FailSince(err error, since time.Time) {
	select {
	case k.failed <- failure{err, since}:
	default:
	}
}

// Blocked reports that the backend refuses messages for now (reason), or,
// with nil, that it accepts them again. The session stays: Ready reports the
// reason meanwhile and Publish fails fast.
func (k *Sink) Blocked(reason error) {
	k.mu.Lock()
	k.blocked = reason
	k.mu.Unlock()
	select {
	case k.changed <- struct{}{}:
	default:
	}
}

func (k *Sink) blockedReason() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.blocked
}
