// Package rabbitmq carries chat messages between serve nodes through a
// RabbitMQ topic exchange.
//
// Every node publishes each message once to the exchange (default
// "chatbench") with the room, encoded, as routing key, and consumes from ONE
// exclusive, auto-delete queue of its own, bound to the exchange once per
// room that has local members: bound when the first member joins, unbound when
// the last one leaves. Room names are base64url-encoded into routing keys, so
// '.', '*' and '#' in a room name never act as topic separators or wildcards.
//
// Delivery is at most once: the consumer uses automatic acknowledgement and
// publishing uses no publisher confirms, so a message in flight when a
// connection drops is lost (counted where the loss is seen). The node's queue
// is bounded (QueueMaxLength, dropping the oldest) so a stalled node cannot
// fill the broker's memory. On connection loss the broker reconnects with
// backoff forever and re-declares the exchange, its queue and every binding.
//
// Construct with New, then Start:
//
//	b, err := rabbitmq.New(rabbitmq.Config{
//		URL:        "amqp://guest:guest@127.0.0.1:5672/",
//		NodeID:     nodeID,
//		Registerer: prometheus.DefaultRegisterer, // or nil
//		Logger:     logger,
//	})
//	err = b.Start(ctx, handler)
package rabbitmq

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/internal/brokerkit"
)

// Defaults of Config.
const (
	DefaultURL            = "amqp://guest:guest@127.0.0.1:5672/"
	DefaultExchange       = "chatbench"
	DefaultStartTimeout   = 3 * time.Second
	DefaultPublishQueue   = 8192
	DefaultDeliverQueue   = 8192
	DefaultQueueMaxLength = 100000
	DefaultReconnectMin   = 100 * time.Millisecond
	DefaultReconnectMax   = 5 * time.Second
	DefaultHeartbeat      = 5 * time.Second
	opTimeout             = 3 * time.Second
	closeFlushTimeout     = time.Second
	headerRoom            = "room"
	headerOrigin          = "origin"
	maxRoutingKey         = 255
)

// Config configures a RabbitMQ broker. The zero value is a working
// configuration for a local RabbitMQ.
type Config struct {
	// URL of the RabbitMQ server (default amqp://guest:guest@127.0.0.1:5672/;
	// amqps:// for TLS; the path is the vhost).
	URL string
	// Exchange is the topic exchange shared by all nodes (default
	// "chatbench"; declared durable, not auto-delete). Tests use a unique
	// name to isolate themselves on a shared server.
	Exchange string
	// NodeID names this node's queue and connection (optional; a random
	// suffix keeps queue names unique).
	NodeID string
	// Registerer receives the broker's metrics
	// (chatbench_backend_*{backend="rabbitmq"}); nil registers nothing.
	Registerer prometheus.Registerer
	// Logger gets connection loss and recovery at Warn/Info; nil discards.
	Logger *slog.Logger
	// StartTimeout bounds Start's first connection (default 3 s).
	StartTimeout time.Duration
	// PublishQueue is the number of messages Publish may queue before it
	// returns an error (default 8192); one goroutine publishes them.
	PublishQueue int
	// DeliverQueue is the number of received messages that may wait for the
	// Handler (default 8192); past it messages are dropped and counted.
	DeliverQueue int
	// QueueMaxLength bounds the node's queue on the server (x-max-length,
	// overflow drop-head; default 100000).
	QueueMaxLength int
	// ReconnectMin and ReconnectMax bound the reconnect backoff (defaults
	// 100 ms and 5 s; exponential with jitter).
	ReconnectMin, ReconnectMax time.Duration
	// Heartbeat is the AMQP heartbeat interval: a silent server is declared
	// lost after about two of them (default 5 s).
	Heartbeat time.Duration
}

