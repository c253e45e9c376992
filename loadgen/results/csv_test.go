package results_test

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/chatbench/chatbench/loadgen/results"
)

func readCSV(t *testing.T, s string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, s)
	}
	return rows
}

func writeCSV(t *testing.T, table string, files ...results.NamedFile) [][]string {
	t.Helper()
	var b strings.Builder
	if err := results.WriteCSV(&b, table, files); err != nil {
		t.Fatal(err)
	}
	return readCSV(t, b.String())
}

// Two runs' timelines in one table: every second of each, in order, with
// the file and run id; a second with no timed delivery has empty p50/p99.
func TestTimelineCSV(t *testing.T) {
	a, b := fakeRun(10, tight), fakeRun(20, []float64{19.5, 20.5, 20})
	b.Config.RunID = "other"
	rows := writeCSV(t, results.TableTimeline,
		results.NamedFile{Name: "a.json", File: &results.File{Kind: results.KindSwarm, Run: a}},
		results.NamedFile{Name: "b.json", File: &results.File{Kind: results.KindSwarm, Run: b}})
	if strings.Join(rows[0], ",") != "file,step,run_id,t_s,phase,connected,sends,deliveries,p50_ms,p99_ms" {
		t.Errorf("header %q", rows[0])
	}
	// a: ramp, warmup, 6 steady, grace; b: ramp, warmup, 3 steady, grace.
	if len(rows) != 1+9+6 {
		t.Fatalf("%d rows, want 16", len(rows))
	}
	for i, want := range map[int]string{
		1:  "a.json,,run,0,ramp,1000,0,0,,",
		3:  "a.json,,run,2,steady,1000,10,10000,2.45,9.8",
		10: "b.json,,other,0,ramp,1000,0,0,,",
		13: "b.json,,other,3,steady,1000,10,10000,5.125,20.5",
		15: "b.json,,other,5,grace,0,0,3,400,500",
	} {
		if got := strings.Join(rows[i], ","); got != want {
			t.Errorf("row %d = %q, want %q", i, got, want)
		}
	}
	// A sweep: each step's seconds, with the step's index; a step
	// without a result has none.
	sw := results.NewSweep()
	sw.Steps = []results.Step{{Backend: "redis", Clients: 100}, {Backend: "memory", Clients: 1000, Result: b}}
	rows = writeCSV(t, results.TableTimeline, results.NamedFile{Name: "s.json", File: &results.File{Kind: results.KindSweep, Sweep: sw}})
	if len(rows) != 1+len(b.Timeline) || strings.Join(rows[4], ",") != "s.json,1,other,3,steady,1000,10,10000,5.125,20.5" {
		t.Errorf("sweep timeline %q", rows)
	}
}

// A sweep's steps, and a swarm run as one step: measured figures exactly,
// not measured ones empty, never 0.
func TestStepsCSV(t *testing.T) {
	ok := fakeRun(10, tight) // 2 µs CPU per delivery, 9 KB per connection
	ok.Summary.Lost, ok.Summary.Expected = 5, 100000
	ok.Finish()
	ok.Summary.LatencyMs = results.Percentiles{Count: 100000, P50: 2.5, P99: 10}
	over := fakeRun(150, tight)
	over.Server.Processes = nil
	over.Finish()
	over.Summary.LatencyMs = results.Percentiles{Count: 100000, P50: 40, P99: 150}
	over.Outcome = results.Outcome{Verdict: results.Overloaded, Reasons: []string{"p99 150 ms ≥ 100 ms"}}
	sw := results.NewSweep()
	sw.Steps = []results.Step{
		{Backend: "memory", Clients: 1000, RatePerS: 0.5, OK: true, Result: ok},
		{Backend: "memory", Clients: 2000, RatePerS: 0.5, OK: false, Why: "p99 150ms ≥ 100ms", Result: over},
		{Backend: "redis", Clients: 100, RatePerS: 0.5, OK: false, Why: "failed: start redis nodes"},
	}
	rows := writeCSV(t, results.TableSteps,
		results.NamedFile{Name: "sweep.json", File: &results.File{Kind: results.KindSweep, Sweep: sw}},
		results.NamedFile{Name: "run.json", File: &results.File{Kind: results.KindSwarm, Run: over}})
	want := []string{
		"file,step,run_id,backend,clients,rate_per_s,ok,why,p50_ms,p99_ms,loss_ratio,deliveries_per_s,server_cpu_us_per_delivery,server_memory_per_conn_bytes,outcome",
		"sweep.json,0,run,memory,1000,0.5,true,,2.5,10,5e-05,16666.666666666668,2,9000,complete",
		"sweep.json,1,run,memory,2000,0.5,false,p99 150ms ≥ 100ms,40,150,0,16666.666666666668,,,overloaded",
		"sweep.json,2,,redis,100,0.5,false,failed: start redis nodes,,,,,,,",
		"run.json,,run,memory,1000,1,false,p99 150 ms ≥ 100 ms,40,150,0,16666.666666666668,,,overloaded",
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %q", len(rows), len(want), rows)
	}
	for i, w := range want {
		if got := strings.Join(rows[i], ","); got != w {
			t.Errorf("row %d = %q\nwant     %q", i, got, w)
		}
	}
}

func TestCSVTables(t *testing.T) {
	run := results.NamedFile{Name: "r", File: &results.File{Kind: results.KindSwarm, Run: fakeRun(10, tight)}}
	sweep := results.NamedFile{Name: "s", File: &results.File{Kind: results.KindSweep, Sweep: results.NewSweep()}}
	if got := results.DefaultTable([]results.NamedFile{run, run}); got != results.TableTimeline {
		t.Errorf("runs: default %q, want timeline", got)
	}
	if got := results.DefaultTable([]results.NamedFile{run, sweep}); got != results.TableSteps {
		t.Errorf("a run and a sweep: default %q, want steps", got)
	}
	var b strings.Builder
	if err := results.WriteCSV(&b, "histogram", []results.NamedFile{run}); err == nil || b.Len() != 0 {
		t.Errorf("unknown table: err %v, wrote %q", err, b.String())
	}
}
