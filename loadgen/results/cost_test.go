package results_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen/results"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func sample(sec float64, rss, cpu float64) *results.Sample {
	return &results.Sample{At: t0.Add(time.Duration(sec * float64(time.Second))), RSSBytes: rss, CPUSec: cpu}
}

// node is a process read at 0 s (before), rampAt (ramped and send start)
// and endAt, growing grow bytes and spending cpu seconds.
func node(name, id string, rampAt, endAt, grow, cpu float64) results.Process {
	return results.Process{Name: name, Source: "prometheus", Identity: id, ClockResS: 0.01,
		Before: sample(0, 1e7, 1), Ramped: sample(rampAt, 1e7+grow, 1.5), SendStart: sample(rampAt, 1e7+grow, 1.5),
		End: sample(endAt, 1e7+grow, 1.5+cpu)}
}

func TestCostFigures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		c         results.Cost
		cpuPerMsg float64 // 0: not measured
		memPerCon float64 // 0: not measured
		why       string
	}{
		{"one node", results.Cost{Processes: []results.Process{node("a", "a", 1, 11, 9e6, 2)}, Conns: 1000, Received: 1e6},
			2, 9000, ""},
		// Two nodes: their CPU and memory add up over everything received.
		{"two nodes", results.Cost{Processes: []results.Process{node("a", "a", 1, 11, 9e6, 2), node("b", "b", 1, 11, 3e6, 4)}, Conns: 1000, Received: 2e6},
			3, 12000, ""},
		{"one node unreadable", results.Cost{Processes: []results.Process{node("a", "a", 1, 11, 9e6, 2), {Name: "http://b/metrics", Error: "connection refused"}}, Conns: 1000, Received: 2e6},
			0, 0, "http://b/metrics could not be read: connection refused"},
		{"too few ticks", results.Cost{Processes: []results.Process{node("a", "a", 1, 11, 9e6, 0.42)}, Conns: 1000, Received: 1e6},
			0, 9000, "only 42 CPU clock ticks"},
		{"too few conns", results.Cost{Processes: []results.Process{node("a", "a", 1, 11, 9e6, 2)}, Conns: 99, Received: 1e6},
			2, 0, "only 99 connections"},
		{"memory fell", results.Cost{Processes: []results.Process{node("a", "a", 1, 11, -2e6, 2)}, Conns: 1000, Received: 1e6},
			2, 0, "did not grow"},
		{"nothing received", results.Cost{Processes: []results.Process{node("a", "a", 1, 11, 9e6, 2)}, Conns: 1000},
			0, 9000, "no probe was received"},
		{"no process", results.Cost{Conns: 1000, Received: 1e6}, 0, 0, "no server process"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := results.NewResult()
			r.Server = tc.c
			r.Finish()
			c := r.Server
			check := func(what string, f results.Figure, want float64) {
				if want == 0 {
					if f.OK() || f.Value != 0 {
						t.Errorf("%s = %v, want not measured", what, f.Value)
					}
					return
				}
				if !f.OK() || f.Value < want*0.9999 || f.Value > want*1.0001 {
					t.Errorf("%s = %+v, want %v", what, f, want)
				}
			}
			check("cpu per message", c.CPUPerMessage, tc.cpuPerMsg)
			check("memory per conn", c.MemoryPerConn, tc.memPerCon)
			if whys := c.CPUPerMessage.Why + "|" + c.MemoryPerConn.Why; !strings.Contains(whys, tc.why) {
				t.Errorf("reasons %q, want one containing %q", whys, tc.why)
			}
		})
	}
}

// Shards that shared one server each read its whole cost: merged, the
// server counts once, over the span of both runs, divided by both runs'
// messages; merging one result changes nothing.
func TestMergeSharedServerCountsOnce(t *testing.T) {
	shard := func(id string, rampAt, endAt float64, cpuStart, cpuEnd float64, conns, received int64) *results.Result {
		r := results.NewResult()
		p := node("http://s/metrics", "http://s/metrics/start 17", rampAt, endAt, 0, 0)
		p.SendStart.CPUSec, p.End.CPUSec = cpuStart, cpuEnd
		p.Ramped.RSSBytes = 1e7 + float64(conns)*9000*rampAt // the later shard's sample holds both shards' sockets
		r.Server = results.Cost{Processes: []results.Process{p}, Conns: conns, Received: received}
		r.Config.RunID = id
		r.Finish()
		return r
	}
	// The server spent 3 CPU seconds from t=1 s to t=11.5 s carrying 1.5M
	// deliveries, 1M for shard a and 0.5M for shard b, and grew 18 MB with
	// 2,000 connections.
	a := shard("a", 1, 11, 1.5, 4.4, 1000, 1_000_000)
	b := shard("b", 2, 11.5, 1.8, 4.5, 1000, 500_000)
	a.Server.Processes[0].Ramped = sample(1, 1e7+9e6, 1.5)
	b.Server.Processes[0].Ramped = sample(2, 1e7+18e6, 1.8)
	m, err := results.Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.Server.Processes); n != 1 {
		t.Fatalf("merged server has %d processes, want 1 (the same one)", n)
	}
	if f := m.Server.CPUPerMessage; !f.OK() || f.Value < 1.9999 || f.Value > 2.0001 {
		t.Errorf("CPU per delivery %+v, want (4.5 - 1.5) s / 1.5M = 2 µs", f)
	}
	if f := m.Server.MemoryPerConn; !f.OK() || f.Value != 9000 {
		t.Errorf("memory per connection %+v, want 18 MB / 2000 = 9000 B", f)
	}
	one, err := results.Merge(a)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a.Server)
	jo, _ := json.Marshal(one.Server)
	if string(ja) != string(jo) || one.Summary != a.Summary {
		t.Errorf("merging one result changed it:\n%s\n%s", ja, jo)
	}
}

func TestFigureJSON(t *testing.T) {
	for _, f := range []results.Figure{results.Measured(2.5), results.Measured(0), results.NotMeasured("only 3 connections")} {
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var back results.Figure
		if err := json.Unmarshal(b, &back); err != nil || back != f {
			t.Errorf("%+v -> %s -> %+v, %v", f, b, back, err)
		}
	}
	if b, _ := json.Marshal(results.NotMeasured("x")); string(b) != `{"not_measured":"x"}` {
		t.Errorf("not measured as %s", b)
	}
	var f results.Figure
	if err := json.Unmarshal([]byte(`{}`), &f); err == nil {
		t.Error("an empty figure decodes")
	}
}
