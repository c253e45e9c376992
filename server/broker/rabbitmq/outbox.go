package rabbitmq

import (
	"context"
	"strconv"
	"sync"

	"github.com/chatbench/chatbench/server/broker"
)

// outbox is the guarantee mode's retry buffer: every message this node
// publishes, in publish order, from Publish until the broker confirmed it,
// whichever session it was sent on. A session sends the messages it has not
// sent yet; the broker confirms them in the order they were sent on its
// channel (the client library resequences confirmations), so a confirmation
// always confirms the oldest entry. A new session sends everything again
// from the oldest: what the previous one sent but never saw confirmed may or
// may not have reached the queues, and the receivers drop what they already
// have by message id.
//
// It is bounded in messages: past max, new messages are refused (and
// counted), never the ones already in flight, whose confirmations would then
// no longer line up.
type outbox struct {
	inst string // this broker's message id prefix: unique per New
	max  int

	mu    sync.Mutex
	next  uint64  // sequence number of the next message
	q     []entry // [head, head+sent): sent on session gen, unconfirmed; then unsent
	head  int
	sent  int
	gen   uint64 // the session allowed to send and confirm
	kick  chan struct{}
	empty chan struct{} // signalled when the last entry is confirmed
}

type entry struct {
	seq uint64
	m   broker.Message
}

func newOutbox(inst string, max int) *outbox {
	return &outbox{inst: inst, max: max, kick: make(chan struct{}, 1), empty: make(chan struct{}, 1)}
}

// messageID is the id of the message with sequence number seq: the
// broker's prefix and seq, which the receiver's dedup splits again.
func (o *outbox) messageID(seq uint64) string {
	return o.inst + ":" + strconv.FormatUint(seq, 10)
}

// add appends batch, numbering its messages, and wakes the sender; it
// returns how many it refused at its bound.
func (o *outbox) add(batch []broker.Message) (refused int) {
	o.mu.Lock()
	for _, m := range batch {
		if len(o.q)-o.head >= o.max {
			refused++
			continue
		}
		o.q = append(o.q, entry{seq: o.next, m: m})
		o.next++
	}
	o.mu.Unlock()
	o.wake()
	return refused
}

// Hold implements brokerkit.Outbox: while no session is live, messages only
// wait.
func (o *outbox) Hold(batch []broker.Message) int { return o.add(batch) }

// Abandon implements brokerkit.Outbox.
func (o *outbox) Abandon() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := len(o.q) - o.head
	o.q, o.head, o.sent = nil, 0, 0
	return n
}

func (o *outbox) wake() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// begin makes the caller's session the one that sends and confirms, from
// the oldest unconfirmed message, and returns its generation.
func (o *outbox) begin() uint64 {
	o.mu.Lock()
	o.gen++
	o.sent = 0
	gen := o.gen
	o.mu.Unlock()
	o.wake()
	return gen
}

// take appends to buf up to cap(buf) messages that session gen has not sent
// yet, marking them sent; ok is false when gen is no longer the current
// session.
func (o *outbox) take(gen uint64, buf []entry) (out []entry, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if gen != o.gen {
		return buf, false
	}
	from := o.head + o.sent
	n := min(len(o.q)-from, cap(buf)-len(buf))
	buf = append(buf, o.q[from:from+n]...)
	o.sent += n
	return buf, true
}

// confirm removes the oldest message that session gen sent: the broker
// confirmed it. A stale session's confirmations change nothing.
func (o *outbox) confirm(gen uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if gen != o.gen || o.sent == 0 {
		return
	}
	o.q[o.head] = entry{} // let the payload go
	o.head++
	o.sent--
	switch {
	case o.head == len(o.q):
		o.q, o.head = o.q[:0], 0
		select {
		case o.empty <- struct{}{}:
		default:
		}
	case o.head >= 4096 && o.head*2 >= len(o.q):
		n := copy(o.q, o.q[o.head:])
		clear(o.q[n:])
		o.q, o.head = o.q[:n], 0
	}
}

// Flush implements brokerkit.Outbox.
func (o *outbox) Flush(ctx context.Context) {
	for o.Pending() > 0 {
		select {
		case <-o.empty:
		case <-ctx.Done():
			return
		}
	}
}

// Pending implements brokerkit.Outbox: how many messages are not confirmed
// yet.
func (o *outbox) Pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.q) - o.head
}
