// Package redisbroker carries chat messages between serve nodes through Redis
// pub/sub.
//
// Each message is ONE PUBLISH on the channel Prefix+room. Each node holds ONE
// subscriber connection for all its rooms (with Redis Cluster: one per master
// that owns a subscribed room, since sharded channels live on their shard),
// SUBSCRIBEs a room when its first local member joins and UNSUBSCRIBEs it when
// the last one leaves. Delivery is at most once: a node that loses Redis keeps
// serving its local rooms, reconnects with backoff forever, re-subscribes every
// room, and counts what it could not publish; what was published while it was
// away is missed (pub/sub keeps no history).
//
// Construct with New, then Start:
//
//	b, err := redisbroker.New(redisbroker.Config{
//		URL:        "redis://127.0.0.1:6379/0",
//		NodeID:     nodeID,
//		Registerer: prometheus.DefaultRegisterer, // or nil
//		Logger:     logger,
//	})
//	err = b.Start(ctx, handler)
package redisbroker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/internal/brokerkit"
)

// Defaults of Config.
const (
	DefaultURL               = "redis://127.0.0.1:6379/0"
	DefaultPrefix            = "chatbench:"
	DefaultStartTimeout      = 3 * time.Second
	DefaultPublishQueue      = 8192
	DefaultDeliverQueue      = 8192
	DefaultReconnectMin      = 100 * time.Millisecond
	DefaultReconnectMax      = 5 * time.Second
	DefaultHealthCheck       = 5 * time.Second
	DefaultOpTimeout         = 3 * time.Second
	maxPipeline              = 512
	subscribeBatch           = 256
	closeFlushTimeout        = time.Second
	envelopeVersion     byte = 1
)

// Config configures a Redis broker. The zero value plus URL (or ClusterAddrs)
// is a working configuration.
type Config struct {
	// URL of a single Redis server, e.g. redis://127.0.0.1:6379/0 (default
	// DefaultURL; rediss:// for TLS, redis://user:pass@host:port/db for
	// AUTH). Ignored when ClusterAddrs is set.
	URL string
	// ClusterAddrs, when not empty, are seed addresses (host:port) of a Redis
	// Cluster (Redis 7+). The broker then uses sharded pub/sub: SPUBLISH and
	// SSUBSCRIBE, with one subscriber connection per master owning a
	// subscribed room. Username/Password apply to the cluster nodes.
	ClusterAddrs       []string
	Username, Password string
	// Prefix is prepended to every room to make the channel name (default
	// "chatbench:"). Nodes must share it to share rooms; tests use a unique
	// prefix to isolate themselves on a shared Redis.
	Prefix string
	// NodeID names this node in CLIENT SETNAME and logs (optional).
	NodeID string
	// Registerer receives the broker's metrics (chatbench_backend_*{backend="redis"});
	// nil registers nothing. Use one Registerer per broker.
	Registerer prometheus.Registerer
	// Logger gets connection loss and recovery at Warn/Info; nil discards.
	Logger *slog.Logger
	// StartTimeout bounds Start's first connection (default 3 s).
	StartTimeout time.Duration
	// PublishQueue is the number of messages Publish may queue before it
	// returns an error (default 8192). One goroutine drains it, pipelining
	// up to 512 PUBLISHes per round trip.
	PublishQueue int
	// DeliverQueue is the number of received messages that may wait for the
	// Handler (default 8192); past it messages are dropped and counted.
	DeliverQueue int
	// ReconnectMin and ReconnectMax bound the reconnect backoff (defaults
	// 100 ms and 5 s; exponential with jitter).
	ReconnectMin, ReconnectMax time.Duration
	// HealthCheck: a subscriber connection idle this long is PINGed, and
	// one that stays silent for another period is dropped and reconnected
	// (default 5 s).
	HealthCheck time.Duration
}

