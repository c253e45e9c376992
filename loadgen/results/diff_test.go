package results_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/chatbench/chatbench/loadgen/results"
)

// fakeRun is a complete run of 1000 clients whose steady seconds had the
// given p99s (p50 a quarter of each) and delivered 10,000 each, with a
// whole-run p99 of p99. Its warmup and grace seconds have wild p99s that
// must never count: the steady phase is what a diff compares.
func fakeRun(p99 float64, secP99 []float64) *results.Result {
	r := results.NewResult()
	r.Config = results.RunConfig{RunID: "run", Backend: "memory", Clients: 1000, Rooms: 1, RoomSize: 1000,
		Senders: 10, RatePerS: 1, SizeBytes: 100, DurationS: float64(len(secP99))}
	r.Outcome.Verdict = results.Complete
	r.Server = results.Cost{Processes: []results.Process{node("server", "s", 1, 11, 9e6, 2)}, Conns: 1000, Received: 1e6}
	r.Swarm = results.Cost{Processes: []results.Process{node("swarm", "w", 1, 11, 4e6, 3)}, Conns: 1000, Received: 1e6}
	r.Summary.Expected, r.Summary.Delivered = 100000, 100000
	r.Summary.SteadyS = float64(len(secP99))
	r.Timeline = []results.Second{{T: 0, Phase: "ramp", Connected: 1000}, {T: 1, Phase: "warmup", Deliveries: 1, P50Ms: 900, P99Ms: 1000}}
	for i, v := range secP99 {
		r.Timeline = append(r.Timeline, results.Second{T: 2 + i, Phase: "steady", Connected: 1000, Sends: 10, Deliveries: 10000, P50Ms: v / 4, P99Ms: v})
	}
	r.Timeline = append(r.Timeline, results.Second{T: 2 + len(secP99), Phase: "grace", Deliveries: 3, P50Ms: 400, P99Ms: 500})
	r.Finish()
	r.Summary.LatencyMs = results.Percentiles{Count: 100000, P50: p99 / 4, P99: p99}
	return r
}

func rowOf(t *testing.T, c *results.Comparison, metric string) results.DiffRow {
	t.Helper()
	for _, r := range c.Rows {
		if r.Metric == metric {
			return r
		}
	}
	t.Fatalf("no row %q in %+v", metric, c.Rows)
	return results.DiffRow{}
}

var (
	sameLoadA = []float64{13.047, 12.903, 13.655, 17.887, 17.167, 150.911, 112.767, 18.591, 23.551, 13.815}
	sameLoadB = []float64{13.359, 13.015, 13.271, 18.047, 19.295, 12.719, 14.479, 31.599, 34.623, 16.127}
	tight     = []float64{9.8, 10.2, 10, 9.9, 10.1, 10}
	wideA     = []float64{10, 70, 25, 55, 40, 20, 60}
	wideB     = []float64{65, 15, 50, 30, 45, 70, 20}
)

// Two runs with the same figures: every figure is the same, no change.
func TestDiffIdenticalRuns(t *testing.T) {
	c := results.DiffRuns(fakeRun(10, tight), fakeRun(10, tight))
	if len(c.Rows) != 8 {
		t.Fatalf("%d rows, want 8: %+v", len(c.Rows), c.Rows)
	}
	for _, r := range c.Rows {
		if r.Verdict != results.DiffSame || !r.Change.OK() || r.Change.Value != 0 || r.A != r.B {
			t.Errorf("%s: %+v, want the same", r.Metric, r)
		}
	}
	if len(c.Notes) != 0 {
		t.Errorf("notes %q for two identical runs", c.Notes)
	}
	// A real results file compared with itself.
	f, err := results.ReadFile("../../estimate/testdata/swarm-memory-1000.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err = results.Diff(f, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.Rows {
		if r.Verdict != results.DiffSame && r.Verdict != results.DiffNotMeasured {
			t.Errorf("%s: %s comparing a file with itself", r.Metric, r.Verdict)
		}
	}
}

