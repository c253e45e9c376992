package rabbitmq

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/chatbench/chatbench/server/broker"
)

// The guarantee mode (Config.Guarantee), side by side with the at-most-once
// code it replaces in a session:
//
//   - publishing: the session's Publish only appends to the outbox (the
//     retry buffer, shared by the sessions); one sender goroutine per
//     session publishes persistent messages, each with a message id, on a
//     channel in confirm mode, and a confirmation removes the message from
//     the outbox. A new session sends the outbox again from its oldest
//     message; while no session is live, the supervisor hands its batches
//     to the outbox (brokerkit.Outbox).
//   - receiving: a durable queue named after the node (not exclusive, not
//     auto-delete: it outlives the connection and the broker's restart),
//     bounded by x-max-length, x-message-ttl and x-expires; an exclusive
//     consumer (a second node with the same ID is refused) with manual
//     acknowledgements and a bounded prefetch. A message is acknowledged once
//     it was handed to the node's fan-out (its dispatcher lane, waiting for
//     room rather than dropping it) or recognised as a duplicate by its id.

// ackBatch is how many deliveries the consumer may handle before it
// acknowledges them (at once, with multiple=true); it acknowledges earlier
// whenever no further delivery is waiting.
const ackBatch = 64

// guarantee is what the guarantee mode keeps across sessions.
type guarantee struct {
	out   *outbox
	dedup *dedup

	mu    sync.Mutex
	bound map[string]string // rooms the durable queue may still be bound to -> routing key
}

// newGuarantee sets cfg's guarantee defaults and returns the mode's state.
func newGuarantee(cfg *Config) *guarantee {
	if cfg.RetryBuffer <= 0 {
		cfg.RetryBuffer = DefaultRetryBuffer
	}
	// A resend further behind than the receivers' duplicate filter reaches
	// would be dropped there as a duplicate: a silent loss.
	cfg.RetryBuffer = min(cfg.RetryBuffer, dedupWindow)
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = DefaultPrefetch
	}
	if cfg.QueueExpires <= 0 {
		cfg.QueueExpires = DefaultQueueExpires
	}
	if cfg.MessageTTL <= 0 {
		cfg.MessageTTL = DefaultMessageTTL
	}
	var inst [8]byte
	_, _ = rand.Read(inst[:])
	return &guarantee{out: newOutbox(cfg.NodeID+"/"+hex.EncodeToString(inst[:]), cfg.RetryBuffer),
		dedup: newDedup(), bound: map[string]string{}}
}

// durable is the guarantee session's part: its generation in the outbox and
// the goroutines it adds.
type durable struct {
	gen      uint64
	closing  chan struct{} // closed when Close begins
	sent     chan struct{} // closed when the sender returns
	acked    chan struct{} // closed when the confirmation reader returns
	closeOne sync.Once
}

// declareDurable declares the node's durable queue, puts the publishing
// channel in confirm mode and starts consuming with manual acknowledgement.
func (s *session) declareDurable() (<-chan amqp.Delivery, <-chan amqp.Confirmation, error) {
	cfg, q := &s.t.cfg, s.t.queue
	args := amqp.Table{"x-max-length": int64(cfg.QueueMaxLength), "x-overflow": "drop-head",
		"x-expires": cfg.QueueExpires.Milliseconds(), "x-message-ttl": cfg.MessageTTL.Milliseconds()}
	if _, err := s.sub.QueueDeclare(q, true, false, false, false, args); err != nil {
		return nil, nil, fmt.Errorf("declare queue %q: %w (declared before with other arguments? delete it, or use another node ID)", q, err)
	}
	if err := s.pub.Confirm(false); err != nil {
		return nil, nil, fmt.Errorf("confirm mode: %w", err)
	}
	// Room for every confirmation of a full retry buffer: the library's
	// reader waits on this channel, and must never wait long.
	confirms := s.pub.NotifyPublish(make(chan amqp.Confirmation, 4096))
	if err := s.sub.Qos(cfg.Prefetch, 0, false); err != nil {
		return nil, nil, fmt.Errorf("prefetch: %w", err)
	}
	d, err := s.sub.Consume(q, "", false, true, false, false, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("consume %q: %w (is another node running with node ID %q?)", q, err, cfg.NodeID)
	}
	return d, confirms, nil
}

// startDurable starts the session's sender, confirmation reader and
// consumer, and makes it the outbox's sender.
func (s *session) startDurable(deliveries <-chan amqp.Delivery, confirms <-chan amqp.Confirmation) {
	s.d = &durable{closing: make(chan struct{}), sent: make(chan struct{}), acked: make(chan struct{})}
	s.d.gen = s.t.g.out.begin()
	go s.send()
	go s.confirmed(confirms)
	go s.consumeAcked(deliveries)
}

