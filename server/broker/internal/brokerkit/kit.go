// Package brokerkit is the connection lifecycle the networked brokers
// (redis, rabbitmq) share, so that each of them implements only a Transport:
// how to connect, apply the wanted subscriptions, receive and publish a
// batch.
//
// The Supervisor owns the rest: ready state, the bounded publish queue and
// its one publishing goroutine, the dispatchers that hand received messages
// to the Handler (rooms hashed over them, the node's own messages dropped
// before they take a place), the health check, reconnecting with backoff and
// jitter, the shutdown order, and the chatbench_backend_* metrics.
package brokerkit

import (
	"math/rand/v2"
	"net/url"
	"time"
)

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
