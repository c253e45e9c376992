package server

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestTrimMemoryAfterGrowthAndAfterShrinkage: a trim (two forced GCs) runs
// once the count has moved by more than 10% and 256 and held still, after
// growth and after shrinkage alike, and not for small moves or a stable
// count.
func TestTrimMemoryAfterGrowthAndAfterShrinkage(t *testing.T) {
	var calls atomic.Int32
	orig := freeOSMemory
	freeOSMemory = func() { calls.Add(1) }
	defer func() { freeOSMemory = orig }()

	s := &Server{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.trimMemory(ctx, time.Millisecond); close(done) }()
	waitCalls := func(want int32) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for calls.Load() < want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond) // a stable count: no further trims
		if n := calls.Load(); n != want {
			t.Fatalf("%d calls, want %d", n, want)
		}
	}

	s.conns.Store(100) // small growth: below the 256 floor, no trim
	time.Sleep(20 * time.Millisecond)
	waitCalls(0)
	s.conns.Store(5000)
	waitCalls(2)
	s.conns.Store(4800) // -4%: no trim
	time.Sleep(20 * time.Millisecond)
	waitCalls(2)
	s.conns.Store(0) // mass disconnect
	waitCalls(4)
	cancel()
	<-done
}