func (c *Config) setDefaults() {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
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
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = DefaultReconnectMin
	}
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = max(DefaultReconnectMax, c.ReconnectMin)
	}
	if c.HealthCheck <= 0 {
		c.HealthCheck = DefaultHealthCheck
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Stats is a snapshot of the broker's counters (the values behind its metrics).
type Stats = brokerkit.Stats

// ErrQueueFull is returned by Publish when the publish queue is full.
var ErrQueueFull = errors.New("redis: publish queue full")

// Broker is the Redis broker. Create it with New.
type Broker struct {
	cfg     Config
	where   string // URL (redacted) or cluster addresses, for messages
	cluster *redis.ClusterClient
	single  *redis.Client
	client  redis.UniversalClient
	metrics *brokerkit.Metrics
	rooms   *brokerkit.Rooms

	pubq chan pubItem

	started   atomic.Bool
	closed    atomic.Bool
	closeOnce sync.Once
	closing   chan struct{}
	ctx       context.Context // cancelled by Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	disp      *brokerkit.Dispatcher

	ready atomic.Pointer[error] // nil pointer value: ready
}

type pubItem struct {
	channel string
	data    []byte
}

var _ broker.Broker = (*Broker)(nil)

// New validates cfg, registers the metrics and returns a broker that is not
// connected yet; Start connects.
func New(cfg Config) (*Broker, error) {
	cfg.setDefaults()
	b := &Broker{cfg: cfg, metrics: brokerkit.NewMetrics("redis"), rooms: brokerkit.NewRooms(),
		pubq: make(chan pubItem, cfg.PublishQueue), closing: make(chan struct{})}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	name := "chatbench"
	if cfg.NodeID != "" {
		name += "-" + cfg.NodeID
	}
	if len(cfg.ClusterAddrs) > 0 {
		b.where = "redis cluster " + strings.Join(cfg.ClusterAddrs, ",")
		b.cluster = redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: cfg.ClusterAddrs, Username: cfg.Username, Password: cfg.Password,
			ClientName: name, DialTimeout: DefaultOpTimeout, ReadTimeout: DefaultOpTimeout,
			WriteTimeout: DefaultOpTimeout, MaxRetries: -1, MaxRedirects: 3,
		})
		b.client = b.cluster
	} else {
		opt, err := redis.ParseURL(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("redis: bad URL %q: %w", brokerkit.Redact(cfg.URL), err)
		}
		b.where = brokerkit.Redact(cfg.URL)
		opt.ClientName = name
		opt.DialTimeout = DefaultOpTimeout
		opt.ReadTimeout = DefaultOpTimeout
		opt.WriteTimeout = DefaultOpTimeout
		opt.MaxRetries = -1 // at most once: never resend a PUBLISH
		opt.PoolSize = 4
		b.single = redis.NewClient(opt)
		b.client = b.single
	}
	if err := b.metrics.Register(cfg.Registerer); err != nil {
		_ = b.client.Close()
		return nil, fmt.Errorf("redis: registering metrics: %w", err)
	}
	notStarted := errors.New("redis: not started")
	b.ready.Store(&notStarted)
	return b, nil
}

// Name implements broker.Broker.
func (b *Broker) Name() string { return "redis" }

// Stats returns the broker's counters.
func (b *Broker) Stats() Stats { return b.metrics.Snapshot() }

// Collector returns the broker's metrics, for registering them elsewhere
// than Config.Registerer.
func (b *Broker) Collector() prometheus.Collector { return b.metrics }

func (b *Broker) startHint() string {
	if b.cluster != nil {
		return "start the cluster's redis-server nodes (redis-server --cluster-enabled yes ...) or fix --redis-cluster"
	}
	port := "6379"
	if opt, err := redis.ParseURL(b.cfg.URL); err == nil {
		if _, p, err := net.SplitHostPort(opt.Addr); err == nil {
			port = p
		}
	}
	return fmt.Sprintf("start it with `redis-server --port %s` (tests: scripts/services.sh start)", port)
}

