package server

import (
	"context"
	"time"
)

// keepalive pings connections that have been silent for PingInterval and
// drops those that stay silent PingTimeout longer: half-open peers (a
// vanished laptop, a frozen process) would otherwise hold a socket and a
// queue forever. One goroutine scans every connection; pings are queued like
// data frames, so they cost no goroutine and never interleave with a frame.
func (s *Server) keepalive(ctx context.Context) {
	tick := min(s.cfg.PingInterval, s.cfg.PingTimeout) / 2
	tick = max(tick, 10*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	var snapshot []*client
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now().UnixNano()
		interval, timeout := s.cfg.PingInterval.Nanoseconds(), s.cfg.PingTimeout.Nanoseconds()
		snapshot = s.hub.clients(snapshot[:0])
		for _, c := range snapshot {
			idle := now - c.lastRead.Load()
			switch {
			case idle >= interval+timeout:
				c.closeAsync(discPingTimeout)
			case idle >= interval && now-c.lastPing.Load() >= interval:
				c.lastPing.Store(now)
				if c.enqueue(pingFrame) == queueFull {
					c.slow()
				}
			}
		}
		clear(snapshot)
	}
}
