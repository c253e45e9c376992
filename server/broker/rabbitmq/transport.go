package rabbitmq

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/internal/brokerkit"
)

// transport is the AMQP side of the broker. Sessions share nothing but the
// node's queue name.
type transport struct {
	cfg   Config
	queue string     // this node's queue
	g     *guarantee // the guarantee mode's state; nil: at most once
}

// Close implements brokerkit.Transport.
func (t *transport) Close() error { return nil }

// session is one AMQP connection with a publishing, a consuming and a
// health-check channel.
type session struct {
	t        *transport
	sink     *brokerkit.Sink
	conn     *amqp.Connection
	pub, sub *amqp.Channel
	probe    *amqp.Channel     // the health check's: see Check
	bound    map[string]string // room -> routing key
	consumed chan struct{}     // closed when the deliveries channel ends
	watched  chan struct{}     // closed when watch returns
	calls    sync.WaitGroup    // RPCs still waiting for the server
	sock     *liveConn         // the connection's socket
	probing  atomic.Bool       // a health check's passive declare awaits its answer
	d        *durable          // the guarantee mode's part; nil: at most once
}

// Dial implements brokerkit.Transport: it connects, opens the channels,
// declares the exchange and the node's queue and starts consuming, all
// within ctx; bindings are Apply's.
func (t *transport) Dial(ctx context.Context, sink *brokerkit.Sink) (brokerkit.Session, error) {
	conn, sock, err := t.connect(ctx)
	if err != nil {
		return nil, err
	}
	s := &session{t: t, sink: sink, conn: conn, sock: sock, bound: map[string]string{},
		consumed: make(chan struct{}), watched: make(chan struct{})}
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	blocked := conn.NotifyBlocked(make(chan amqp.Blocking, 4))
	var deliveries <-chan amqp.Delivery
	var confirms <-chan amqp.Confirmation
	err = s.call(ctx, func() (err error) {
		deliveries, confirms, err = s.declare()
		return err
	})
	if err != nil {
		s.closeConn()
		s.calls.Wait()
		return nil, err
	}
	if t.g != nil {
		s.startDurable(deliveries, confirms)
	} else {
		go s.consume(deliveries)
	}
	go s.watch(connClosed, blocked)
	return s, nil
}

// connect dials with the TCP connection and the AMQP handshake bounded by
// ctx.
func (t *transport) connect(ctx context.Context) (*amqp.Connection, *liveConn, error) {
	timeout := time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), 10*time.Millisecond)
	}
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName("chatbench-" + t.cfg.NodeID)
	var sock *liveConn
	conn, err := amqp.DialConfig(t.cfg.URL, amqp.Config{
		Heartbeat:  t.cfg.Heartbeat,
		Properties: props,
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: timeout}
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// Bound the AMQP handshake too; cleared once it is done.
			_ = c.SetDeadline(time.Now().Add(timeout))
			sock = &liveConn{Conn: c}
			return sock, nil
		},
	})
	return conn, sock, err
}

// declare opens the channels, declares the exchange and the queue, and
// starts consuming; the confirmations are the guarantee mode's (nil
// otherwise).
func (s *session) declare() (<-chan amqp.Delivery, <-chan amqp.Confirmation, error) {
	var err error
	if s.pub, err = s.conn.Channel(); err != nil {
		return nil, nil, err
	}
	if s.sub, err = s.conn.Channel(); err != nil {
		return nil, nil, err
	}
	if s.probe, err = s.conn.Channel(); err != nil {
		return nil, nil, err
	}
	ex, q := s.t.cfg.Exchange, s.t.queue
	if err = s.sub.ExchangeDeclare(ex, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return nil, nil, fmt.Errorf("declare exchange %q: %w", ex, err)
	}
	if s.t.g != nil {
		return s.declareDurable()
	}
	args := amqp.Table{"x-max-length": int64(s.t.cfg.QueueMaxLength), "x-overflow": "drop-head"}
	if _, err = s.sub.QueueDeclare(q, false, true, true, false, args); err != nil {
		return nil, nil, fmt.Errorf("declare queue %q: %w", q, err)
	}
	d, err := s.sub.Consume(q, "", true, true, false, false, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("consume %q: %w", q, err)
	}
	return d, nil, nil
}

// call runs f, AMQP calls that take no context, and returns its error or,
// if ctx ends first, ctx's: f then runs on until the connection closes,
// which Close waits for.
func (s *session) call(ctx context.Context, f func() error) error {
	done := make(chan error, 1)
	s.calls.Add(1)
	go func() {
		defer s.calls.Done()
		done <- f()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer from the server: %w", ctx.Err())
	}
}

// consume hands deliveries to the sink without waiting.
func (s *session) consume(deliveries <-chan amqp.Delivery) {
	defer close(s.consumed)
	for d := range deliveries {
		room, ok1 := d.Headers[headerRoom].(string)
		origin, ok2 := d.Headers[headerOrigin].(string)
		if !ok1 || !ok2 {
			s.sink.Malformed()
			continue
		}
		s.sink.Deliver(broker.Message{Room: room, Origin: origin, Payload: d.Body})
	}
}

