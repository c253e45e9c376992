package brokerkit

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// Liveness records when a connection last read anything from the backend,
// for health checks that take any traffic as the answer to their probe: on
// a busy connection the probe's reply waits behind messages, and a frozen
// backend sends nothing at all. Its zero value is ready to use.
type Liveness struct {
	last   atomic.Int64                  // unix nanoseconds of the last read; 0: never
	waiter atomic.Pointer[chan struct{}] // closed by the next Heard
}

// Heard records that the connection read something now.
func (l *Liveness) Heard() {
	l.last.Store(time.Now().UnixNano())
	if w := l.waiter.Swap(nil); w != nil {
		close(*w)
	}
}

// Last returns when the connection last read something (zero: never).
func (l *Liveness) Last() time.Time {
	if n := l.last.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// HeardSince returns once the connection read something after t, or an
// error when ctx ends first. One caller at a time.
func (l *Liveness) HeardSince(ctx context.Context, t time.Time) error {
	w := make(chan struct{})
	l.waiter.Store(&w)
	defer l.waiter.CompareAndSwap(&w, nil)
	if l.last.Load() > t.UnixNano() {
		return nil
	}
	select {
	case <-w:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("nothing read since %s: %w", t.Format("15:04:05.000"), ctx.Err())
	}
}