func (c *Config) setDefaults() {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.Exchange == "" {
		c.Exchange = DefaultExchange
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.PublishQueue <= 0 {
		c.PublishQueue = DefaultPublishQueue
	}
	if c.DeliverQueue <= 0 {
		c.DeliverQueue = DefaultDeliverQueue
	}
	if c.QueueMaxLength <= 0 {
		c.QueueMaxLength = DefaultQueueMaxLength
	}
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = DefaultReconnectMin
	}
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = max(DefaultReconnectMax, c.ReconnectMin)
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Stats is a snapshot of the broker's counters (the values behind its metrics).
type Stats = brokerkit.Stats

// ErrQueueFull is returned by Publish when the publish queue is full.
var ErrQueueFull = errors.New("rabbitmq: publish queue full")

// Broker is the RabbitMQ broker. Create it with New.
type Broker struct {
	cfg     Config
	where   string // redacted URL
	queue   string // this node's queue name
	metrics *brokerkit.Metrics
	rooms   *brokerkit.Rooms
	pubq    chan pubItem

	started   atomic.Bool
	closed    atomic.Bool
	closeOnce sync.Once
	closing   chan struct{}  // Close began: the publisher flushes and stops
	stopSub   chan struct{}  // the publisher is done: the subscriber closes the connection
	wg        sync.WaitGroup // the subscriber
	pubDone   chan struct{}  // closed by the publisher
	running   atomic.Bool    // Start succeeded: publisher and subscriber run
	disp      *brokerkit.Dispatcher

	pubCh atomic.Pointer[amqp.Channel] // the live session's publishing channel
	ready atomic.Pointer[error]        // nil: ready
}

var _ broker.Broker = (*Broker)(nil)

type pubItem struct {
	key string
	p   amqp.Publishing
}

// New validates cfg, registers the metrics and returns a broker that is not
// connected yet; Start connects.
func New(cfg Config) (*Broker, error) {
	cfg.setDefaults()
	if _, err := amqp.ParseURI(cfg.URL); err != nil {
		return nil, fmt.Errorf("rabbitmq: bad URL %q: %w", brokerkit.Redact(cfg.URL), err)
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	id := cfg.NodeID
	if id == "" {
		id = "node"
	}
	b := &Broker{cfg: cfg, where: brokerkit.Redact(cfg.URL),
		queue:   fmt.Sprintf("%s.%s.%s", cfg.Exchange, id, hex.EncodeToString(suffix[:])),
		metrics: brokerkit.NewMetrics("rabbitmq"), rooms: brokerkit.NewRooms(),
		pubq: make(chan pubItem, cfg.PublishQueue), closing: make(chan struct{}), stopSub: make(chan struct{}), pubDone: make(chan struct{})}
	if err := b.metrics.Register(cfg.Registerer); err != nil {
		return nil, fmt.Errorf("rabbitmq: registering metrics: %w", err)
	}
	notStarted := errors.New("rabbitmq: not started")
	b.ready.Store(&notStarted)
	return b, nil
}

// RoutingKey is the routing key of room: "r" + base64url(room), or, for
// rooms too long for AMQP's 255-byte keys, "h" + hex(sha256(room)). Neither
// form contains '.', '*' or '#'.
func RoutingKey(room string) string {
	if base64.RawURLEncoding.EncodedLen(len(room))+1 <= maxRoutingKey {
		return "r" + base64.RawURLEncoding.EncodeToString([]byte(room))
	}
	sum := sha256.Sum256([]byte(room))
	return "h" + hex.EncodeToString(sum[:])
}

// Name implements broker.Broker.
func (b *Broker) Name() string { return "rabbitmq" }

// Stats returns the broker's counters.
func (b *Broker) Stats() Stats { return b.metrics.Snapshot() }

// Collector returns the broker's metrics, for registering them elsewhere
// than Config.Registerer.
func (b *Broker) Collector() prometheus.Collector { return b.metrics }

// Start implements broker.Broker: it connects (bounded by StartTimeout and
// ctx), declares the exchange and the node's queue, binds the rooms wanted so
// far, and from then on reconnects by itself until Close. The error names the
// URL, the cause and how to start RabbitMQ.
func (b *Broker) Start(ctx context.Context, h broker.Handler) error {
	if b.closed.Load() {
		return broker.ErrClosed
	}
	if !b.started.CompareAndSwap(false, true) {
		return errors.New("rabbitmq: Start called twice")
	}
	sctx, cancel := context.WithTimeout(ctx, b.cfg.StartTimeout)
	defer cancel()
	b.disp = brokerkit.NewDispatcher(h, b.cfg.DeliverQueue, b.metrics)
	s, err := b.connect(sctx)
	if err != nil {
		b.disp.Close()
		b.metrics.Error(brokerkit.OpConnect, 1)
		err = fmt.Errorf("rabbitmq: cannot reach %s: %w; start it with `rabbitmq-server` (tests: scripts/services.sh start)", b.where, err)
		b.ready.Store(&err)
		return err
	}
	if err := s.reconcile(); err != nil {
		s.close()
		b.disp.Close()
		err = fmt.Errorf("rabbitmq: binding rooms on %s: %w", b.where, err)
		b.ready.Store(&err)
		return err
	}
	b.setUp(s)
	b.wg.Add(1)
	b.running.Store(true)
	go b.publisher()
	go b.subscriber(s)
	return nil
}

// Ready implements broker.Broker.
func (b *Broker) Ready() error {
	if b.closed.Load() {
		return broker.ErrClosed
	}
	if p := b.ready.Load(); p != nil {
		return *p
	}
	return nil
}

func (b *Broker) setUp(s *session) {
	b.pubCh.Store(s.pub)
	b.ready.Store(nil)
	b.metrics.SetUp(true)
}

func (b *Broker) setDown(cause error) {
	b.pubCh.Store(nil)
	err := fmt.Errorf("rabbitmq: not connected to %s: %w (reconnecting)", b.where, cause)
	b.ready.Store(&err)
	b.metrics.SetUp(false)
}

// Subscribe implements broker.Broker; it never blocks.
func (b *Broker) Subscribe(room string) { b.rooms.Add(room) }

// Unsubscribe implements broker.Broker; it never blocks.
func (b *Broker) Unsubscribe(room string) { b.rooms.Remove(room) }

// Publish implements broker.Broker: it queues the message and returns; it
// fails at once, counting the loss, when the broker is closed, not
// connected, or its queue is full.
func (b *Broker) Publish(_ context.Context, m broker.Message) error {
	if b.closed.Load() {
		return broker.ErrClosed
	}
	if err := b.Ready(); err != nil {
		b.metrics.Error(brokerkit.OpPublish, 1)
		b.metrics.Drop(brokerkit.DropDown, 1)
		return err
	}
	p := pubItem{key: RoutingKey(m.Room), p: amqp.Publishing{
		Headers:      amqp.Table{headerRoom: m.Room, headerOrigin: m.Origin},
		DeliveryMode: amqp.Transient,
		Body:         m.Payload,
	}}
	select {
	case b.pubq <- p:
		return nil
	default:
		b.metrics.Error(brokerkit.OpPublish, 1)
		b.metrics.Drop(brokerkit.DropQueueFull, 1)
		return ErrQueueFull
	}
}

// Close implements broker.Broker. Messages already queued get up to a second
// to be published.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		close(b.closing)
		if b.running.Load() {
			<-b.pubDone
		}
		close(b.stopSub)
		b.wg.Wait()
		if b.disp != nil {
			b.disp.Close()
		}
		b.metrics.SetUp(false)
	})
	return nil
}

