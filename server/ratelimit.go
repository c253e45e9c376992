package server

import (
	"math"
	"time"
)

// Rate-limit policies (Config.RateLimitPolicy).
const (
	// RateLimitDrop drops a client's messages past its rate and keeps the
	// connection; each one is counted in
	// chatbench_messages_rejected_total{reason="rate_limit"}.
	RateLimitDrop = "drop"
	// RateLimitClose closes a client that goes past its rate with 1008
	// ("message rate limit exceeded"), counted in
	// chatbench_disconnects_total{reason="rate_limit"}.
	RateLimitClose = "close"
)

// msgLimiter is one connection's token bucket for chat messages, as a GCRA
// (generic cell rate algorithm): one int64 of state, no lock and no
// allocation. Only the connection's reader goroutine uses it.
type msgLimiter struct {
	interval  int64 // ns between messages at the sustained rate; 0: no limit
	tolerance int64 // (burst-1) × interval: how far tat may run ahead of now
	tat       int64 // theoretical arrival time of the next message (Unix ns)
}

func newMsgLimiter(rate float64, burst int) msgLimiter {
	if rate <= 0 {
		return msgLimiter{}
	}
	interval := int64(math.Max(1, float64(time.Second)/rate))
	return msgLimiter{interval: interval, tolerance: int64(max(burst, 1)-1) * interval}
}

// allow reports whether a message arriving at now (Unix ns) is within the
// rate: at most burst at once, then one per interval.
func (l *msgLimiter) allow(now int64) bool {
	if l.interval == 0 {
		return true
	}
	tat := max(l.tat, now)
	if tat-now > l.tolerance {
		return false
	}
	l.tat = tat + l.interval
	return true
}