func TestDiffLatency(t *testing.T) {
	noLatency := fakeRun(10, tight)
	noLatency.Summary.LatencyMs = results.Percentiles{}
	for _, tc := range []struct {
		name string
		a, b *results.Result
		want string
	}{
		// p99 doubles while each run's seconds agree within 2%: a change
		// (the warmup's 1000 ms second, were it counted, would hide it).
		{"2x p99, tight seconds", fakeRun(10, tight), fakeRun(20, []float64{19.8, 20.2, 20, 19.9, 20.1, 20}), results.DiffChange},
		// 5% higher while the seconds range over 10–70 ms: noise.
		{"5% p99, wide seconds", fakeRun(40, wideA), fakeRun(42, wideB), results.DiffNoise},
		// Two runs of one load measured here (swarm -n 500 --rooms 5
		// --senders 50 --rate 10/s --duration 10s, twice): no change, though
		// their whole-run p99s are 82 and 20 ms, because two of A's seconds
		// were slow. Their per-second p99s are what tells.
		{"same load, two slow seconds", fakeRun(82.431, sameLoadA), fakeRun(19.839, sameLoadB), results.DiffNoise},
		{"2 steady seconds", fakeRun(10, []float64{10, 10}), fakeRun(20, tight), results.DiffNoSpread},
		{"B timed nothing", fakeRun(10, tight), noLatency, results.DiffNotMeasured},
	} {
		r := rowOf(t, results.DiffRuns(tc.a, tc.b), "latency p99")
		if r.Verdict != tc.want {
			t.Errorf("%s: verdict %q, want %q (%+v)", tc.name, r.Verdict, tc.want, r)
		}
		if tc.want == results.DiffNotMeasured && (r.Change.OK() || r.Relative.OK() || r.Noise != nil) {
			t.Errorf("%s: a change is shown for a figure not measured: %+v", tc.name, r)
		}
	}
	// The change and its relative size are B − A over A; the verdict
	// tested the per-second means (2.5 and 2.5 ms: the same seconds).
	r := rowOf(t, results.DiffRuns(fakeRun(10, tight), fakeRun(20, tight)), "latency p50")
	if r.Change.Value != 2.5 || r.Relative.Value != 1 || r.Verdict != results.DiffNoise ||
		r.Compared == nil || r.Compared.What != "mean per-second p50" || r.Compared.A != 2.5 || r.Compared.B != 2.5 {
		t.Errorf("p50 2.5 → 5 ms over the same seconds: %+v, want change 2.5, relative 1, noise, compared 2.5 and 2.5", r)
	}
}

func TestDiffLoss(t *testing.T) {
	lossy := func(lost, expected int64) *results.Result {
		r := fakeRun(10, tight)
		r.Summary.Lost, r.Summary.Expected = lost, expected
		return r
	}
	for _, tc := range []struct {
		name string
		a, b *results.Result
		want string
	}{
		{"10 vs 12 of 100,000", lossy(10, 100000), lossy(12, 100000), results.DiffNoise},
		{"10 vs 1000 of 100,000", lossy(10, 100000), lossy(1000, 100000), results.DiffChange},
		{"none lost", lossy(0, 100000), lossy(0, 100000), results.DiffSame},
		// Outside the normal band, but 5 losses are 1/16 likely to fall
		// on one side by chance (exact test): noise.
		{"0 vs 5 of 100,000", lossy(0, 100000), lossy(5, 100000), results.DiffNoise},
		{"nothing expected in A", lossy(0, 0), lossy(5, 100000), results.DiffNotMeasured},
	} {
		r := rowOf(t, results.DiffRuns(tc.a, tc.b), "loss")
		if r.Verdict != tc.want {
			t.Errorf("%s: verdict %q, want %q (%+v)", tc.name, r.Verdict, tc.want, r)
		}
	}
	r := rowOf(t, results.DiffRuns(lossy(0, 100000), lossy(5, 100000)), "loss")
	if r.Noise == nil || r.Change.Value <= *r.Noise {
		t.Errorf("0 vs 5: the change %v should be outside the normal band %v (the exact test decides)", r.Change.Value, r.Noise)
	}
}

