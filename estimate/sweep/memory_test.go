package sweep

import (
	"strings"
	"testing"

	"github.com/chatbench/chatbench/loadgen/results"
)

// A running target's memory per connection counts from its first run
// only: later runs' RSS growth misses memory the process kept.
func TestRunningTargetMemoryFromTheFirstRunOnly(t *testing.T) {
	r := &stepRunner{}
	run := func(conns int64, perConn float64) *results.Result {
		res := results.NewResult()
		res.Summary.Connected = conns
		res.Server.MemoryPerConn = results.Measured(perConn)
		r.keptMemory(res)
		return res
	}
	first := run(200, 24000)
	if !first.Server.MemoryPerConn.OK() || first.Server.MemoryPerConn.Value != 24000 {
		t.Fatalf("first run: %+v", first.Server.MemoryPerConn)
	}
	for _, n := range []int64{100, 400} {
		later := run(n, 1300)
		// Both follow the first run's 200 (a run's own connections count
		// from the next run on).
		if later.Server.MemoryPerConn.OK() || !strings.Contains(later.Server.MemoryPerConn.Why, "already held 200 connections") {
			t.Fatalf("run of %d after 200: %+v", n, later.Server.MemoryPerConn)
		}
	}
	if r.held != 400 {
		t.Fatalf("held %d, want 400", r.held)
	}
}
