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
// away is missed (pub/sub keeps no history). Every subscriber connection is
// PINGed each Lifecycle.HealthInterval, so a frozen Redis is noticed too.
//
// Construct with New, then Start:
//
//	b, err := redisbroker.New(redisbroker.Config{
//		URL:        "redis://127.0.0.1:6379/0",
//		NodeID:     nodeID,
//		Registerer: prometheus.DefaultRegisterer, // or nil
//		Logger:     logger,
//	})
//	err = b.Start(ctx, nodeID, handler)
package redisbroker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/internal/brokerkit"
)

// Defaults of Config.
const (
	DefaultURL           = "redis://127.0.0.1:6379/0"
	DefaultPrefix        = "chatbench:"
	opTimeout            = 3 * time.Second // dial, read and write timeouts of the client
	subscribeBatch       = 256             // channels per SUBSCRIBE
	envelopeVersion byte = 1
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
	// NodeID names this node in CLIENT SETNAME (optional).
	NodeID string
	// Registerer receives the broker's metrics (chatbench_backend_*{backend="redis"});
	// nil registers nothing. Use one Registerer per broker.
	Registerer prometheus.Registerer
	// Logger gets connection loss and recovery at Warn/Info; nil discards.
	Logger *slog.Logger
	// Lifecycle tunes queues, reconnects and health checks; zero values
	// mean the defaults.
	Lifecycle broker.Lifecycle
}

// Broker is the Redis broker: the supervisor the networked brokers share,
// over a Redis transport. Create it with New.
type Broker = brokerkit.Supervisor

// New validates cfg, registers the metrics and returns a broker that is not
// connected yet; Start connects.
func New(cfg Config) (*Broker, error) {
	t, err := newTransport(cfg)
	if err != nil {
		return nil, err
	}
	sup, err := brokerkit.New(brokerkit.Config{Backend: "redis", Where: t.where, StartHint: t.startHint(),
		Lifecycle: cfg.Lifecycle, Registerer: cfg.Registerer, Logger: cfg.Logger}, t)
	if err != nil {
		_ = t.Close()
	}
	return sup, err
}

func (t *transport) startHint() string {
	if t.cluster != nil {
		return "start the cluster's redis-server nodes (redis-server --cluster-enabled yes ...) or fix --redis-cluster"
	}
	port := "6379"
	if _, p, err := net.SplitHostPort(t.single.Options().Addr); err == nil {
		port = p
	}
	return fmt.Sprintf("start it with `redis-server --port %s` (tests: scripts/services.sh start)", port)
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

// decode splits the wire form into origin and payload, both still sharing
// data's memory.
func decode(data string) (origin, payload string, err error) {
	if len(data) == 0 || data[0] != envelopeVersion {
		return "", "", errors.New("not a chatbench message")
	}
	n, k := binary.Uvarint([]byte(data[1:min(len(data), 1+binary.MaxVarintLen64)]))
	if k <= 0 || uint64(len(data)-1-k) < n {
		return "", "", errors.New("truncated chatbench message")
	}
	start := 1 + k
	return data[start : start+int(n)], data[start+int(n):], nil
}
