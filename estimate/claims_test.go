package estimate

import (
	"path/filepath"
	"strings"
	"testing"
)

func fixtures(t *testing.T, names ...string) *Evidence {
	t.Helper()
	var paths []string
	for _, n := range names {
		paths = append(paths, filepath.Join("testdata", n))
	}
	ev, err := ReadResultsFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestReadResults(t *testing.T) {
	ev := fixtures(t, "swarm-memory-1000.json", "sweep-memory.json", "sweep-redis.json")
	if got := len(ev.Runs); got != 1+6+5 {
		t.Errorf("runs %d, want 12 (1 swarm + 6 + 5 sweep steps)", got)
	}
	if len(ev.Knees) != 2 {
		t.Fatalf("knees %+v, want memory and redis", ev.Knees)
	}
	mk, rk := ev.Knees[0], ev.Knees[1]
	if mk.Backend != "memory" || mk.Clients != 1000 || mk.RatePerS != 1 || mk.Cores != 2 || mk.Nodes != 1 {
		t.Errorf("memory knee %+v", mk)
	}
	if rk.Backend != "redis" || rk.Clients != 3000 || rk.Nodes != 2 {
		t.Errorf("redis knee %+v", rk)
	}
	r := ev.Runs[0]
	if r.Source != "swarm-memory-1000.json" || r.Backend != "memory" || r.Connected != 1000 || r.Sent != 10000 ||
		r.Delivered != 10_000_000 || r.RSSKBPerConn != 25.6 || r.CPUUsPerDelivery != 2 || r.RoomSize != 1000 || !r.SLOMet {
		t.Errorf("swarm run %+v", r)
	}
	if s := ev.Runs[4]; s.Source != "sweep-memory.json step 4" || s.SLOMet || s.Clients != 2000 || s.Lost != 6000 {
		t.Errorf("failed sweep step %+v", s)
	}
}

func TestReadResultsBad(t *testing.T) {
	cases := []struct{ file, want string }{
		{"bad-schema.json", `schema "chatbench.results/v9", want "chatbench.results/v2"`},
		{"not-json.json", "not a results file"},
		{"missing.json", "no such file"},
	}
	for _, c := range cases {
		_, err := ReadResultsFiles(filepath.Join("testdata", c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want it to say %q", c.file, err, c.want)
		}
	}
	ev := &Evidence{}
	if err := ev.Add("empty", strings.NewReader(`{"schema":"chatbench.results/v2","kind":"swarm"}`)); err != ErrNoRuns {
		t.Errorf("empty results: %v, want ErrNoRuns", err)
	}
	if err := ev.Add("odd", strings.NewReader(`{"schema":"chatbench.results/v2","kind":"other"}`)); err == nil {
		t.Error("kind other accepted")
	}
}

func TestRatioVerdict(t *testing.T) {
	cases := []struct {
		measured, lo, hi float64
		ratio            float64
		kind, text       string
	}{
		{10, 10, 10, 1, VerdictHolds, "holds (within 2×)"},
		{19.9, 10, 10, 1.99, VerdictHolds, "holds (within 2×)"},
		{5, 10, 10, 0.5, VerdictHolds, "holds (within 2×)"},
		{21, 10, 10, 2.1, VerdictOff, "off by 2.1× (measured higher)"},
		{4, 10, 10, 0.4, VerdictOff, "off by 2.5× (measured lower)"},
		{10_000_000, 10000, 10000, 1000, VerdictOff, "off by 1,000× (measured higher)"},
		{1500, 1000, 2000, 1, VerdictHolds, "holds (inside the claimed range)"},
		{3000, 1000, 2000, 1.5, VerdictHolds, "holds (within 2×)"},
		{447, 1000, 2000, 0.447, VerdictOff, "off by 2.2× (measured lower)"},
	}
	for _, c := range cases {
		r, kind, text := RatioVerdict(c.measured, c.lo, c.hi)
		if !near(r, c.ratio) || kind != c.kind || text != c.text {
			t.Errorf("RatioVerdict(%v, %v, %v) = %v %q %q; want %v %q %q", c.measured, c.lo, c.hi, r, kind, text, c.ratio, c.kind, c.text)
		}
	}
	if k, txt := ExponentVerdict(1.2, 1); k != VerdictHolds || txt != "holds (exponent 1.20, claimed 1 ± 0.25)" {
		t.Errorf("exponent 1.2: %s %s", k, txt)
	}
	if k, txt := ExponentVerdict(2, 1); k != VerdictRefuted || txt != "refuted (cost per message grows as N^2.00, faster than N^1)" {
		t.Errorf("exponent 2: %s %s", k, txt)
	}
	if k, txt := ExponentVerdict(0.3, 1); k != VerdictHolds || !strings.HasPrefix(txt, "holds as a bound (grows as N^0.30") {
		t.Errorf("exponent 0.3: %s %s", k, txt)
	}
	if k, _ := LowerVerdict(0.8); k != VerdictHolds {
		t.Errorf("0.8 lower: %s", k)
	}
	if k, txt := LowerVerdict(1.3); k != VerdictRefuted || txt != "refuted (1.3× as much, not lower)" {
		t.Errorf("1.3 lower: %s %s", k, txt)
	}
}

func claimByID(t *testing.T, cs []ClaimCheck, id string) ClaimCheck {
	t.Helper()
	for _, c := range cs {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no claim %s", id)
	return ClaimCheck{}
}

func TestClaimsNotMeasured(t *testing.T) {
	cs := CheckClaims(nil, ClaimContext{UserLen: 8, RoomLen: 4})
	if len(cs) != 9 {
		t.Fatalf("%d claims, want 9 (1–8 with 7 in two parts)", len(cs))
	}
	for _, c := range cs {
		if c.VerdictKind != VerdictNotMeasured || !strings.HasPrefix(c.Verdict, "not measured (needs: ") || c.MeasuredValue != nil {
			t.Errorf("claim %s without data: %+v", c.ID, c)
		}
	}
}

// Each claim against the fixtures, with the numbers worked out by hand.
func TestClaimsMeasured(t *testing.T) {
	ev := fixtures(t, "swarm-memory-1000.json", "sweep-memory.json", "sweep-redis.json")
	cs := CheckClaims(ev, ClaimContext{UserLen: 8, RoomLen: 4})
	cases := []struct {
		id       string
		measured float64
		kind     string
		verdict  string
	}{
		// 1: the largest run that met its SLO: the swarm's 1,000 conns at
		// 25 KiB = 25.6 KB (sweep step 3 also has 1,000; ties keep file order).
		{"1", 25.6, VerdictOff, "off by 2.6× (measured higher)"},
		// 2: 8e9 / 25,600 B.
		{"2", 312500, VerdictOff, "off by 2.6× (measured lower)"},
		// 3: memory runs first, the largest room that met its SLO (1,000, no
		// loss): 1 delivery per member → 10,000 × 1,000 = 10,000,000/s.
		{"3", 10_000_000, VerdictOff, "off by 1,000× (measured higher)"},
		// 4: 10M × 150 B.
		{"4", 1.5e9, VerdictOff, "off by 1,500× (measured higher)"},
		// 5: 1,000 × √(4/2 × 1/10) = 447.2.
		{"5", 447, VerdictOff, "off by 2.2× (measured lower)"},
		// 6: CPU per delivery constant → per message ∝ N¹.
		{"6", 1, VerdictHolds, "holds (exponent 1.00, claimed 1 ± 0.25)"},
		// 7a: 3,000 × √(8/2 × 1/10) = 1,897.4 (2 nodes of 4 cores).
		{"7a", 1897, VerdictOff, "off by 5.3× (measured lower)"},
		// 7b: 2.6 / 2.0.
		{"7b", 1.3, VerdictRefuted, "refuted (1.3× as much, not lower)"},
	}
	for _, c := range cases {
		got := claimByID(t, cs, c.id)
		if got.MeasuredValue == nil {
			t.Errorf("claim %s not measured: %+v", c.id, got)
			continue
		}
		if !near(*got.MeasuredValue, c.measured) && !(c.id == "6" && *got.MeasuredValue > 0.999 && *got.MeasuredValue < 1.001) {
			t.Errorf("claim %s measured %v, want %v (%s)", c.id, *got.MeasuredValue, c.measured, got.Basis)
		}
		if got.VerdictKind != c.kind || got.Verdict != c.verdict {
			t.Errorf("claim %s verdict %s %q, want %s %q", c.id, got.VerdictKind, got.Verdict, c.kind, c.verdict)
		}
		if got.Basis == "" || got.Ratio == nil {
			t.Errorf("claim %s has no basis or ratio", c.id)
		}
	}
	if c8 := claimByID(t, cs, "8"); c8.VerdictKind != VerdictNotMeasured || !strings.Contains(c8.Verdict, "--backend rabbitmq") {
		t.Errorf("claim 8 without a rabbitmq sweep: %+v", c8)
	}
}

// O(N²) per message (per-delivery cost grows with N) refutes claim 6; fewer
// than two room sizes 2× apart measures nothing.
func TestClaim6Exponent(t *testing.T) {
	mk := func(n int64, cpu float64) Run {
		return Run{Backend: "memory", RoomSize: n, Sent: 100, Delivered: 100 * n, CPUUsPerDelivery: cpu, SLOMet: true}
	}
	ev := &Evidence{Runs: []Run{mk(100, 1), mk(200, 2), mk(400, 4), mk(800, 8)}}
	c := claimByID(t, CheckClaims(ev, ClaimContext{}), "6")
	if c.MeasuredValue == nil || !near(*c.MeasuredValue, 2) || c.VerdictKind != VerdictRefuted {
		t.Errorf("quadratic: %+v", c)
	}
	// Runs at another rate are not mixed in: the group with the most room
	// sizes (rate 1/s here) is fitted on its own.
	at := func(r Run, rate float64) Run { r.RatePerS = rate; return r }
	ev = &Evidence{Runs: []Run{at(mk(100, 1), 1), at(mk(200, 1), 1), at(mk(400, 1), 1), at(mk(100, 10), 10), at(mk(800, 1), 10)}}
	c = claimByID(t, CheckClaims(ev, ClaimContext{}), "6")
	if c.MeasuredValue == nil || !near(*c.MeasuredValue, 1) || c.VerdictKind != VerdictHolds || !strings.Contains(c.Basis, "3 room sizes from 100 to 400 at 1/s") {
		t.Errorf("per-rate fit: %+v", c)
	}
	// Two backends of the same rank, same sizes, different growth: the
	// choice does not depend on map order (rabbitmq < redis by name).
	as := func(r Run, backend string, cpu float64) Run { r.Backend, r.CPUUsPerDelivery = backend, cpu; return r }
	ev = &Evidence{Runs: []Run{as(mk(100, 0), "redis", 1), as(mk(400, 0), "redis", 4), as(mk(100, 0), "rabbitmq", 1), as(mk(400, 0), "rabbitmq", 1)}}
	for range 20 {
		c := claimByID(t, CheckClaims(ev, ClaimContext{}), "6")
		if c.MeasuredValue == nil || !near(*c.MeasuredValue, 1) || !strings.Contains(c.Basis, "rabbitmq") {
			t.Fatalf("tie between redis and rabbitmq: %+v", c)
		}
	}
	ev = &Evidence{Runs: []Run{mk(100, 1), mk(150, 1)}}
	if c := claimByID(t, CheckClaims(ev, ClaimContext{}), "6"); c.VerdictKind != VerdictNotMeasured {
		t.Errorf("N 100 and 150 only: %+v", c)
	}
}

// Without a sweep, claim 5 falls back to the model with the measured CPU.
func TestClaim5FromModel(t *testing.T) {
	ev := fixtures(t, "swarm-memory-1000.json")
	c := claimByID(t, CheckClaims(ev, ClaimContext{}), "5")
	// √(4e6 / 2 µs / 10) = 447.2
	if c.MeasuredValue == nil || *c.MeasuredValue != 447 || !strings.Contains(c.Measured, "(model)") {
		t.Errorf("claim 5 from the model: %+v", c)
	}
}

func TestScaleKnee(t *testing.T) {
	check(t, "same machine", ScaleKnee(1000, 4, 10, 4, 10), 1000)
	check(t, "4× cores", ScaleKnee(1000, 1, 10, 4, 10), 2000)
	check(t, "100× rate", ScaleKnee(1000, 4, 0.1, 4, 10), 100)
	check(t, "unknown cores", ScaleKnee(1000, 0, 10, 4, 10), 1000)
}

// A sweep at two rates gives a knee per rate; claim 5 uses the one measured
// at the blog's 10/s: 300 × √(4/2) = 424 (the 1/s knee would give 357).
func TestKneesPerRate(t *testing.T) {
	ev := fixtures(t, "sweep-rates.json")
	if len(ev.Knees) != 2 || ev.Knees[0].RatePerS != 1 || ev.Knees[0].Clients != 800 || ev.Knees[1].RatePerS != 10 || ev.Knees[1].Clients != 300 {
		t.Fatalf("knees %+v", ev.Knees)
	}
	c := claimByID(t, CheckClaims(ev, ClaimContext{}), "5")
	if c.MeasuredValue == nil || *c.MeasuredValue != 424 || !strings.Contains(c.Basis, "knee 300 users at 10/s") {
		t.Errorf("claim 5: %+v", c)
	}
}
