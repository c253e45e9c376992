package htmlreport_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen/htmlreport"
	"github.com/chatbench/chatbench/loadgen/htmlreport/htmlreporttest"
	"github.com/chatbench/chatbench/loadgen/results"
)

// fakeRun is a swarm result with realistic shapes: log-normal latencies
// (send-time a little under due-time), a ramp, warmup, steady and grace
// timeline, and server and swarm memory.
func fakeRun(seed uint64, n int) *results.Result {
	rng := rand.New(rand.NewPCG(seed, 1))
	r := &results.Result{Schema: results.Schema, Kind: "swarm", Runs: 1, StartedAt: time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)}
	r.Config = results.RunConfig{URLs: []string{"ws://127.0.0.1:8080/ws?room={{room}}&user={{user}}"}, Backend: "memory",
		Clients: n, RoomSize: n, Rooms: 1, Senders: 100, RatePerS: 3, SizeBytes: 100, DurationS: 10, RunID: "fake"}
	h := &r.Histograms
	h.LatencyDue, h.LatencySend, h.Connect, h.FanoutFirst, h.FanoutLast = results.NewHist(), results.NewHist(), results.NewHist(), results.NewHist(), results.NewHist()
	for i := 0; i < 20000; i++ {
		us := math.Exp(rng.NormFloat64()*0.8 + math.Log(8000))
		_ = h.LatencyDue.RecordValue(int64(us))
		_ = h.LatencySend.RecordValue(int64(us * 0.85))
	}
	phases := []string{"ramp", "ramp", "warmup", "warmup"}
	for i := 0; i < 10; i++ {
		phases = append(phases, "steady")
	}
	phases = append(phases, "grace")
	for t, ph := range phases {
		row := results.Second{T: t, Phase: ph, Connected: int64(min(n, (t+1)*n/2))}
		if ph != "ramp" {
			row.Sends = 300
			row.Deliveries = int64(300*n) - int64(rng.IntN(1000))
			row.P50Ms = 8 + rng.Float64()*2
			row.P99Ms = 30 + rng.Float64()*20
		}
		r.Timeline = append(r.Timeline, row)
	}
	s := &r.Summary
	s.Connected, s.Sent, s.Expected, s.Delivered, s.SteadyS = int64(n), 3000, int64(3000*n), int64(3000*n), 10
	s.DeliveriesPerS = float64(s.Delivered) / s.SteadyS
	s.Received = s.Delivered
	r.Server = fakeCost("http://127.0.0.1:8080/metrics", n, s.Received, 8900, 2.3)
	r.Swarm = fakeCost("swarm", n, s.Received, 6500, 2.2)
	r.Finish()
	r.Decide(results.DefaultLimits(), nil)
	return r
}

// fakeCost is one process that grew perConn bytes per connection and spent
// usPerMsg µs per message received.
func fakeCost(name string, conns int, received int64, perConn, usPerMsg float64) results.Cost {
	at := time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)
	sample := func(sec int, rss, cpu float64) *results.Sample {
		return &results.Sample{At: at.Add(time.Duration(sec) * time.Second), RSSBytes: rss, CPUSec: cpu}
	}
	ramped := sample(2, 1e7+perConn*float64(conns), 1)
	p := results.Process{Name: name, Source: "proc", Identity: name, ClockResS: 0.01, Before: sample(0, 1e7, 0.5),
		Ramped: ramped, SendStart: ramped, End: sample(14, ramped.RSSBytes, 1+usPerMsg*float64(received)/1e6)}
	return results.Cost{Processes: []results.Process{p}, Conns: int64(conns), Received: received}
}

