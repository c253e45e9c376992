package server_test

import (
	"testing"
	"time"

	"github.com/chatbench/chatbench/server"
)

// TestMemoryReturnsAfterAMassDisconnect: a server in its own process grows
// by 5,000 idle connections; when they all disconnect, its RSS must come
// back, without anyone asking for a GC, to within a third of the growth
// above the baseline in 5 s (TrimMemoryAfter 1 s on the default settings).
// The same with TrimMemoryAfter 0 is measured and reported: the runtime
// alone keeps the memory for minutes.
func TestMemoryReturnsAfterAMassDisconnect(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 sockets")
	}
	if raceEnabled {
		t.Skip("RSS is not comparable under -race, whose shadow memory stays")
	}
	const (
		n      = 5000
		within = 5 * time.Second
	)
	measure := func(trim time.Duration) (rss0, rss1 int64, back time.Duration, rssEnd int64) {
		cs := startChildServer(t, config(func(c *server.Config) { c.TrimMemoryAfter, c.PingInterval = trim, time.Hour }))
		rss0 = cs.gcRSSKB(t)
		conns := openIdle(t, cs.addr, n)
		waitConnections(t, cs, n)
		time.Sleep(2 * time.Second) // settled, trimmed after the growth
		rss1 = cs.rssKB(t)
		closeAll(conns)
		start := time.Now()
		waitConnections(t, cs, 0)
		target := rss0 + (rss1-rss0)/3
		for {
			rssEnd = cs.rssKB(t)
			back = time.Since(start)
			if rssEnd <= target || back > 2*within {
				return rss0, rss1, back, rssEnd
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	rss0, rss1, back, end := measure(server.DefaultConfig().TrimMemoryAfter)
	t.Logf("TrimMemoryAfter 1s: RSS %d KB idle, %d KB with %d connections, %d KB %v after they all left", rss0, rss1, n, end, back.Round(10*time.Millisecond))
	if rss1-rss0 < n*4 {
		t.Fatalf("RSS grew only %d KB for %d connections: nothing to return", rss1-rss0, n)
	}
	if back > within {
		t.Errorf("RSS %d KB %v after the disconnect, want at most %d KB (baseline + a third of the growth) within %v",
			end, back, rss0+(rss1-rss0)/3, within)
	}
	rss0, rss1, back, end = measure(0)
	t.Logf("TrimMemoryAfter 0 (the runtime alone): RSS %d KB idle, %d KB with %d connections, %d KB %v after they all left", rss0, rss1, n, end, back.Round(10*time.Millisecond))
}