// Start implements broker.Broker: it connects (bounded by StartTimeout and
// ctx), subscribes the rooms wanted so far, and from then on reconnects by
// itself until Close. The error names the URL, the cause and how to start
// Redis.
func (b *Broker) Start(ctx context.Context, h broker.Handler) error {
	if b.closed.Load() {
		return broker.ErrClosed
	}
	if !b.started.CompareAndSwap(false, true) {
		return errors.New("redis: Start called twice")
	}
	sctx, cancel := context.WithTimeout(ctx, b.cfg.StartTimeout)
	defer cancel()
	s, err := b.connect(sctx)
	if err != nil {
		b.metrics.Error(brokerkit.OpConnect, 1)
		err = fmt.Errorf("redis: cannot reach %s: %w; %s", b.where, err, b.startHint())
		b.ready.Store(&err)
		return err
	}
	b.disp = brokerkit.NewDispatcher(h, b.cfg.DeliverQueue, b.metrics)
	b.setUp()
	b.wg.Add(2)
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

func (b *Broker) setUp() {
	b.ready.Store(nil)
	b.metrics.SetUp(true)
}

func (b *Broker) setDown(cause error) {
	err := fmt.Errorf("redis: not connected to %s: %w (reconnecting)", b.where, cause)
	b.ready.Store(&err)
	b.metrics.SetUp(false)
}

// Subscribe implements broker.Broker; it never blocks.
func (b *Broker) Subscribe(room string) { b.rooms.Add(room) }

// Unsubscribe implements broker.Broker; it never blocks.
func (b *Broker) Unsubscribe(room string) { b.rooms.Remove(room) }

// Publish implements broker.Broker: it queues one PUBLISH (SPUBLISH on a
// cluster) and returns; it fails at once, counting the loss, when the broker
// is closed, not connected, or its queue is full.
func (b *Broker) Publish(_ context.Context, m broker.Message) error {
	if b.closed.Load() {
		return broker.ErrClosed
	}
	if err := b.Ready(); err != nil {
		b.metrics.Error(brokerkit.OpPublish, 1)
		b.metrics.Drop(brokerkit.DropDown, 1)
		return err
	}
	it := pubItem{channel: b.cfg.Prefix + m.Room, data: encode(m)}
	select {
	case b.pubq <- it:
		return nil
	default:
		b.metrics.Error(brokerkit.OpPublish, 1)
		b.metrics.Drop(brokerkit.DropQueueFull, 1)
		return ErrQueueFull
	}
}

// Close implements broker.Broker. Messages already queued get up to a second
// to reach Redis.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		close(b.closing)
		b.cancel()
		b.wg.Wait()
		if b.disp != nil {
			b.disp.Close()
		}
		_ = b.client.Close()
		b.metrics.SetUp(false)
	})
	return nil
}

// encode builds the wire form: version byte, uvarint origin length, origin,
// payload. The room travels as the channel name.
func encode(m broker.Message) []byte {
	buf := make([]byte, 0, 1+binary.MaxVarintLen64+len(m.Origin)+len(m.Payload))
	buf = append(buf, envelopeVersion)
	buf = binary.AppendUvarint(buf, uint64(len(m.Origin)))
	buf = append(buf, m.Origin...)
	return append(buf, m.Payload...)
}

func decode(room, data string) (broker.Message, error) {
	if len(data) == 0 || data[0] != envelopeVersion {
		return broker.Message{}, errors.New("not a chatbench message")
	}
	n, k := binary.Uvarint([]byte(data[1:min(len(data), 1+binary.MaxVarintLen64)]))
	if k <= 0 || uint64(len(data)-1-k) < n {
		return broker.Message{}, errors.New("truncated chatbench message")
	}
	start := 1 + k
	return broker.Message{Room: room, Origin: data[start : start+int(n)], Payload: []byte(data[start+int(n):])}, nil
}

// publisher drains the publish queue, pipelining what has accumulated.
func (b *Broker) publisher() {
	defer b.wg.Done()
	batch := make([]pubItem, 0, maxPipeline)
	for {
		select {
		case <-b.closing:
			// Flush what is queued, briefly.
			for {
				select {
				case it := <-b.pubq:
					batch = append(batch, it)
					if len(batch) == maxPipeline {
						b.flush(batch, closeFlushTimeout)
						batch = batch[:0]
					}
					continue
				default:
				}
				break
			}
			if len(batch) > 0 {
				b.flush(batch, closeFlushTimeout)
			}
			return
		case it := <-b.pubq:
			batch = append(batch[:0], it)
		more:
			for len(batch) < maxPipeline {
				select {
				case it := <-b.pubq:
					batch = append(batch, it)
				default:
					break more
				}
			}
			b.flush(batch, DefaultOpTimeout)
		}
	}
}

