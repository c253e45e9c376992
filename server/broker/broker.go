// Package broker defines how chat messages move between serve nodes.
//
// A broker only carries messages between nodes: every node fans a message out
// to its own local members itself, immediately, and publishes it once so that
// other nodes can do the same. A node therefore ignores messages whose Origin
// is its own ID when they come back from the broker.
//
// Implementations: memory (in-process; a single node, or several nodes in one
// process sharing a Bus, which the tests use), redis (server/broker/redis) and
// rabbitmq (server/broker/rabbitmq). Every implementation passes the shared
// conformance suite in server/broker/brokertest.
package broker

import (
	"context"
	"errors"
)

// Message is one chat message on its way between nodes.
type Message struct {
	// Room the message was sent to.
	Room string
	// Origin is the ID of the node that published it. A node skips messages
	// from itself: it already delivered them locally.
	Origin string
	// Payload is the broadcast frame's payload, the JSON object
	// {"user","room","message"}, encoded once by the origin node. Receivers
	// share it and must not modify it.
	Payload []byte
}

// Handler receives messages published by any node (including this one; the
// caller filters by Origin) for rooms this node subscribed to.
//
// A Handler must not block: brokers call it from their single reader
// goroutine, and a slow handler would stall every room on the node.
type Handler func(Message)

// Broker moves messages between nodes.
type Broker interface {
	// Name is the backend's flag value: "memory", "redis" or "rabbitmq".
	Name() string

	// Start connects to the backend and starts delivering messages for
	// subscribed rooms to h. It fails fast, with an error that names the URL
	// and the cause, when the backend cannot be reached at start. After a
	// successful Start the broker reconnects by itself, forever, until Close.
	Start(ctx context.Context, h Handler) error

	// Publish sends m to every node subscribed to m.Room. It may queue the
	// message and return before it is on the wire; it returns an error (and
	// the message is lost: delivery is at most once) when the backend is down
	// or its queue is full.
	Publish(ctx context.Context, m Message) error

	// Subscribe is called when the first local member joins room, and
	// Unsubscribe when the last one leaves. Both must not block: the broker
	// records the change and applies changes in call order in the background,
	// and re-applies every subscription after a reconnect.
	Subscribe(room string)
	Unsubscribe(room string)

	// Ready returns nil while the backend is connected, or an error saying
	// why not (served by /readyz).
	Ready() error

	// Close stops the broker and releases its connections. It is safe to
	// call more than once.
	Close() error
}

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.New("broker closed")
