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
	// The steps that failed their SLO are read and not used.
	if got := len(ev.Runs); got != 1+3+3 {
		t.Errorf("runs %d, want 7 (1 swarm + 3 + 3 sweep steps within their SLO)", got)
	}
	if len(ev.Skipped) != 3+2 {
		t.Errorf("skipped %+v, want the 5 steps over the SLO", ev.Skipped)
	}
	if s := ev.Skipped[0]; s.Source != "sweep-memory.json step 4" || s.Why != "failed its SLO"+memoryUsed {
		t.Errorf("skipped step %+v", s)
	}
	if len(ev.Knees) != 2 {
		t.Fatalf("knees %+v, want memory and redis", ev.Knees)
	}
	mk, rk := ev.Knees[0], ev.Knees[1]
	if mk.Backend != "memory" || mk.Clients != 1000 || mk.RatePerS != 1 || mk.Cores != 2 || mk.Nodes != 1 || mk.Server != "chatbench serve memory" {
		t.Errorf("memory knee %+v", mk)
	}
	if rk.Backend != "redis" || rk.Clients != 3000 || rk.Nodes != 2 || rk.Server != "chatbench serve redis (2 nodes)" {
		t.Errorf("redis knee %+v", rk)
	}
	r := ev.Runs[0]
	if r.Source != "swarm-memory-1000.json" || r.Backend != "memory" || r.Connected != 1000 || r.Sent != 10000 ||
		r.Delivered != 10_000_000 || r.RSSKBPerConn != 25.6 || r.CPUUsPerDelivery != 2 || r.RoomSize != 1000 || r.CPUTicks != 2000 {
		t.Errorf("swarm run %+v", r)
	}
	if got := ev.Servers(); strings.Join(got, "|") != "chatbench serve memory|chatbench serve redis (2 nodes)" {
		t.Errorf("servers %q", got)
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
	if len(cs) != 11 {
		t.Fatalf("%d claims, want 11 (1–10 with 7 in two parts)", len(cs))
	}
	for _, c := range cs {
		if c.VerdictKind != VerdictNotMeasured || !strings.HasPrefix(c.Verdict, "not measured (needs: ") || c.Value != nil || c.Server != "" {
			t.Errorf("claim %s without data: %+v", c.ID, c)
		}
	}
}

// Without a sweep, claim 5 falls back to the model with the measured CPU.
func TestClaim5FromModel(t *testing.T) {
	ev := fixtures(t, "swarm-memory-1000.json")
	c := claimByID(t, CheckClaims(ev, ClaimContext{}), "5")
	// √(4e6 / 2 µs / 10) = 447.2
	if c.Value == nil || *c.Value != 447 || c.ValueSource != FigureModel || c.Figures[0].Text != "447 users" || c.Figures[0].Source != FigureModel || c.Figures[1].Source != FigureMeasured {
		t.Errorf("claim 5 from the model: %+v", c)
	}
}

// A sweep at two rates gives a knee per rate; claim 5 uses the one measured
// at the blog's 10/s: the claim scaled to 2 cores at 10/s is
// 1,000 × √(2/4) = 707 to 1,414, and the knee of 300 is 2.4× lower (the
// 1/s knee of 800 would be compared with 2,236–4,472).
func TestKneesPerRate(t *testing.T) {
	ev := fixtures(t, "sweep-rates.json")
	if len(ev.Knees) != 2 || ev.Knees[0].RatePerS != 1 || ev.Knees[0].Clients != 800 || ev.Knees[1].RatePerS != 10 || ev.Knees[1].Clients != 300 {
		t.Fatalf("knees %+v", ev.Knees)
	}
	c := claimByID(t, CheckClaims(ev, ClaimContext{}), "5")
	if c.Value == nil || *c.Value != 300 || c.Verdict != "off by 2.4× (measured lower)" || c.Figures[1].Text != "707–1,414 users" ||
		!strings.Contains(c.Basis, "knee at 10/s per sender") {
		t.Errorf("claim 5: %+v", c)
	}
}