func (b *Broker) flush(batch []pubItem, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	pipe := b.client.Pipeline()
	cmds := make([]*redis.IntCmd, len(batch))
	for i, it := range batch {
		if b.cluster != nil {
			cmds[i] = pipe.SPublish(ctx, it.channel, it.data)
		} else {
			cmds[i] = pipe.Publish(ctx, it.channel, it.data)
		}
	}
	_, err := pipe.Exec(ctx)
	if err == nil {
		return
	}
	failed := 0
	for _, c := range cmds {
		if c.Err() != nil {
			failed++
		}
	}
	b.metrics.Error(brokerkit.OpPublish, failed)
	b.metrics.Drop(brokerkit.DropPublishError, failed)
	b.cfg.Logger.Warn("redis: publish failed", "where", b.where, "messages", failed, "err", err)
}

// session is one generation of subscriber connections: one for a single
// server, one per master for a cluster. Any failure ends the whole session;
// the next one subscribes every wanted room again.
type session struct {
	b      *Broker
	ctx    context.Context
	cancel context.CancelFunc
	shards map[string]*shard // by node address ("" for a single server)
	subbed map[string]string // room -> shard key
	errc   chan error        // first failure of any reader
	wg     sync.WaitGroup
}

type shard struct {
	ps *redis.PubSub
}