func TestDiffDeliveries(t *testing.T) {
	with := func(perS ...int64) *results.Result {
		r := fakeRun(10, tight)
		r.Summary.Delivered = 0
		for i, d := range perS {
			r.Timeline[2+i].Deliveries = d
			r.Summary.Delivered += d
		}
		r.Finish()
		r.Summary.LatencyMs = results.Percentiles{Count: 100000, P50: 2.5, P99: 10}
		return r
	}
	a := with(10000, 10010, 9990, 10005, 9995, 10000)
	for _, tc := range []struct {
		name string
		b    *results.Result
		want string
	}{
		{"halved", with(5000, 5010, 4990, 5005, 4995, 5000), results.DiffChange},
		{"+0.03%", with(10003, 10013, 9993, 10008, 9998, 10003), results.DiffNoise},
	} {
		r := rowOf(t, results.DiffRuns(a, tc.b), "deliveries/s")
		if r.Verdict != tc.want {
			t.Errorf("%s: verdict %q, want %q (%+v)", tc.name, r.Verdict, tc.want, r)
		}
	}
}

func TestDiffCost(t *testing.T) {
	withServer := func(cpu, grow float64) *results.Result {
		r := fakeRun(10, tight)
		r.Server.Processes = []results.Process{node("server", "s", 1, 11, grow, cpu)}
		r.Finish()
		r.Summary.LatencyMs = results.Percentiles{Count: 100000, P50: 2.5, P99: 10}
		return r
	}
	// 2 s of CPU over 10⁶ deliveries: 2 µs, known to ±1 tick of 10 ms
	// (±0.5%, ±0.01 µs) on each side.
	a := withServer(2, 9e6)
	for _, tc := range []struct {
		name      string
		b         *results.Result
		cpu, mem  string
		cpuChange float64
	}{
		{"within a tick", withServer(2.015, 9e6), results.DiffNoise, results.DiffSame, 0.015},
		{"25% more CPU, twice the memory", withServer(2.5, 18e6), results.DiffBeyondResolution, results.DiffNoSpread, 0.5},
		{"42 ticks: not measured", withServer(0.42, 9e6), results.DiffNotMeasured, results.DiffSame, 0},
	} {
		c := results.DiffRuns(a, tc.b)
		cpu, mem := rowOf(t, c, "server CPU per delivery"), rowOf(t, c, "server memory per connection")
		if cpu.Verdict != tc.cpu || mem.Verdict != tc.mem {
			t.Errorf("%s: cpu %q, memory %q; want %q, %q (%+v / %+v)", tc.name, cpu.Verdict, mem.Verdict, tc.cpu, tc.mem, cpu, mem)
		}
		if cpu.Change.OK() && math.Abs(cpu.Change.Value-tc.cpuChange) > 1e-9 {
			t.Errorf("%s: cpu change %v, want %v", tc.name, cpu.Change.Value, tc.cpuChange)
		}
		if tc.cpu == results.DiffNoise && (cpu.Noise == nil || math.Abs(*cpu.Noise-0.02) > 1e-9) {
			t.Errorf("%s: cpu noise %v, want ±0.02 µs (a tick on each side)", tc.name, cpu.Noise)
		}
		if tc.cpu == results.DiffNotMeasured && (cpu.Change.OK() || !strings.Contains(cpu.Change.Why, "B: only 42 CPU clock ticks")) {
			t.Errorf("%s: change %+v, want not measured saying why", tc.name, cpu.Change)
		}
	}
}

// Neither side measured: both reasons, no change.
func TestDiffNeitherMeasured(t *testing.T) {
	a, b := fakeRun(10, tight), fakeRun(10, tight)
	a.Server.Processes, b.Server.Processes = nil, nil
	a.Finish()
	b.Finish()
	r := rowOf(t, results.DiffRuns(a, b), "server memory per connection")
	if r.Verdict != results.DiffNotMeasured || r.Change.OK() || r.Relative.OK() ||
		!strings.HasPrefix(r.Change.Why, "A: no server process") || !strings.Contains(r.Change.Why, "; B: no server process") {
		t.Errorf("%+v, want not measured with both reasons", r)
	}
}

