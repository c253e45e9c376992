package sweep

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/estimate"
	"github.com/chatbench/chatbench/loadgen/results"
)

// kneeStep is a step at n clients in one room, rate r, that passed.
func kneeStep(backend string, urls []string, n int64, r float64) results.Step {
	res := results.NewResult()
	res.Config = results.RunConfig{URLs: urls, Backend: backend, Clients: int(n), RoomSize: int(n), Rooms: 1, Senders: int(n), RatePerS: r, SizeBytes: 100}
	res.Environment.Cores = 2
	sent := int64(float64(n) * r * 10)
	res.Summary = results.Summary{Connected: n, Sent: sent, Expected: sent * n, Delivered: sent * n, SteadyS: 10, DeliveriesPerS: float64(sent*n) / 10}
	res.Outcome.Verdict = results.Complete
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	res.Server = results.Cost{Processes: []results.Process{{Name: "pid 1", Source: "proc", ClockResS: 0.01,
		SendStart: &results.Sample{At: t0, CPUSec: 1}, End: &results.Sample{At: t0.Add(10 * time.Second), CPUSec: 3}}},
		CPUPerMessage: results.Measured(2), MemoryPerConn: results.NotMeasured("not in this test"), CPU: results.Measured(2)}
	return results.Step{Backend: backend, Clients: n, RatePerS: r, OK: true, Result: res}
}

// sweep's table and estimate --from judge the same knee the same way: one
// source for the claims, one scaling rule.
func TestTableAgreesWithEstimate(t *testing.T) {
	cases := []struct {
		backend, server string
		declared        string // sweep --server-backend
		urls            []string
		knee, above     int64
		id, verdict     string
	}{
		// 2 cores at 1/s: claim 5's 1,000–2,000 → 2,236–4,472.
		{"memory", "chatbench serve memory", "", []string{"ws://127.0.0.1:1/ws"}, 2236, 2400, "5", "holds (inside the claimed range)"},
		{"external", "server at ws://127.0.0.1:8000/ws", "", []string{"ws://127.0.0.1:8000/ws?room={{room}}"}, 200, 300, "5", "off by 11× (measured lower)"},
		// A server at a URL declared to fan out through Redis: claim 7a.
		{"external", "server at ws://127.0.0.1:8000/ws", "redis", []string{"ws://127.0.0.1:8000/ws?room={{room}}"}, 200, 300, "7a", "holds (inside the claimed range)"},
		// Claim 7a in rooms of 50 (10% at 1/s) on 2 cores: 5,000–10,000 users
		// ask 25,000–50,000 deliveries/s: √ of that in one room at 1/s is 158–223.
		{"redis", "chatbench serve redis (2 nodes)", "", []string{"ws://a/ws", "ws://b/ws"}, 3000, 3500, "7a", "off by 13× (measured higher)"},
	}
	for _, c := range cases {
		sw := results.NewSweep()
		sw.Environment.Cores = 2
		sw.Config.ServerBackend = c.declared
		sw.Steps = []results.Step{kneeStep(c.backend, c.urls, c.knee, 1)}
		sw.Searches = []results.Search{{Backend: c.backend, RatePerS: 1, Knee: c.knee, Above: c.above, Runs: 4}}
		var tbl bytes.Buffer
		if err := WriteTable(&tbl, sw); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "sweep.json")
		if err := results.WriteFile(path, sw.WriteJSON); err != nil {
			t.Fatal(err)
		}
		ev, err := estimate.ReadResultsFiles(path)
		if err != nil {
			t.Fatal(err)
		}
		var got *estimate.ClaimCheck
		for _, cc := range estimate.CheckClaims(ev, estimate.ClaimContext{}) {
			if cc.ID == c.id && cc.Server == c.server {
				got = &cc
			}
		}
		if got == nil || got.Verdict != c.verdict {
			t.Errorf("%s: estimate --from says %+v, want %q", c.backend, got, c.verdict)
			continue
		}
		if !strings.Contains(tbl.String(), "claim "+c.id+": ") || !strings.Contains(tbl.String(), ": "+got.Verdict+"\n") {
			t.Errorf("%s: sweep's table does not give estimate's verdict %q:\n%s", c.backend, got.Verdict, tbl.String())
		}
	}
}

// A step that timed no delivery and expected none (nobody connected) has
// no p99 and no loss to print: both say "not measured", in the table and
// the progress line, never "0.0 ms" or "0 of 0" (review A3).
func TestUntimedStepNotMeasured(t *testing.T) {
	st := kneeStep("memory", []string{"ws://127.0.0.1:1/ws"}, 4, 1)
	st.Result.Summary = results.Summary{}
	st.OK, st.Why = false, "no delivery was timed"
	sw := results.NewSweep()
	sw.Steps = []results.Step{st}
	sw.Searches = []results.Search{{Backend: "memory", RatePerS: 1, Above: 4, Runs: 1}}
	var tbl, prog bytes.Buffer
	if err := WriteTable(&tbl, sw); err != nil {
		t.Fatal(err)
	}
	r := &stepRunner{cfg: &Config{Progress: &prog, Repeat: 1}, backend: "memory"}
	r.progress(estimate.Step{Clients: 4, RatePerS: 1}, st, estimate.StepResult{Failed: true, Reason: "no delivery was timed"})
	for name, out := range map[string]string{"table": tbl.String(), "progress": prog.String()} {
		if !strings.Contains(out, "not measured (no delivery was timed)") || !strings.Contains(out, "not measured (no delivery was expected)") ||
			strings.Contains(out, "0.0 ms") || strings.Contains(out, "0s,") || strings.Contains(out, "0 of 0") {
			t.Errorf("%s:\n%s", name, out)
		}
	}
}
