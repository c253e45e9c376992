package server

import (
	"context"
	"runtime/debug"
	"time"
)

// freeOSMemory is debug.FreeOSMemory; tests count calls.
var freeOSMemory = debug.FreeOSMemory

// trimMemory returns memory to the OS after the connection count has grown
// or shrunk by more than 10% (and by more than 256) and then held still.
// Every upgrade leaves garbage behind (net/http's request state and its two
// 4 KiB buffers, which a hijacked connection never returns to net/http's
// pools), and every connection that ends leaves its buffers, its queue and
// its goroutine's stack. The Go runtime keeps that memory for up to minutes
// (until a forced GC and the background scavenger); a server sized by its
// RSS should not carry it, so once the count has been stable for settle,
// one GC returns it.
func (s *Server) trimMemory(ctx context.Context, settle time.Duration) {
	t := time.NewTicker(max(settle/4, 10*time.Millisecond))
	defer t.Stop()
	var trimmedAt, last int64 // the count at the last trim, and at the last tick
	changedAt := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n := s.conns.Load()
			if n != last {
				last, changedAt = n, now
			}
			moved := abs(n-trimmedAt) > max(trimmedAt/10, 256) // >10% (and >256) since the last trim
			if moved && now.Sub(changedAt) >= settle {
				// Twice: objects in sync.Pools survive one GC (in the
				// pools' victim caches) and go with the second.
				freeOSMemory()
				freeOSMemory()
				trimmedAt = n
			}
		}
	}
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
