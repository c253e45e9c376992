package server_test

import (
	"testing"
	"time"

	"github.com/chatbench/chatbench/server"
	"github.com/chatbench/chatbench/server/wstest"
)

// TestPingFloodRaisesOthersP99AtMostTwofold: 20 clients in a room, each
// sending a timestamp every 50 ms, against a server in its own process on
// the default settings. Their p99 latency is measured for 3 s without and
// 3 s with a client that floods pings (reconnecting each time it is
// closed); with the default ping limit the flood may raise it at most 2×
// (the baseline floored at 5 ms, below which it is scheduling noise). The
// same is measured, and only reported, with the limit off
// (MaxPingRate 0): what the limit saves.
func TestPingFloodRaisesOthersP99AtMostTwofold(t *testing.T) {
	if testing.Short() {
		t.Skip("12 s of load")
	}
	if raceEnabled {
		t.Skip("timing-bound: under -race a latency ratio measures the race detector; checked without -race")
	}
	const (
		clients = 20
		period  = 50 * time.Millisecond
		phase   = 3 * time.Second
		floor   = 5 * time.Millisecond
	)
	measure := func(cs *childServer, flood bool) (p99 time.Duration, cpu float64, pings, conns int64) {
		rc := startRealClients(t, cs.addr, "busy", clients, clients, period, 100)
		cpu0 := cs.metric(t, "process_cpu_seconds_total")
		var f *wstest.PingFlooder
		if flood {
			f = wstest.StartPingFlooder(cs.addr)
		}
		time.Sleep(phase)
		if f != nil {
			pings, conns = f.Stop()
		}
		cpu = cs.metric(t, "process_cpu_seconds_total") - cpu0
		return checkRoom(t, rc, raceSlowdown*time.Second).P(0.99), cpu, pings, conns
	}
	type result struct {
		base, flooded  time.Duration
		baseCPU, fCPU  float64
		pings, conns   int64
		closedForPings float64
	}
	run := func(pingRate float64) result {
		cs := startChildServer(t, config(func(c *server.Config) { c.MaxPingRate = pingRate }))
		var r result
		r.base, r.baseCPU, _, _ = measure(cs, false)
		r.flooded, r.fCPU, r.pings, r.conns = measure(cs, true)
		r.closedForPings = cs.metric(t, `chatbench_disconnects_total{reason="ping_flood"}`)
		return r
	}
	limited := run(server.DefaultConfig().MaxPingRate)
	open := run(0)
	for _, x := range []struct {
		name string
		r    result
	}{{"default ping limit", limited}, {"no ping limit", open}} {
		t.Logf("%s: others' p99 %v -> %v while one client flooded %d pings over %d connections (%.0f closed for pings); server CPU %.2f -> %.2f s per %v",
			x.name, x.r.base.Round(time.Microsecond), x.r.flooded.Round(time.Microsecond), x.r.pings, x.r.conns, x.r.closedForPings, x.r.baseCPU, x.r.fCPU, phase)
	}
	if open.pings < 100_000 {
		t.Errorf("the unlimited flood wrote only %d pings: it did not flood", open.pings)
	}
	// Every connection is closed for its pings, but the last may have been
	// hung up by the flooder first when it stopped.
	if limited.closedForPings < 1 || limited.closedForPings < float64(limited.conns-1) {
		t.Errorf("%v of the flooder's %d connections closed for pings, want all (but perhaps the last)", limited.closedForPings, limited.conns)
	}
	if bound := 2 * max(limited.base, floor); limited.flooded > bound {
		t.Errorf("a ping flood raised the others' p99 from %v to %v, want at most %v (2×, baseline floored at %v)", limited.base, limited.flooded, bound, floor)
	}
}
