package brokerkit

import (
	"context"
	"testing"
	"time"
)

// TestLiveness: HeardSince passes on a read after t (before or during the
// wait) and fails when nothing is read by the end of ctx.
func TestLiveness(t *testing.T) {
	var l Liveness
	if !l.Last().IsZero() {
		t.Fatal("Last before any read is not zero")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	err := l.HeardSince(ctx, time.Now())
	cancel()
	if err == nil {
		t.Fatal("a silent connection passed")
	}

	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- l.HeardSince(context.Background(), start) }()
	// Heard until the waiter returns: a read only counts once it waits, or
	// after start, which every Heard here is.
	for heard := false; !heard; {
		l.Heard()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			heard = true
		case <-time.After(time.Millisecond):
		}
	}
	if last := l.Last(); last.Before(start) {
		t.Errorf("Last %v before the reads after %v", last, start)
	}
	if err := l.HeardSince(context.Background(), start); err != nil {
		t.Errorf("a read already made after t does not count: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := l.HeardSince(ctx, time.Now()); err == nil {
		t.Error("reads before t counted")
	}
}