// publisher publishes queued messages on the live session's channel, without
// publisher confirms. While there is no session, queued messages are dropped
// and counted.
func (b *Broker) publisher() {
	defer close(b.pubDone)
	for {
		select {
		case <-b.closing:
			deadline := time.Now().Add(closeFlushTimeout)
			for time.Now().Before(deadline) {
				select {
				case p := <-b.pubq:
					b.publish(p)
					continue
				default:
				}
				break
			}
			return
		case p := <-b.pubq:
			b.publish(p)
		}
	}
}

func (b *Broker) publish(it pubItem) {
	ch := b.pubCh.Load()
	if ch == nil {
		b.metrics.Error(brokerkit.OpPublish, 1)
		b.metrics.Drop(brokerkit.DropDown, 1)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	err := ch.PublishWithContext(ctx, b.cfg.Exchange, it.key, false, false, it.p)
	cancel()
	if err != nil {
		b.metrics.Error(brokerkit.OpPublish, 1)
		b.metrics.Drop(brokerkit.DropPublishError, 1)
	}
}

// session is one AMQP connection with a publishing and a consuming channel.
type session struct {
	b          *Broker
	conn       *amqp.Connection
	pub, sub   *amqp.Channel
	deliveries <-chan amqp.Delivery
	bound      map[string]string // room -> routing key
	connClosed chan *amqp.Error
	pubClosed  chan *amqp.Error
	subClosed  chan *amqp.Error
	blocked    chan amqp.Blocking
	consumed   chan struct{} // closed when the deliveries channel ends
}

// connect dials, opens the channels, declares the exchange and the queue and
// starts consuming; bindings are made by reconcile.
func (b *Broker) connect(ctx context.Context) (s *session, err error) {
	timeout := opTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), 10*time.Millisecond)
	}
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName("chatbench-" + b.cfg.NodeID)
	conn, err := amqp.DialConfig(b.cfg.URL, amqp.Config{
		Heartbeat:  b.cfg.Heartbeat,
		Properties: props,
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: timeout}
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// Bound the AMQP handshake too; cleared once it is done.
			_ = c.SetDeadline(time.Now().Add(timeout))
			return c, nil
		},
	})
	if err != nil {
		return nil, err
	}
	s = &session{b: b, conn: conn, bound: map[string]string{}, consumed: make(chan struct{})}
	defer func() {
		if err != nil {
			_ = conn.CloseDeadline(time.Now().Add(time.Second))
		}
	}()
	s.connClosed = conn.NotifyClose(make(chan *amqp.Error, 1))
	s.blocked = conn.NotifyBlocked(make(chan amqp.Blocking, 4))
	if s.pub, err = conn.Channel(); err != nil {
		return nil, err
	}
	if s.sub, err = conn.Channel(); err != nil {
		return nil, err
	}
	s.pubClosed = s.pub.NotifyClose(make(chan *amqp.Error, 1))
	s.subClosed = s.sub.NotifyClose(make(chan *amqp.Error, 1))
	if err = s.sub.ExchangeDeclare(b.cfg.Exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return nil, fmt.Errorf("declare exchange %q: %w", b.cfg.Exchange, err)
	}
	args := amqp.Table{"x-max-length": int64(b.cfg.QueueMaxLength), "x-overflow": "drop-head"}
	if _, err = s.sub.QueueDeclare(b.queue, false, true, true, false, args); err != nil {
		return nil, fmt.Errorf("declare queue %q: %w", b.queue, err)
	}
	if s.deliveries, err = s.sub.Consume(b.queue, "", true, true, false, false, nil); err != nil {
		return nil, fmt.Errorf("consume %q: %w", b.queue, err)
	}
	go s.consume() // ends when the connection closes; s.close waits for it
	return s, nil
}

