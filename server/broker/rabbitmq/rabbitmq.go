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
// By default delivery is at most once: the consumer uses automatic
// acknowledgement and publishing uses no publisher confirms, so a message in
// flight when a connection drops is lost (counted where the loss is seen).
// Config.Guarantee turns on the guarantee mode (guarantee.go): publisher
// confirms with a bounded retry buffer, a durable queue named after the
// node, persistent messages, manual acknowledgements and de-duplication by
// message id, so that a broker restart or a dropped connection loses nothing
// and no message reaches the node twice. The node's queue
// is bounded (QueueMaxLength, dropping the oldest) so a stalled node cannot
// fill the broker's memory. On connection loss, or when the server sends
// nothing within Lifecycle.HealthTimeout of a health check (every
// Lifecycle.HealthInterval, a passive declare of the node's queue), not even
// a heartbeat, the broker reconnects with backoff forever and re-declares
// the exchange, its queue and every binding.
//
// Construct with New, then Start:
//
//	b, err := rabbitmq.New(rabbitmq.Config{
//		URL:        "amqp://guest:guest@127.0.0.1:5672/",
//		NodeID:     nodeID,
//		Registerer: prometheus.DefaultRegisterer, // or nil
//		Logger:     logger,
//	})
//	err = b.Start(ctx, nodeID, handler)
package rabbitmq

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
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
	DefaultQueueMaxLength = 100000
	DefaultHeartbeat      = time.Second
	// The guarantee mode's defaults (Config.Guarantee).
	DefaultRetryBuffer  = 100000
	DefaultPrefetch     = 512
	DefaultQueueExpires = 30 * time.Minute
	DefaultMessageTTL   = 5 * time.Minute
	headerRoom          = "room"
	headerOrigin        = "origin"
	maxRoutingKey       = 255
	maxShortString      = 255 // AMQP short strings: queue names, message ids
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
	// suffix keeps queue names unique). The guarantee mode requires it: the
	// node's durable queue is named after it, and a node that comes back
	// under the same ID gets what was queued for it meanwhile.
	NodeID string
	// Registerer receives the broker's metrics
	// (chatbench_backend_*{backend="rabbitmq"}); nil registers nothing.
	Registerer prometheus.Registerer
	// Logger gets connection loss and recovery at Warn/Info; nil discards.
	Logger *slog.Logger
	// Lifecycle tunes queues, reconnects and health checks; zero values
	// mean the defaults.
	Lifecycle broker.Lifecycle
	// QueueMaxLength bounds the node's queue on the server (x-max-length,
	// overflow drop-head; default 100000).
	QueueMaxLength int
	// Heartbeat is the AMQP heartbeat timeout, in whole seconds (default
	// and least 1 s): the server then sends a heartbeat about every half of
	// it when it has nothing else to send, which the health check counts as
	// an answer, and the client library drops a connection silent for one
	// and a half.
	Heartbeat time.Duration

	// Guarantee turns on the guarantee mode (see the package comment); the
	// fields below tune it and mean nothing without it.
	Guarantee bool
	// RetryBuffer bounds, in messages, what the node keeps until the broker
	// confirmed it: unconfirmed ones and those published while the broker
	// is away (default 100000, at most 131072: the receivers' duplicate
	// filter reaches that far back). Past it Publish's messages are dropped and
	// counted (chatbench_backend_dropped_total{reason="retry_buffer_full"}).
	RetryBuffer int
	// Prefetch bounds the messages the broker hands the node before it
	// acknowledges them (default 512).
	Prefetch int
	// QueueExpires deletes the node's durable queue once it has had no
	// consumer for this long (x-expires; default 30 min), and MessageTTL
	// drops a message that waited in it for this long (x-message-ttl;
	// default 5 min): with QueueMaxLength they keep a node that never
	// returns from filling the broker.
	QueueExpires, MessageTTL time.Duration
}

// ErrNoNodeID is New's error for the guarantee mode without a NodeID.
var ErrNoNodeID = errors.New("rabbitmq: the guarantee mode needs a stable node ID (--node-id): the node's durable queue is named after it, and a node coming back under the same ID gets what was queued for it meanwhile")

// Broker is the RabbitMQ broker: the supervisor the networked brokers
// share, over an AMQP transport. Create it with New.
type Broker = brokerkit.Supervisor

// New validates cfg, registers the metrics and returns a broker that is not
// connected yet; Start connects.
func New(cfg Config) (*Broker, error) {
	cfg.URL = cmp.Or(cfg.URL, DefaultURL)
	cfg.Exchange = cmp.Or(cfg.Exchange, DefaultExchange)
	if cfg.QueueMaxLength <= 0 {
		cfg.QueueMaxLength = DefaultQueueMaxLength
	}
	cfg.Heartbeat = max(cfg.Heartbeat, DefaultHeartbeat) // AMQP counts whole seconds: less is none
	if _, err := amqp.ParseURI(cfg.URL); err != nil {
		return nil, fmt.Errorf("rabbitmq: bad URL %q: %w", brokerkit.Redact(cfg.URL), err)
	}
	t := &transport{cfg: cfg}
	kc := brokerkit.Config{Backend: "rabbitmq", Where: brokerkit.Redact(cfg.URL),
		StartHint: "start it with `rabbitmq-server` (tests: scripts/services.sh start)",
		Lifecycle: cfg.Lifecycle, Registerer: cfg.Registerer, Logger: cfg.Logger}
	if cfg.Guarantee {
		if cfg.NodeID == "" {
			return nil, ErrNoNodeID
		}
		t.queue = cfg.Exchange + "." + cfg.NodeID
		// AMQP short strings: the queue name, and the message id (the node
		// ID, 17 bytes of instance and up to 20 digits).
		if len(t.queue) > maxShortString || len(cfg.NodeID)+38 > maxShortString {
			return nil, fmt.Errorf("rabbitmq: node ID %.20q... too long for the guarantee mode: the exchange, a dot and the node ID name the queue, at most %d bytes", cfg.NodeID, maxShortString)
		}
		t.g = newGuarantee(&t.cfg)
		kc.Outbox, kc.HandlerMayWait = t.g.out, true
		return brokerkit.New(kc, t)
	}
	// The queue is the node's own: a random suffix keeps it so when node
	// IDs repeat.
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	t.queue = fmt.Sprintf("%s.%s.%s", cfg.Exchange, cmp.Or(cfg.NodeID, "node"), hex.EncodeToString(suffix[:]))
	return brokerkit.New(kc, t)
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
