package brokerkit

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatbench/chatbench/server/broker"
)

// Timeouts of the supervisor's own operations.
const (
	opTimeout         = 3 * time.Second // a reconnect attempt, Apply, one published batch
	closeFlushTimeout = time.Second     // Close publishes what is queued for this long
	maxBatch          = 512             // messages per Session.Publish
)

// Config describes the backend a Supervisor runs.
type Config struct {
	// Backend is the broker's name: the metrics' backend label and the
	// prefix of its errors ("redis", "rabbitmq").
	Backend string
	// Where names the backend (a redacted URL) in errors and logs.
	Where string
	// StartHint says how to start the backend; Start's error ends with it.
	StartHint string
	// Lifecycle tunes queues, reconnects and health checks.
	Lifecycle broker.Lifecycle
	// Registerer receives the metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Logger gets connection loss and recovery at Warn and Info; nil
	// discards.
	Logger *slog.Logger
	// Outbox, when set, keeps messages while the backend is away and until
	// it confirmed them (see Outbox); nil: at most once.
	Outbox Outbox
	// HandlerMayWait is set by a transport whose sessions hand messages on
	// with Sink.DeliverWait and acknowledge them only then (see
	// broker.Waiter).
	HandlerMayWait bool
}

// Supervisor is a broker.Broker built on a Transport. A backend's Broker
// embeds it and adds only its Config and its Transport.
type Supervisor struct {
	cfg     Config
	life    broker.Lifecycle // cfg.Lifecycle with defaults
	t       Transport
	metrics *Metrics
	rooms   *Rooms
	pubq    chan broker.Message
	ready   atomic.Pointer[error] // nil: ready
	live    atomic.Pointer[live]  // the session publishing goes to; nil while down
	closed  atomic.Bool
	holding atomic.Bool // started with an Outbox: Publish queues while down

	mu      sync.Mutex // orders Start and Close
	started bool
	running bool // Start succeeded: the publisher and the loop run
	self    string
	disp    *dispatchers

	ctx      context.Context // cancelled by Close: ends the loop
	cancel   context.CancelFunc
	flush    chan struct{} // closed by Close: the publisher flushes and ends
	pubDone  chan struct{}
	loopDone chan struct{}
	once     sync.Once
}

type live struct{ sess Session }

var (
	_ broker.Broker = (*Supervisor)(nil)
	_ broker.Waiter = (*Supervisor)(nil)
)

// New registers the metrics and returns a supervisor that is not connected
// yet; Start connects. On error the caller still owns t.
func New(cfg Config, t Transport) (*Supervisor, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Supervisor{cfg: cfg, life: cfg.Lifecycle.WithDefaults(), t: t,
		metrics: newMetrics(cfg.Backend, cfg.Outbox != nil), rooms: NewRooms(),
		flush: make(chan struct{}), pubDone: make(chan struct{}), loopDone: make(chan struct{})}
	if cfg.Outbox != nil {
		s.metrics.buffered = cfg.Outbox.Pending
	}
	s.pubq = make(chan broker.Message, s.life.PublishQueue)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.metrics.Register(cfg.Registerer); err != nil {
		return nil, errors.New(cfg.Backend + ": registering metrics: " + err.Error())
	}
	s.setNotReady(&NotReadyError{Backend: cfg.Backend, State: "not started"})
	return s, nil
}

// HandlerMayWait implements broker.Waiter.
func (s *Supervisor) HandlerMayWait() bool { return s.cfg.HandlerMayWait }

// Name implements broker.Broker.
func (s *Supervisor) Name() string { return s.cfg.Backend }

// Stats returns the broker's counters (the values behind its metrics).
func (s *Supervisor) Stats() Stats { return s.metrics.Snapshot() }

// Collector returns the broker's metrics, for registering them elsewhere
// than Config.Registerer.
func (s *Supervisor) Collector() prometheus.Collector { return s.metrics }

