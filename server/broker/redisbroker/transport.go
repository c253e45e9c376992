package redisbroker

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/internal/brokerkit"
)

// transport is the Redis side of the broker: a client pool for publishing
// (shared by every session) and, per session, the subscriber connections.
type transport struct {
	cfg     Config
	where   string // URL (redacted) or cluster addresses, for messages
	cluster *redis.ClusterClient
	single  *redis.Client
	client  redis.UniversalClient
}

// newTransport applies cfg's defaults and makes the client, which connects
// lazily.
func newTransport(cfg Config) (*transport, error) {
	cfg.URL = cmp.Or(cfg.URL, DefaultURL)
	cfg.Prefix = cmp.Or(cfg.Prefix, DefaultPrefix)
	name := "chatbench"
	if cfg.NodeID != "" {
		name += "-" + cfg.NodeID
	}
	t := &transport{cfg: cfg}
	if len(cfg.ClusterAddrs) > 0 {
		t.where = "redis cluster " + strings.Join(cfg.ClusterAddrs, ",")
		t.cluster = redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: cfg.ClusterAddrs, Username: cfg.Username, Password: cfg.Password,
			ClientName: name, DialTimeout: opTimeout, ReadTimeout: opTimeout, WriteTimeout: opTimeout,
			ContextTimeoutEnabled: true, MaxRetries: -1, MaxRedirects: 3,
		})
		t.client = t.cluster
		return t, nil
	}
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redis: bad URL %q: %w", brokerkit.Redact(cfg.URL), err)
	}
	t.where = brokerkit.Redact(cfg.URL)
	opt.ClientName = name
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = opTimeout, opTimeout, opTimeout
	opt.ContextTimeoutEnabled = true // a health check's deadline bounds its PING
	opt.MaxRetries = -1              // at most once: never resend a PUBLISH
	opt.PoolSize = 4
	t.single = redis.NewClient(opt)
	t.client = t.single
	return t, nil
}

// Close implements brokerkit.Transport.
func (t *transport) Close() error { return t.client.Close() }

// session is one generation of subscriber connections: one for a single
// server, one per master for a cluster.
type session struct {
	t           *transport
	sink        *brokerkit.Sink
	ctx         context.Context // cancelled by close: ends the readers
	cancel      context.CancelFunc
	subscribers map[string]*subscriber // by master address ("" for a single server)
	subbed      map[string]string      // room -> subscriber key
	wg          sync.WaitGroup
}

// subscriber is one subscriber connection (one per master on a cluster: sharded channels live on their master).
type subscriber struct {
	ps   *redis.PubSub
	live brokerkit.Liveness // what the reader read last: any reply is a sign of life
}

// Dial implements brokerkit.Transport: it checks that Redis answers and, for
// a single server, opens the subscriber connection, so that a lost server
// shows at once even with no rooms.
func (t *transport) Dial(ctx context.Context, sink *brokerkit.Sink) (brokerkit.Session, error) {
	if err := t.client.Ping(ctx).Err(); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	s := &session{t: t, sink: sink, ctx: sctx, cancel: cancel,
		subscribers: map[string]*subscriber{}, subbed: map[string]string{}}
	if t.single != nil {
		if _, err := s.subscriberFor(ctx, ""); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// subscriberFor returns the key of the subscriber connection for channel,
// opening it if needed.
func (s *session) subscriberFor(ctx context.Context, channel string) (string, error) {
	key, c := "", s.t.single
	if s.t.cluster != nil {
		var err error
		if c, err = s.t.cluster.MasterForKey(ctx, channel); err != nil {
			return "", err
		}
		key = c.Options().Addr
	}
	if _, ok := s.subscribers[key]; ok {
		return key, nil
	}
	ps := c.Subscribe(ctx) // no channels: lazily connected; Ping connects now
	if err := ps.Ping(ctx); err != nil {
		_ = ps.Close()
		return "", err
	}
	sh := &subscriber{ps: ps}
	s.subscribers[key] = sh
	s.wg.Add(1)
	go s.read(sh)
	return key, nil
}

// Close implements brokerkit.Session.
func (s *session) Close() {
	s.cancel()
	for _, sh := range s.subscribers {
		_ = sh.ps.Close()
	}
	s.wg.Wait()
}

// read receives from one subscriber connection and hands messages to the
// sink; the node's own are dropped before their payload is copied.
func (s *session) read(sh *subscriber) {
	defer s.wg.Done()
	for {
		msg, err := sh.ps.Receive(s.ctx)
		if err != nil {
			if s.ctx.Err() == nil {
				s.sink.Fail(err)
			}
			return
		}
		sh.live.Heard()
		if m, ok := msg.(*redis.Message); ok {
			s.deliver(m)
		} // else a subscription confirmation or a PONG
	}
}

func (s *session) deliver(m *redis.Message) {
	room, ok := strings.CutPrefix(m.Channel, s.t.cfg.Prefix)
	if !ok {
		return
	}
	origin, payload, err := decode(m.Payload)
	if err != nil {
		s.sink.Malformed()
		return
	}
	if s.sink.Own(origin) {
		return
	}
	s.sink.Deliver(broker.Message{Room: room, Origin: origin, Payload: []byte(payload)})
}

// Check implements brokerkit.Session: every subscriber connection gets a
// PING and must read something within ctx, its PONG or, on a busy
// connection where the PONG waits behind messages, a message; with no
// subscriber connection (a cluster node with no rooms yet) the client pool
// must answer a PING.
func (s *session) Check(ctx context.Context) error {
	if len(s.subscribers) == 0 {
		return s.t.client.Ping(ctx).Err()
	}
	start := time.Now()
	for key, sh := range s.subscribers {
		if err := sh.ps.Ping(ctx); err != nil {
			return fmt.Errorf("PING subscriber connection %s: %w", cmp.Or(key, s.t.where), err)
		}
	}
	for key, sh := range s.subscribers {
		if err := sh.live.HeardSince(ctx, start); err != nil {
			return fmt.Errorf("no PONG on subscriber connection %s: %w", cmp.Or(key, s.t.where), err)
		}
	}
	return nil
}

// Publish implements brokerkit.Session: one pipelined round trip of PUBLISH
// (SPUBLISH on a cluster) per batch.
func (s *session) Publish(ctx context.Context, batch []broker.Message) (int, error) {
	pipe := s.t.client.Pipeline()
	cmds := make([]*redis.IntCmd, len(batch))
	for i, m := range batch {
		channel := s.t.cfg.Prefix + m.Room
		if s.t.cluster != nil {
			cmds[i] = pipe.SPublish(ctx, channel, encode(m))
		} else {
			cmds[i] = pipe.Publish(ctx, channel, encode(m))
		}
	}
	_, err := pipe.Exec(ctx)
	if err == nil {
		return 0, nil
	}
	failed := 0
	for _, c := range cmds {
		if c.Err() != nil {
			failed++
		}
	}
	return failed, err
}