func TestDiffNotes(t *testing.T) {
	a, b := fakeRun(10, tight), fakeRun(10, tight)
	b.Config.Clients, b.Environment.Cores = 2000, 4
	b.Outcome = results.Outcome{Verdict: results.Overloaded, Reasons: []string{"lost 2% of deliveries"}}
	got := strings.Join(results.DiffRuns(a, b).Notes, "\n")
	for _, want := range []string{"the loads differ (clients 1000 → 2000)", "the machines differ (cores 0 → 4)",
		"B is overloaded (lost 2% of deliveries)"} {
		if !strings.Contains(got, want) {
			t.Errorf("notes %q lack %q", got, want)
		}
	}
}

func TestDiffKinds(t *testing.T) {
	run := &results.File{Kind: results.KindSwarm, Run: fakeRun(10, tight)}
	sw := &results.File{Kind: results.KindSweep, Sweep: results.NewSweep()}
	_, err := results.Diff(run, sw)
	var km *results.KindMismatchError
	if !errors.As(err, &km) || km.A != "swarm" || km.B != "sweep" {
		t.Fatalf("err %v, want a KindMismatchError swarm/sweep", err)
	}
}

// sweepOf is a sweep of memory at 1/s whose steps are "N ok" or "N fail".
func sweepOf(knee, above int64, steps ...string) *results.Sweep {
	s := results.NewSweep()
	s.Config.SLOP99Ms = 100
	s.Searches = []results.Search{{Backend: "memory", RatePerS: 1, Knee: knee, Above: above}}
	for _, st := range steps {
		n, verdict, _ := strings.Cut(st, " ")
		var clients int64
		if err := json.Unmarshal([]byte(n), &clients); err != nil {
			panic(err)
		}
		s.Steps = append(s.Steps, results.Step{Backend: "memory", RatePerS: 1, Clients: clients, OK: verdict == "ok"})
	}
	return s
}

func TestDiffKnees(t *testing.T) {
	redis := sweepOf(1000, 1050)
	redis.Searches[0].Backend = "redis"
	for _, tc := range []struct {
		name   string
		a, b   *results.Sweep
		want   string
		ab, bb string // the bounds in the basis
	}{
		{"same search", sweepOf(1000, 1050), sweepOf(1000, 1050), results.DiffSame, "[1,000, 1,049]", "[1,000, 1,049]"},
		{"overlapping ranges", sweepOf(1000, 1050), sweepOf(1020, 1070), results.DiffNoise, "[1,000, 1,049]", "[1,020, 1,069]"},
		// The 287 → 400, each searched once: beyond the search's
		// resolution, but nothing says how much a knee varies.
		{"287 vs 400, once", sweepOf(287, 300), sweepOf(400, 420), results.DiffBeyondResolution, "[287, 299]", "[400, 419]"},
		// The same with repeated steps that agreed: a change.
		{"287 vs 400, repeats agree", sweepOf(287, 300, "287 ok", "300 fail", "287 ok"), sweepOf(400, 420, "400 ok", "420 fail", "420 fail"),
			results.DiffChange, "[287, 299]", "[400, 419]"},
		// Repeats that disagree (400 passed once, 300 failed once): the
		// capacity lies anywhere in [299, 400], and 400 is inside: noise.
		{"287 vs 400, repeats disagree", sweepOf(287, 300, "287 ok", "300 fail", "400 ok", "400 fail"), sweepOf(400, 420, "400 ok", "420 fail", "400 ok"),
			results.DiffNoise, "[299, 400]", "[400, 419]"},
		// Nothing failed up to 1000: the capacity may be 2000.
		{"unbounded", sweepOf(1000, 0), sweepOf(2000, 2100), results.DiffNoise, "≥ 1,000", "[2,000, 2,099]"},
		{"only in A", sweepOf(1000, 1050), redis, results.DiffNotMeasured, "", ""},
	} {
		c := results.DiffSweeps(tc.a, tc.b)
		r := c.Rows[0]
		if r.Metric != "knee memory at 1/s" || r.Verdict != tc.want || (tc.ab != "" && !strings.Contains(r.Basis, tc.ab+" and "+tc.bb)) {
			t.Errorf("%s: %q %q (%s), want %q with %s and %s", tc.name, r.Metric, r.Verdict, r.Basis, tc.want, tc.ab, tc.bb)
		}
		if r.Noise != nil {
			t.Errorf("%s: a knee has a symmetric noise %v", tc.name, *r.Noise)
		}
	}
	c := results.DiffSweeps(sweepOf(1000, 1050), redis)
	if len(c.Rows) != 2 || c.Rows[1].Metric != "knee redis at 1/s" || c.Rows[1].Verdict != results.DiffNotMeasured ||
		c.Rows[1].A.OK() || !strings.Contains(c.Rows[1].Change.Why, "A: no search for redis at 1/s") {
		t.Errorf("rows %+v, want memory then redis, redis not measured in A", c.Rows)
	}
}

