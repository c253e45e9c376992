package brokerkit

import (
	"math/rand/v2"
	"net/url"
	"sync"
	"time"

	"github.com/chatbench/chatbench/server/broker"
)

// Dispatcher hands received messages to the Handler from one goroutine of
// its own, through a bounded queue: the connection reader never waits for
// the hub. When the queue is full the message is dropped and counted.
type Dispatcher struct {
	q       chan broker.Message
	h       broker.Handler
	m       *Metrics
	stop    chan struct{}
	done    chan struct{}
	stopped sync.Once
}

// NewDispatcher starts a dispatcher calling h with a queue of size messages.
func NewDispatcher(h broker.Handler, size int, m *Metrics) *Dispatcher {
	d := &Dispatcher{q: make(chan broker.Message, size), h: h, m: m,
		stop: make(chan struct{}), done: make(chan struct{})}
	go d.run()
	return d
}

func (d *Dispatcher) run() {
	defer close(d.done)
	for {
		select {
		case <-d.stop:
			return
		case msg := <-d.q:
			d.h(msg)
		}
	}
}

// Deliver queues msg for the Handler without blocking; it reports false (and
// counts a drop) when the queue is full.
func (d *Dispatcher) Deliver(msg broker.Message) bool {
	select {
	case d.q <- msg:
		return true
	default:
		d.m.Drop(DropDeliverFull, 1)
		return false
	}
}

// Close stops the dispatcher; queued messages are discarded. It waits for a
// Handler call in progress to return.
func (d *Dispatcher) Close() {
	d.stopped.Do(func() { close(d.stop) })
	<-d.done
}

// Backoff returns the pause before reconnect attempt n (0-based): exponential
// from min, capped at max, with ±25% jitter so nodes do not reconnect in step.
func Backoff(n int, min, max time.Duration) time.Duration {
	d := min
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	j := time.Duration(float64(d) * (0.75 + 0.5*rand.Float64()))
	return j
}

// Redact returns raw with any password replaced by "xxxxx", for error
// messages and logs.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		return u.Redacted()
	}
	return raw
}
