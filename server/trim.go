package server

import (
	"context"
	"runtime/debug"
	"time"
)

// freeOSMemory is debug.FreeOSMemory; tests count calls.
var freeOSMemory = debug.FreeOSMemory

// trimMemory returns memory to the OS after the connection count has grown
// and then held still. Every upgrade leaves garbage behind (net/http's
// request state and its two 4 KiB buffers, which a hijacked connection never
// returns to net/http's pools); after a burst of connections the Go runtime
// keeps that memory for up to minutes (until a forced GC and the background
// scavenger). A server sized by its RSS should not carry a burst's garbage,
// so once the count has been stable for settle, one GC returns it.
func (s *Server) trimMemory(ctx context.Context, settle time.Duration) {
	t := time.NewTicker(max(settle/4, 10*time.Millisecond))
	defer t.Stop()
	var trimmedAt, last int64
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
			if n < trimmedAt {
				trimmedAt = n // shrinking: re-arm relative to the lower count
			}
			grown := n-trimmedAt > max(trimmedAt/10, 256) // >10% (and >256) since the last trim
			if grown && now.Sub(changedAt) >= settle {
				freeOSMemory()
				trimmedAt = n
			}
		}
	}
}