// The JSON says not measured, never a number, and an unbounded knee has
// no upper bound.
func TestComparisonJSON(t *testing.T) {
	a, b := fakeRun(10, tight), fakeRun(10, tight)
	b.Server.Processes = nil
	b.Finish()
	c := results.DiffRuns(a, b)
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Schema string `json:"schema"`
		Rows   []map[string]json.RawMessage
	}
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	cpu := back.Rows[4]
	if back.Schema != results.DiffSchema || string(cpu["metric"]) != `"server CPU per delivery"` ||
		!strings.HasPrefix(string(cpu["b"]), `{"not_measured":`) || !strings.HasPrefix(string(cpu["change"]), `{"not_measured":`) ||
		string(cpu["verdict"]) != `"not measured"` || cpu["noise"] != nil {
		t.Errorf("JSON %s", raw)
	}
	k := results.DiffSweeps(sweepOf(1000, 0), sweepOf(1000, 1050))
	raw, _ = json.Marshal(k.Rows[0])
	if !strings.Contains(string(raw), `"a_bounds":{"lo":1000}`) || !strings.Contains(string(raw), `"b_bounds":{"lo":1000,"hi":1049}`) {
		t.Errorf("knee bounds JSON %s", raw)
	}
}

func TestWriteComparison(t *testing.T) {
	a, b := fakeRun(10, tight), fakeRun(20, []float64{19.8, 20.2, 20, 19.9, 20.1, 20})
	b.Server.Processes = nil
	b.Finish()
	b.Summary.LatencyMs = results.Percentiles{Count: 100000, P50: 5, P99: 20}
	c := results.DiffRuns(a, b)
	c.A.Name, c.B.Name = "a.json", "b.json"
	var sb strings.Builder
	if err := results.WriteComparison(&sb, c); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	// The table: from its header to the first blank line, each row keyed
	// by its metric (the text before the first two spaces).
	head, table, _ := strings.Cut(out, "METRIC")
	table, rest, _ := strings.Cut(table, "\n\n")
	rows := map[string]string{}
	for _, l := range strings.Split(table, "\n")[1:] {
		metric, _, _ := strings.Cut(l, "  ")
		rows[metric] = strings.Join(strings.Fields(l), " ")
	}
	for metric, want := range map[string]string{
		// mean per-second p99 10 → 20 ms; the band is Welch's t(0.975, 10)
		// · √(2 · 0.1/5/6) = 0.1819 ms (each side's seconds deviate by
		// ±0.2, ±0.1, 0: Σ² 0.1) plus 0.1% of 10 + 20 ms.
		"latency p99":                  "latency p99 10 ms 20 ms +10 ms (+100%) ±0.212 ms change",
		"server CPU per delivery":      "server CPU per delivery 2 µs not measured - - not measured",
		"server memory per connection": "server memory per connection 9 KB not measured - - not measured",
		"swarm memory per socket":      "swarm memory per socket 4 KB 4 KB 0 B (+0%) - same",
	} {
		if rows[metric] != want {
			t.Errorf("row %q = %q, want %q\n%s", metric, rows[metric], want, out)
		}
	}
	if len(rows) != 8 {
		t.Errorf("%d table rows, want 8:\n%s", len(rows), out)
	}
	for _, want := range []string{"A  a.json (run run, complete)\n", "server CPU per delivery: not measured: B: no server process"} {
		if !strings.Contains(head+rest, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