func resultFile(t *testing.T, dir, name string, r *results.Result) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := r.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// sweepFileOf writes a sweep results file with the real writer
// (estimate/sweep): two rates, knees found by doubling then bisecting.
func sweepFileOf(t *testing.T, dir string) string {
	t.Helper()
	res := results.NewSweep()
	res.Knees["memory"] = 3000
	res.Config.SLOP99Ms, res.Config.Backends, res.Config.Rates = 100, []string{"memory"}, []float64{1, 10}
	seed := uint64(10)
	for _, rate := range []float64{1, 10} {
		for _, n := range []int64{500, 1000, 2000, 4000, 3000, 3500} {
			seed++
			r := fakeRun(seed, int(n))
			// p99 grows as N² × rate, crossing 100 ms at 3,000 (1/s) or about 950 (10/s).
			p99 := 100 * float64(n*n) / (3200 * 3200) * rate / (1 + (rate-1)*0.1)
			r.Server = fakeCost("http://127.0.0.1:8080/metrics", int(n), r.Summary.Received, 8000+4e6/float64(n), 2.3)
			r.Finish()
			r.Summary.LatencyMs.P99 = p99
			ok := p99 < 100
			why := ""
			if !ok {
				why = "p99 over the SLO"
			}
			res.Steps = append(res.Steps, results.Step{Backend: "memory", Clients: n, RatePerS: rate, OK: ok, Why: why, Result: r})
		}
	}
	res.Searches = []results.Search{{Backend: "memory", RatePerS: 1, Knee: 3000, Above: 3500, Runs: 6},
		{Backend: "memory", RatePerS: 10, Knee: 1000, Above: 2000, Runs: 6}}
	p := filepath.Join(dir, "sweep.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := res.WriteJSON(f); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadAndWrite(t *testing.T) {
	dir := t.TempDir()
	a := resultFile(t, dir, "a.json", fakeRun(1, 1000))
	b := resultFile(t, dir, "b.json", fakeRun(2, 2000))
	rep, err := htmlreport.Load(a, b, sweepFileOf(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 2 || len(rep.Sweeps) != 1 || len(rep.Sweeps[0].Steps) == 0 || len(rep.Sweeps[0].Knees) == 0 {
		t.Fatalf("loaded %d runs, %d sweeps: %+v", len(rep.Runs), len(rep.Sweeps), rep.Sweeps)
	}
	rep.Title = `chatbench <report> & "friends"`
	var out bytes.Buffer
	if err := htmlreport.Write(&out, rep); err != nil {
		t.Fatal(err)
	}
	html := out.String()
	for _, id := range []string{"run1-latency-distribution", "run1-latency-over-time", "run1-connections", "run1-deliveries",
		"run1-memory", "run2-latency-distribution", "all-latency-distribution", "all-memory", "sweep1-capacity", "sweep1-memory"} {
		if !strings.Contains(html, `<figure class="chart" id="`+id+`"><svg`) {
			t.Errorf("no inline SVG figure %s", id)
		}
	}
	if strings.Contains(html, "<report>") || !strings.Contains(html, "chatbench &lt;report&gt; &amp;") {
		t.Error("title not escaped")
	}
	if strings.Contains(html, "<?xml") {
		t.Error("an XML prolog inside the HTML")
	}
	// Self-contained: nothing fetched at view time (namespace URIs are not fetched).
	fetch := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import|<script[^>]+src`)
	if m := fetch.FindString(html); m != "" {
		t.Errorf("the report loads something from the network: %q", m)
	}
	for _, want := range []string{"99.9%", "90%", "knee ", "SLO: p99 &lt; 100 ms", "from due time", "from send time", "the blog&#39;s 10 KB"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for name, data := range map[string]string{
		"not json":   `<html>`,
		"schema":     `{"schema":"other/v9","kind":"swarm"}`,
		"kind":       `{"schema":"chatbench.results/v1","kind":"weird"}`,
		"bad result": `{"schema":"chatbench.results/v1","kind":"swarm","histograms":{"latency_due":"!!"}}`,
	} {
		if _, err := htmlreport.Parse(name, []byte(data)); err == nil {
			t.Errorf("%s: parsed, want an error", name)
		}
	}
	if err := htmlreport.Write(&bytes.Buffer{}, &htmlreport.Report{}); err == nil {
		t.Error("an empty report rendered")
	}
}

func TestReportDrawsInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	dir := t.TempDir()
	a := resultFile(t, dir, "a.json", fakeRun(1, 1000))
	rep, err := htmlreport.Load(a, sweepFileOf(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	rep.Sweeps[0].Steps = rep.Sweeps[0].Steps[:6] // one rate: fewer figures, a quicker test
	out := filepath.Join(dir, "report.html")
	if err := htmlreport.WriteFile(out, rep); err != nil {
		t.Fatal(err)
	}
	ids := htmlreporttest.DrawnFigures(t, out)
	want := map[string]bool{"run1-latency-distribution": true, "run1-latency-over-time": true, "run1-connections": true,
		"run1-deliveries": true, "run1-memory": true, "sweep1-capacity": true, "sweep1-memory": true, "sweep1-knee1-latency-distribution": true}
	for _, id := range ids {
		delete(want, id)
	}
	if len(want) > 0 {
		t.Errorf("figures missing in the browser: %v (saw %v)", want, ids)
	}
}

// A run of idle sockets has no latency to plot: those figures are left out,
// the others stay.
func TestIdleRunOmitsLatencyPlots(t *testing.T) {
	r := fakeRun(3, 100)
	r.Histograms.LatencyDue, r.Histograms.LatencySend = results.NewHist(), results.NewHist()
	for i := range r.Timeline {
		r.Timeline[i].P50Ms, r.Timeline[i].P99Ms, r.Timeline[i].Sends, r.Timeline[i].Deliveries = 0, 0, 0, 0
	}
	var out bytes.Buffer
	if err := htmlreport.Write(&out, htmlreport.ForRun(r, "test")); err != nil {
		t.Fatal(err)
	}
	html := out.String()
	for id, want := range map[string]bool{"run1-latency-distribution": false, "run1-latency-over-time": false,
		"run1-connections": true, "run1-deliveries": true, "run1-memory": true} {
		if got := strings.Contains(html, `id="`+id+`"`); got != want {
			t.Errorf("figure %s present: %v, want %v", id, got, want)
		}
	}
}