// consume hands deliveries to the dispatcher without waiting.
func (s *session) consume() {
	defer close(s.consumed)
	b := s.b
	for d := range s.deliveries {
		room, ok1 := d.Headers[headerRoom].(string)
		origin, ok2 := d.Headers[headerOrigin].(string)
		if !ok1 || !ok2 {
			b.metrics.Error(brokerkit.OpReceive, 1)
			b.metrics.Drop(brokerkit.DropMalformed, 1)
			continue
		}
		b.disp.Deliver(broker.Message{Room: room, Origin: origin, Payload: d.Body})
	}
}

func (s *session) close() {
	_ = s.conn.CloseDeadline(time.Now().Add(time.Second))
	<-s.consumed
}

// reconcile binds and unbinds the node's queue to match the wanted rooms:
// unbinds first, then binds.
func (s *session) reconcile() error {
	b := s.b
	want := b.rooms.Snapshot()
	for room, key := range s.bound {
		if _, ok := want[room]; ok {
			continue
		}
		if err := s.sub.QueueUnbind(b.queue, key, b.cfg.Exchange, nil); err != nil {
			b.metrics.Error(brokerkit.OpUnsubscribe, 1)
			return fmt.Errorf("unbind room %q: %w", room, err)
		}
		delete(s.bound, room)
	}
	for room := range want {
		if _, ok := s.bound[room]; ok {
			continue
		}
		key := RoutingKey(room)
		if err := s.sub.QueueBind(b.queue, key, b.cfg.Exchange, false, nil); err != nil {
			b.metrics.Error(brokerkit.OpSubscribe, 1)
			return fmt.Errorf("bind room %q: %w", room, err)
		}
		s.bound[room] = key
	}
	return nil
}

// subscriber watches the session, applies room changes, and on loss
// reconnects with backoff forever, re-declaring everything, until Close.
func (b *Broker) subscriber(s *session) {
	defer b.wg.Done()
	for {
		err := b.serve(s)
		b.pubCh.Store(nil)
		s.close()
		if b.closed.Load() {
			return
		}
		b.metrics.Error(brokerkit.OpReceive, 1)
		b.setDown(err)
		b.cfg.Logger.Warn("rabbitmq: connection lost, reconnecting", "where", b.where, "err", err)
		for attempt := 0; ; attempt++ {
			select {
			case <-b.stopSub:
				return
			case <-time.After(brokerkit.Backoff(attempt, b.cfg.ReconnectMin, b.cfg.ReconnectMax)):
			}
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			s, err = b.connect(ctx)
			cancel()
			if err == nil {
				if err = s.reconcile(); err == nil {
					break
				}
				s.close()
			}
			b.metrics.Error(brokerkit.OpConnect, 1)
			b.setDown(err)
		}
		b.metrics.Reconnected()
		b.setUp(s)
		b.cfg.Logger.Info("rabbitmq: reconnected", "where", b.where)
	}
}

// serve runs one session until it fails (returning why) or the broker closes
// (returning nil).
func (b *Broker) serve(s *session) error {
	for {
		select {
		case <-b.stopSub:
			return nil
		case e := <-s.connClosed:
			return closeErr("connection", e)
		case e := <-s.pubClosed:
			return closeErr("publishing channel", e)
		case e := <-s.subClosed:
			return closeErr("consuming channel", e)
		case <-s.consumed:
			return errors.New("consumer cancelled by the server")
		case bl := <-s.blocked:
			if bl.Active {
				err := fmt.Errorf("rabbitmq: %s blocked publishing: %s", b.where, bl.Reason)
				b.ready.Store(&err)
				b.metrics.SetUp(false)
			} else {
				b.setUp(s)
			}
		case <-b.rooms.Changed():
			if err := s.reconcile(); err != nil {
				return err
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