// send publishes what the outbox has not sent on this session, whenever it
// is woken, until the session closes or a newer one took over.
func (s *session) send() {
	defer close(s.d.sent)
	o := s.t.g.out
	buf := make([]entry, 0, 256)
	for {
		select {
		case <-s.d.closing:
			return
		case <-o.kick:
		}
		for {
			var ok bool
			if buf, ok = o.take(s.d.gen, buf[:0]); !ok {
				o.wake() // the wake-up was the newer session's
				return
			}
			if len(buf) == 0 {
				break
			}
			for _, e := range buf {
				err := s.pub.PublishWithContext(context.Background(), s.t.cfg.Exchange, RoutingKey(e.m.Room), false, false, amqp.Publishing{
					Headers:      amqp.Table{headerRoom: e.m.Room, headerOrigin: e.m.Origin},
					DeliveryMode: amqp.Persistent,
					MessageId:    o.messageID(e.seq),
					Body:         e.m.Payload,
				})
				if err != nil {
					// Kept in the outbox: the next session sends it.
					s.sink.Fail(fmt.Errorf("publish: %w", err))
					return
				}
			}
			clear(buf)
		}
	}
}

// confirmed removes each confirmed message from the outbox. A nack (the
// broker could not take a message) ends the session: the next one sends
// everything unconfirmed again, and this one's later confirmations no
// longer line up with the outbox.
func (s *session) confirmed(confirms <-chan amqp.Confirmation) {
	defer close(s.d.acked)
	refused := false
	for c := range confirms {
		switch {
		case refused:
		case c.Ack:
			s.t.g.out.confirm(s.d.gen)
		default:
			refused = true
			s.sink.Fail(fmt.Errorf("the broker refused (nack) message %d: resending what is unconfirmed", c.DeliveryTag))
		}
	}
}

// consumeAcked hands deliveries on, dropping duplicates, and acknowledges
// them in batches.
func (s *session) consumeAcked(deliveries <-chan amqp.Delivery) {
	defer close(s.consumed)
	var last uint64
	pending := 0
	for {
		var d amqp.Delivery
		var ok bool
		select {
		case d, ok = <-deliveries:
		default:
			if pending > 0 { // nothing waiting: acknowledge what was handled
				s.ack(last)
				pending = 0
			}
			d, ok = <-deliveries
		}
		if !ok {
			return
		}
		if !s.receive(&d) {
			// Closing: d and what follows stay unacknowledged, to be
			// delivered again. The library ends deliveries when the
			// connection closes.
			for range deliveries {
			}
			return
		}
		last, pending = d.DeliveryTag, pending+1
		if pending >= ackBatch {
			s.ack(last)
			pending = 0
		}
	}
}

func (s *session) ack(tag uint64) {
	if err := s.sub.Ack(tag, true); err != nil {
		s.sink.Fail(fmt.Errorf("acknowledge: %w", err))
	}
}

// receive hands d on unless it is malformed or a duplicate; it reports
// false when the session closed before d could be handed on.
func (s *session) receive(d *amqp.Delivery) bool {
	room, ok1 := d.Headers[headerRoom].(string)
	origin, ok2 := d.Headers[headerOrigin].(string)
	if !ok1 || !ok2 {
		s.sink.Malformed()
		return true
	}
	pub, seq, hasID := splitID(d.MessageId)
	if hasID && s.t.g.dedup.seen(pub, seq) {
		s.sink.Duplicate()
		return true
	}
	if !s.sink.DeliverWait(broker.Message{Room: room, Origin: origin, Payload: d.Body}, s.d.closing) {
		if hasID {
			s.t.g.dedup.unsee(pub, seq)
		}
		return false
	}
	return true
}

// closeDurable stops the sender and the consumer's wait for a lane, before
// the connection closes.
func (s *session) closeDurable() {
	s.d.closeOne.Do(func() { close(s.d.closing) })
}

// waitDurable waits for the guarantee goroutines after the connection
// closed (which ends the confirmations).
func (s *session) waitDurable() {
	<-s.d.sent
	<-s.d.acked
}

// applyDurable binds and unbinds the durable queue to match want. The queue
// keeps its bindings across connections and broker restarts, so rooms an
// earlier session bound and no longer wanted are unbound too; every wanted
// room is bound again by each new session, in case the queue is new (it
// expired, or the broker lost it).
func (s *session) applyDurable(want map[string]struct{}) error {
	g := s.t.g
	g.mu.Lock()
	defer g.mu.Unlock()
	return s.rebind(want, g.bound)
}