// connect checks that Redis answers and opens a session.
func (b *Broker) connect(ctx context.Context) (*session, error) {
	if err := b.client.Ping(ctx).Err(); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(b.ctx)
	s := &session{b: b, ctx: sctx, cancel: cancel, shards: map[string]*shard{},
		subbed: map[string]string{}, errc: make(chan error, 1)}
	if b.single != nil {
		// The one subscriber connection exists even with no rooms, so a
		// lost server shows at once.
		if _, err := s.shardFor(ctx, ""); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

// shardFor returns the subscriber connection for channel, opening it if
// needed.
func (s *session) shardFor(ctx context.Context, channel string) (string, error) {
	key := ""
	var c *redis.Client = s.b.single
	if s.b.cluster != nil {
		var err error
		c, err = s.b.cluster.MasterForKey(ctx, channel)
		if err != nil {
			return "", err
		}
		key = c.Options().Addr
	}
	if _, ok := s.shards[key]; ok {
		return key, nil
	}
	ps := c.Subscribe(ctx) // no channels: lazily connected; Ping connects now
	if err := ps.Ping(ctx); err != nil {
		_ = ps.Close()
		return "", err
	}
	sh := &shard{ps: ps}
	s.shards[key] = sh
	s.wg.Add(1)
	go s.read(sh)
	return key, nil
}

func (s *session) fail(err error) {
	select {
	case s.errc <- err:
	default:
	}
}

// close ends the session's connections and waits for its readers.
func (s *session) close() {
	s.cancel()
	for _, sh := range s.shards {
		_ = sh.ps.Close()
	}
	s.wg.Wait()
}

// read receives from one subscriber connection and hands messages to the
// dispatcher without waiting. A connection silent for HealthCheck is PINGed;
// silent for another period, it is declared dead.
func (s *session) read(sh *shard) {
	defer s.wg.Done()
	b := s.b
	pinged := false
	for {
		msg, err := sh.ps.ReceiveTimeout(s.ctx, b.cfg.HealthCheck)
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !pinged {
				pinged = true
				if err := sh.ps.Ping(s.ctx); err == nil {
					continue
				}
			}
			s.fail(err)
			return
		}
		pinged = false
		m, ok := msg.(*redis.Message)
		if !ok {
			continue // subscription confirmations, pongs
		}
		room, ok := strings.CutPrefix(m.Channel, b.cfg.Prefix)
		if !ok {
			continue
		}
		bm, err := decode(room, m.Payload)
		if err != nil {
			b.metrics.Error(brokerkit.OpReceive, 1)
			b.metrics.Drop(brokerkit.DropMalformed, 1)
			continue
		}
		b.disp.Deliver(bm)
	}
}

// reconcile brings the session's subscriptions to the wanted set:
// UNSUBSCRIBEs first, then SUBSCRIBEs.
func (s *session) reconcile() error {
	b := s.b
	want := b.rooms.Snapshot()
	ctx, cancel := context.WithTimeout(s.ctx, DefaultOpTimeout)
	defer cancel()

	gone := map[string][]string{} // shard -> channels
	for room, key := range s.subbed {
		if _, ok := want[room]; !ok {
			gone[key] = append(gone[key], b.cfg.Prefix+room)
			delete(s.subbed, room)
		}
	}
	for key, chans := range gone {
		ps := s.shards[key].ps
		for len(chans) > 0 {
			n := min(len(chans), subscribeBatch)
			var err error
			if b.cluster != nil {
				n = 1 // SUNSUBSCRIBE's channels must share a slot
				err = ps.SUnsubscribe(ctx, chans[0])
			} else {
				err = ps.Unsubscribe(ctx, chans[:n]...)
			}
			if err != nil {
				b.metrics.Error(brokerkit.OpUnsubscribe, 1)
				return fmt.Errorf("unsubscribe: %w", err)
			}
			chans = chans[n:]
		}
	}

	var add []string
	for room := range want {
		if _, ok := s.subbed[room]; !ok {
			add = append(add, room)
		}
	}
	if b.cluster != nil {
		for _, room := range add {
			ch := b.cfg.Prefix + room
			key, err := s.shardFor(ctx, ch)
			if err == nil {
				err = s.shards[key].ps.SSubscribe(ctx, ch)
			}
			if err != nil {
				b.metrics.Error(brokerkit.OpSubscribe, 1)
				return fmt.Errorf("ssubscribe: %w", err)
			}
			s.subbed[room] = key
		}
		return nil
	}
	ps := s.shards[""].ps
	for len(add) > 0 {
		n := min(len(add), subscribeBatch)
		chans := make([]string, n)
		for i, room := range add[:n] {
			chans[i] = b.cfg.Prefix + room
		}
		if err := ps.Subscribe(ctx, chans...); err != nil {
			b.metrics.Error(brokerkit.OpSubscribe, 1)
			return fmt.Errorf("subscribe: %w", err)
		}
		for _, room := range add[:n] {
			s.subbed[room] = ""
		}
		add = add[n:]
	}
	return nil
}

// subscriber owns the subscriber connections: it applies room changes,
// notices failures and reconnects with backoff, forever, until Close.
func (b *Broker) subscriber(s *session) {
	defer b.wg.Done()
	for {
		err := b.serve(s)
		s.close()
		if b.closed.Load() {
			return
		}
		b.metrics.Error(brokerkit.OpReceive, 1)
		b.setDown(err)
		b.cfg.Logger.Warn("redis: connection lost, reconnecting", "where", b.where, "err", err)
		for attempt := 0; ; attempt++ {
			select {
			case <-b.closing:
				return
			case <-time.After(brokerkit.Backoff(attempt, b.cfg.ReconnectMin, b.cfg.ReconnectMax)):
			}
			ctx, cancel := context.WithTimeout(b.ctx, DefaultOpTimeout)
			s, err = b.connect(ctx)
			cancel()
			if err == nil {
				break
			}
			b.metrics.Error(brokerkit.OpConnect, 1)
			b.setDown(err)
		}
		b.metrics.Reconnected()
		b.cfg.Logger.Info("redis: reconnected", "where", b.where)
	}
}

// serve runs one session until it fails (returning why) or the broker closes
// (returning nil).
func (b *Broker) serve(s *session) error {
	if err := s.reconcile(); err != nil {
		return err
	}
	b.setUp()
	tick := time.NewTicker(b.cfg.HealthCheck)
	defer tick.Stop()
	for {
		select {
		case <-b.closing:
			return nil
		case err := <-s.errc:
			return err
		case <-tick.C:
			if len(s.shards) == 0 { // no subscriber connection watches the server
				ctx, cancel := context.WithTimeout(s.ctx, DefaultOpTimeout)
				err := b.client.Ping(ctx).Err()
				cancel()
				if err != nil && s.ctx.Err() == nil {
					return err
				}
			}
		case <-b.rooms.Changed():
			if err := s.reconcile(); err != nil {
				return err
			}
		}
	}
}