// watch turns the connection's notifications into sink reports until the
// connection closes. It keeps reading them to the end: the client library
// blocks on a notification nobody reads.
func (s *session) watch(connClosed <-chan *amqp.Error, blocked <-chan amqp.Blocking) {
	defer close(s.watched)
	pubClosed := s.pub.NotifyClose(make(chan *amqp.Error, 1))
	subClosed := s.sub.NotifyClose(make(chan *amqp.Error, 1))
	probeClosed := s.probe.NotifyClose(make(chan *amqp.Error, 1))
	consumed := s.consumed
	for {
		select {
		case e := <-connClosed:
			s.sink.FailSince(closeErr("connection", e), s.sock.live.Last())
			return
		case e := <-pubClosed:
			s.sink.Fail(closeErr("publishing channel", e))
			pubClosed = nil
		case e := <-subClosed:
			s.sink.Fail(closeErr("consuming channel", e))
			subClosed = nil
		case e := <-probeClosed:
			s.sink.Fail(closeErr("health-check channel", e))
			probeClosed = nil
		case <-consumed:
			s.sink.Fail(errors.New("consumer cancelled by the server"))
			consumed = nil
		case bl, ok := <-blocked:
			switch {
			case !ok:
				blocked = nil
			case bl.Active:
				s.sink.Blocked(errors.New(bl.Reason))
			default:
				s.sink.Blocked(nil)
			}
		}
	}
}

func closeErr(what string, e *amqp.Error) error {
	if e == nil {
		return fmt.Errorf("%s closed", what)
	}
	return fmt.Errorf("%s closed: %w", what, e)
}

func (s *session) closeConn() {
	_ = s.conn.CloseDeadline(time.Now().Add(time.Second))
}

// Close implements brokerkit.Session.
func (s *session) Close() {
	if s.d != nil {
		s.closeDurable()
	}
	s.closeConn()
	<-s.consumed
	<-s.watched
	if s.d != nil {
		s.waitDurable()
	}
	s.calls.Wait()
}

// Check implements brokerkit.Session: a passive declare of the node's queue
// asks the server for an answer, and the server must send something within
// ctx: that answer, a delivery, or a heartbeat (about every half Heartbeat,
// even while the server throttles this node's publishing and the declare
// waits behind the node's own publishes). A frozen server sends nothing. A
// declare still unanswered is not asked again.
func (s *session) Check(ctx context.Context) error {
	start := time.Now()
	if !s.probing.Swap(true) {
		s.calls.Add(1)
		go func() {
			defer s.calls.Done()
			// On a channel of its own: the library cannot tell two
			// waiting calls' replies apart (the consuming channel has
			// Apply's), and a method sent on the publishing channel may
			// land between a publish's frames, which the server refuses
			// (UNEXPECTED_FRAME) by closing the connection. A failure
			// closes the channel, which watch reports.
			durable := s.t.g != nil
			_, _ = s.probe.QueueDeclarePassive(s.t.queue, durable, !durable, !durable, false, nil)
			s.probing.Store(false)
		}()
	}
	return s.sock.live.HeardSince(ctx, start)
}

// Apply implements brokerkit.Session: it binds and unbinds the node's queue
// to match want, unbinding first.
func (s *session) Apply(ctx context.Context, want map[string]struct{}) error {
	return s.call(ctx, func() error {
		if s.t.g != nil {
			return s.applyDurable(want)
		}
		return s.rebind(want, s.bound)
	})
}

// rebind unbinds the rooms of bound that want lacks and binds the rooms of
// want this session has not bound, recording each change in s.bound and in
// bound (s.bound itself, or the durable queue's bindings, which outlive a
// session).
func (s *session) rebind(want map[string]struct{}, bound map[string]string) error {
	ex, q := s.t.cfg.Exchange, s.t.queue
	for room, key := range bound {
		if _, ok := want[room]; ok {
			continue
		}
		if err := s.sub.QueueUnbind(q, key, ex, nil); err != nil {
			return &brokerkit.OpError{Op: brokerkit.OpUnsubscribe, Err: fmt.Errorf("unbind room %q: %w", room, err)}
		}
		delete(bound, room)
		delete(s.bound, room)
	}
	for room := range want {
		if _, ok := s.bound[room]; ok {
			continue
		}
		key := RoutingKey(room)
		if err := s.sub.QueueBind(q, key, ex, false, nil); err != nil {
			return &brokerkit.OpError{Op: brokerkit.OpSubscribe, Err: fmt.Errorf("bind room %q: %w", room, err)}
		}
		s.bound[room], bound[room] = key, key
	}
	return nil
}

// Publish implements brokerkit.Session: one basic.publish per message on the
// publishing channel, without publisher confirms; in the guarantee mode the
// batch goes to the outbox, which the session's sender drains.
func (s *session) Publish(ctx context.Context, batch []broker.Message) (int, error) {
	if s.d != nil {
		if refused := s.t.g.out.add(batch); refused > 0 {
			return refused, brokerkit.ErrRetryFull
		}
		return 0, nil
	}
	failed := 0
	var first error
	for _, m := range batch {
		err := s.pub.PublishWithContext(ctx, s.t.cfg.Exchange, RoutingKey(m.Room), false, false, amqp.Publishing{
			Headers:      amqp.Table{headerRoom: m.Room, headerOrigin: m.Origin},
			DeliveryMode: amqp.Transient,
			Body:         m.Payload,
		})
		if err != nil {
			failed++
			first = cmp.Or(first, err)
		}
	}
	return failed, first
}
