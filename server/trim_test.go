package server

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestTrimMemoryRunsOnceAfterGrowthSettles(t *testing.T) {
	var calls atomic.Int32
	orig := freeOSMemory
	freeOSMemory = func() { calls.Add(1) }
	defer func() { freeOSMemory = orig }()

	s := &Server{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.trimMemory(ctx, time.Millisecond); close(done) }()

	s.conns.Store(100) // small growth: below the 256 floor, no trim
	time.Sleep(20 * time.Millisecond)
	if n := calls.Load(); n != 0 {
		t.Fatalf("trimmed %d times after growing to 100", n)
	}
	s.conns.Store(5000)
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if calls.Load() != 1 {
		t.Fatalf("no trim after growing to 5000 and settling")
	}
	time.Sleep(20 * time.Millisecond) // stable count: no further trims
	cancel()
	<-done
	if n := calls.Load(); n != 1 {
		t.Fatalf("trimmed %d times at a stable count, want 1", n)
	}
}
