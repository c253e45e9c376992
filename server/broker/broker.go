// Package broker defines how chat messages move between serve nodes.
//
// A broker only carries messages between nodes: every node fans a message out
// to its own local members itself, immediately, and publishes it once so that
// other nodes can do the same. The broker therefore never hands a node the
// messages whose Origin is that node's own ID.
//
// Implementations: memory (in-process; a single node, or several nodes in one
// process sharing a Bus, which the tests use), redis
// (server/broker/redisbroker) and rabbitmq (server/broker/rabbitmq). The two
// networked ones share their connection lifecycle (Lifecycle). Every
// implementation passes the shared conformance suite in
// server/broker/brokertest.
package broker

import "context"

// Message is one chat message on its way between nodes.
type Message struct {
	// Room the message was sent to.
	Room string
	// Origin is the ID of the node that published it. A node never receives
	// its own messages back: it already delivered them locally.
	Origin string
	// Payload is the broadcast frame's payload, the JSON object
	// {"user","room","message"}, encoded once by the origin node. Receivers
	// share it and must not modify it.
	Payload []byte
}

// Handler receives messages published by other nodes for rooms this node
// subscribed to.
//
// A Handler must not block: a slow handler stalls the rooms delivered
// through it. (A broker that is a Waiter and answers true is the exception:
// its Handler may wait for room to hand a message on.) It may be called concurrently (the networked brokers run one
// call at a time per room, several rooms at once; memory calls it from the
// publishing goroutines). Messages of one room from one publisher arrive in
// the order they were published.
type Handler func(Message)

// Broker moves messages between nodes.
type Broker interface {
	// Name is the backend's flag value: "memory", "redis" or "rabbitmq".
	Name() string

	// Start connects to the backend and starts delivering messages for
	// subscribed rooms to h, except those whose Origin is self (this node's
	// ID). It fails fast, with an error that names the URL and the cause,
	// when the backend cannot be reached at start; ctx bounds only that
	// first connection. After a successful Start the broker reconnects by
	// itself, forever, until Close.
	Start(ctx context.Context, self string, h Handler) error

	// Publish sends m to every other node subscribed to m.Room. It never
	// blocks: it queues the message and returns before it is on the wire.
	// It returns an error (and the message is lost: delivery is at most
	// once) when the broker is closed (ErrClosed), the backend is not
	// ready (an error matching ErrNotReady) or the queue is full
	// (ErrQueueFull).
	Publish(m Message) error

	// Subscribe is called when the first local member joins room, and
	// Unsubscribe when the last one leaves. Both must not block: the broker
	// records the change and applies changes in call order in the background,
	// and re-applies every subscription after a reconnect.
	Subscribe(room string)
	Unsubscribe(room string)

	// Ready returns nil while the backend is connected and answering, or an
	// error saying why not (served by /readyz).
	Ready() error

	// Close stops the broker and releases its connections. It is safe to
	// call more than once.
	Close() error
}

// Waiter is implemented by a broker that acknowledges each message to its
// backend only once it has handed it on (RabbitMQ's guarantee mode). Its
// Handler may then wait for room rather than drop a message: the wait backs
// up into the broker's dispatch and stops it acknowledging, so the backlog
// stays in the backend (bounded by its prefetch) until the node can take
// it. The server uses this for a message from the broker that finds a
// member's send queue full.
type Waiter interface {
	// HandlerMayWait reports whether the Handler may wait.
	HandlerMayWait() bool
}

// Backends are the --backend values chatbench ships: memory (one node, this
// package's Bus), redis (redisbroker) and rabbitmq (rabbitmq).
var Backends = []string{"memory", "redis", "rabbitmq"}