// Start implements broker.Broker: it connects within StartTimeout and ctx,
// subscribes the rooms wanted so far, and from then on reconnects by itself
// until Close. The error names the backend, the cause and how to start it.
func (s *Supervisor) Start(ctx context.Context, self string, h broker.Handler) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return broker.ErrClosed
	}
	if s.started {
		return errors.New(s.cfg.Backend + ": Start called twice")
	}
	s.started, s.self = true, self
	s.disp = newDispatchers(h, s.life.Dispatchers, s.life.DeliverQueue, s.metrics)
	sctx, cancel := context.WithTimeout(ctx, s.life.StartTimeout)
	defer cancel()
	sess, sink, err := s.connect(sctx)
	if err != nil {
		s.disp.close()
		s.metrics.Error(OpConnect, 1)
		nr := &NotReadyError{Backend: s.cfg.Backend, State: "cannot reach " + s.cfg.Where, Cause: err, Hint: s.cfg.StartHint}
		s.setNotReady(nr)
		return nr
	}
	s.setUp(sess)
	s.running = true
	s.holding.Store(s.cfg.Outbox != nil)
	go s.publisher()
	go s.run(sess, sink)
	return nil
}

// Publish implements broker.Broker: it queues m and returns; it fails at
// once, counting the loss, when the broker is closed, not ready (with an
// Outbox: not started), or its queue is full.
func (s *Supervisor) Publish(m broker.Message) error {
	if s.closed.Load() {
		return broker.ErrClosed
	}
	if p := s.ready.Load(); p != nil && !s.holding.Load() {
		s.metrics.Error(OpPublish, 1)
		s.metrics.Drop(DropDown, 1)
		return *p
	}
	select {
	case s.pubq <- m:
		return nil
	default:
		s.metrics.Error(OpPublish, 1)
		s.metrics.Drop(DropQueueFull, 1)
		return broker.ErrQueueFull
	}
}

// Subscribe implements broker.Broker; it never blocks.
func (s *Supervisor) Subscribe(room string) { s.rooms.Add(room) }

// Unsubscribe implements broker.Broker; it never blocks.
func (s *Supervisor) Unsubscribe(room string) { s.rooms.Remove(room) }

// Ready implements broker.Broker.
func (s *Supervisor) Ready() error {
	if s.closed.Load() {
		return broker.ErrClosed
	}
	if p := s.ready.Load(); p != nil {
		return *p
	}
	return nil
}

// Close implements broker.Broker, in this order: Publish fails from now on;
// what is queued gets a second to reach the backend; the session closes;
// the dispatchers stop (discarding what waits for the Handler); the
// transport releases its connections.
func (s *Supervisor) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.closed.Store(true)
		if s.running {
			close(s.flush)
			<-s.pubDone
			if s.cfg.Outbox != nil {
				ctx, cancel := context.WithTimeout(context.Background(), closeFlushTimeout)
				s.cfg.Outbox.Flush(ctx)
				cancel()
			}
			s.cancel()
			<-s.loopDone
			s.disp.close()
		}
		s.cancel()
		_ = s.t.Close()
		if s.cfg.Outbox != nil {
			s.metrics.Drop(DropUnconfirmed, s.cfg.Outbox.Abandon())
		}
		s.metrics.Stop()
	})
	return nil
}

func (s *Supervisor) setNotReady(err error) { s.ready.Store(&err) }

// setUp makes sess the live session: Publish queues again.
func (s *Supervisor) setUp(sess Session) {
	s.live.Store(&live{sess})
	s.ready.Store(nil)
	s.metrics.SetUp()
}

// setDown marks the backend down since since (zero: now, or the start of the
// outage in progress) because of cause.
func (s *Supervisor) setDown(cause error, since time.Time) {
	s.setNotReady(&NotReadyError{Backend: s.cfg.Backend, State: "not connected to " + s.cfg.Where + " (reconnecting)", Cause: cause})
	s.live.Store(nil)
	s.metrics.SetDown(since)
}
