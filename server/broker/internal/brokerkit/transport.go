package brokerkit

import (
	"context"
	"errors"

	"github.com/chatbench/chatbench/server/broker"
)

// Transport is what a backend implements: how to open a Session. Everything
// around it (ready state, queues, dispatch, health checks, reconnecting,
// shutdown order) is the Supervisor's.
type Transport interface {
	// Dial opens a session within ctx: connections able to publish, and
	// receivers that hand every message they get to sink. It subscribes no
	// room: the supervisor calls Apply next.
	Dial(ctx context.Context, sink *Sink) (Session, error)
	// Close releases what sessions share (a client pool). The supervisor
	// calls it once, after the last session closed.
	Close() error
}

// Session is one generation of connections to the backend. Its methods are
// called from two goroutines: Publish from the publisher, the others from
// the supervisor's loop. Any failure ends the session (Sink.Fail, or an
// error from Apply or Check); the supervisor closes it and dials a new one,
// which subscribes every wanted room again.
type Session interface {
	// Apply brings the session's subscriptions to want (a set of rooms the
	// session may keep), within ctx; an error that is an *OpError is counted
	// under its Op.
	Apply(ctx context.Context, want map[string]struct{}) error
	// Publish hands batch to the backend, in order, within ctx, and returns
	// how many of its messages were lost and why. It must not keep batch.
	Publish(ctx context.Context, batch []broker.Message) (failed int, err error)
	// Check proves, within ctx, that the backend answers on the session's
	// connections: a frozen backend fails it.
	Check(ctx context.Context) error
	// Close closes the session's connections and waits for its goroutines,
	// in about a second at most even when the backend does not answer.
	Close()
}

// Outbox is what a transport that confirms publishes adds (RabbitMQ's
// guarantee mode): it keeps every message until the backend confirmed it,
// across sessions, so that what was queued while the backend was away, or
// published but not confirmed when a session failed, is sent again by the
// next session. With an Outbox the supervisor queues Publish while the
// backend is down (once started) instead of failing it.
type Outbox interface {
	// Hold keeps batch for the next session and returns how many of its
	// messages it refused because it was at its bound (counted
	// DropRetryFull). It must not keep batch.
	Hold(batch []broker.Message) (refused int)
	// Flush waits, until ctx ends, for the backend to confirm every
	// message: Close calls it once the publish queue is drained.
	Flush(ctx context.Context)
	// Pending returns how many messages it keeps now (exposed as
	// chatbench_backend_retry_buffered).
	Pending() int
	// Abandon empties the outbox when the broker closes and returns how
	// many messages were still unconfirmed (counted DropUnconfirmed).
	Abandon() int
}

// ErrRetryFull is the error a session's Publish returns (with the count of
// messages refused) when its Outbox is at its bound: they are counted
// DropRetryFull, not DropPublishError.
var ErrRetryFull = errors.New("retry buffer full")
