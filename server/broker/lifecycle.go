package broker

import (
	"runtime"
	"time"
)

// Lifecycle tunes what the networked brokers (redis, rabbitmq) do the same
// way: how long Start may take, the queues between the node and the
// backend, reconnecting, and the health check that notices a backend which
// stopped answering. The zero value means the defaults.
type Lifecycle struct {
	// StartTimeout bounds Start's first connection (default 3 s).
	StartTimeout time.Duration
	// PublishQueue is the number of messages Publish may queue before it
	// returns ErrQueueFull (default 8192). One goroutine drains it, handing
	// the backend up to 512 messages at a time.
	PublishQueue int
	// Dispatchers is the number of goroutines that hand received messages to
	// the Handler (default GOMAXPROCS). Rooms are spread over them by a hash
	// of their name, so one room's messages keep their order and a room
	// whose Handler calls are slow stalls only the rooms sharing its
	// dispatcher.
	Dispatchers int
	// DeliverQueue is the number of received messages that may wait for the
	// Handler in each dispatcher (default 8192); past it messages are dropped
	// and counted.
	DeliverQueue int
	// ReconnectMin and ReconnectMax bound the pause between reconnect
	// attempts (defaults 100 ms and 5 s; exponential, with jitter).
	ReconnectMin, ReconnectMax time.Duration
	// HealthInterval is how often the backend must prove it answers (Redis:
	// a PING on every subscriber connection; RabbitMQ: a passive declare of
	// the node's queue), and HealthTimeout how long it may take (defaults
	// 500 ms and 1.5 s). Anything the connection reads meanwhile counts as
	// the answer (a busy connection's reply waits behind its messages;
	// RabbitMQ's heartbeats come even while it throttles a publisher). A
	// check with nothing read in time marks the backend down (Ready fails,
	// chatbench_backend_up 0) and reconnects, so a frozen backend is noticed
	// within HealthInterval+HealthTimeout (2 s), and the outage is counted
	// from the start of that check.
	HealthInterval, HealthTimeout time.Duration
}

// Defaults of Lifecycle.
const (
	DefaultStartTimeout   = 3 * time.Second
	DefaultPublishQueue   = 8192
	DefaultDeliverQueue   = 8192
	DefaultReconnectMin   = 100 * time.Millisecond
	DefaultReconnectMax   = 5 * time.Second
	DefaultHealthInterval = 500 * time.Millisecond
	DefaultHealthTimeout  = 1500 * time.Millisecond
)

// WithDefaults returns l with every zero (or negative) field set to its
// default.
func (l Lifecycle) WithDefaults() Lifecycle {
	if l.StartTimeout <= 0 {
		l.StartTimeout = DefaultStartTimeout
	}
	if l.PublishQueue <= 0 {
		l.PublishQueue = DefaultPublishQueue
	}
	if l.Dispatchers <= 0 {
		l.Dispatchers = runtime.GOMAXPROCS(0)
	}
	if l.DeliverQueue <= 0 {
		l.DeliverQueue = DefaultDeliverQueue
	}
	if l.ReconnectMin <= 0 {
		l.ReconnectMin = DefaultReconnectMin
	}
	if l.ReconnectMax < l.ReconnectMin {
		l.ReconnectMax = max(DefaultReconnectMax, l.ReconnectMin)
	}
	if l.HealthInterval <= 0 {
		l.HealthInterval = DefaultHealthInterval
	}
	if l.HealthTimeout <= 0 {
		l.HealthTimeout = DefaultHealthTimeout
	}
	return l
}
