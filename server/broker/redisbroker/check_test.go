package redisbroker

import (
	"context"
	"testing"
	"time"
)

// TestBusyConnectionIsAlive: a PING whose PONG is late (queued behind the
// connection's messages) passes the check if anything was read meanwhile,
// and fails it if nothing was.
func TestBusyConnectionIsAlive(t *testing.T) {
	for _, busy := range []bool{true, false} {
		sh := &shard{pong: make(chan string, 1)}
		read := sh.read.Load()
		if busy {
			sh.read.Add(1) // a message arrived during the check
		}
		sh.pong <- "0" // a stale PONG, of an earlier check
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		got := sh.answers(ctx, "1", read)
		cancel()
		if got != busy {
			t.Errorf("busy=%v: answers = %v", busy, got)
		}
	}
	sh := &shard{pong: make(chan string, 1)}
	sh.pong <- "7"
	if !sh.answers(context.Background(), "7", 0) {
		t.Error("the awaited PONG did not count")
	}
}
