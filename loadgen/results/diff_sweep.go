package results

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/chatbench/chatbench/internal/units"
)

// DiffSweeps compares the knees of two sweeps, one row per backend and
// rate searched in either. A knee is known only to lie between the largest
// step that passed and the smallest that failed; two knees differ when
// those ranges do not overlap.
func DiffSweeps(a, b *Sweep) *Comparison {
	c := &Comparison{Schema: DiffSchema, Kind: KindSweep, A: sweepSide(a), B: sweepSide(b)}
	for _, k := range searchKeys(a, b) {
		c.Rows = append(c.Rows, kneeRow(k, a, b))
	}
	c.Notes = sweepNotes(a, b)
	return c
}

type searchKey struct {
	backend string
	rate    float64
}

func (k searchKey) String() string { return k.backend + " at " + units.FormatRate(k.rate) }

// searchKeys lists the searches of a, then those only b ran.
func searchKeys(a, b *Sweep) []searchKey {
	var keys []searchKey
	seen := map[searchKey]bool{}
	for _, s := range append(append([]Search(nil), a.Searches...), b.Searches...) {
		k := searchKey{s.Backend, s.RatePerS}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// kneeEvidence is what a sweep says about one backend's capacity at one
// rate: the knee it reports and the range the capacity lies in.
type kneeEvidence struct {
	knee   Figure
	lo, hi float64 // hi is +Inf when no step failed
	// repeated: some step ran more than once, so the range also spans how
	// the same step varied from run to run.
	repeated bool
}

// kneeOf reads the evidence for k from s. The capacity c is the largest N
// that meets the SLO: a step that passed at N says c ≥ N, one that failed
// says c < N. With P the largest N that passed (0: none) and F the smallest
// that failed, the range is [P, F−1]; when repeats disagree (P ≥ F) it is
// [F−1, P], so it spans the disagreement. A single search, never looking
// above a failure, gives [knee, above−1]: its resolution.
func kneeOf(s *Sweep, k searchKey) kneeEvidence {
	var found *Search
	for i := range s.Searches {
		if sr := &s.Searches[i]; sr.Backend == k.backend && sr.RatePerS == k.rate {
			found = sr
			break
		}
	}
	if found == nil {
		return kneeEvidence{knee: NotMeasured("no search for " + k.String())}
	}
	pass, fail := float64(found.Knee), math.Inf(1)
	if found.Above > 0 {
		fail = float64(found.Above)
	}
	runs := map[int64]int{}
	ev := kneeEvidence{knee: Measured(float64(found.Knee))}
	for _, st := range s.Steps {
		if st.Backend != k.backend || st.RatePerS != k.rate {
			continue
		}
		if runs[st.Clients]++; runs[st.Clients] > 1 {
			ev.repeated = true
		}
		if st.OK {
			pass = math.Max(pass, float64(st.Clients))
		} else {
			fail = math.Min(fail, float64(st.Clients))
		}
	}
	ev.lo, ev.hi = pass, math.Inf(1)
	if !math.IsInf(fail, 1) {
		ev.lo, ev.hi = math.Min(pass, fail-1), math.Max(pass, fail-1)
	}
	return ev
}

func (e kneeEvidence) bounds() *Bounds {
	if !e.knee.OK() {
		return nil
	}
	b := &Bounds{Lo: e.lo}
	if !math.IsInf(e.hi, 1) {
		hi := e.hi
		b.Hi = &hi
	}
	return b
}

func (e kneeEvidence) String() string {
	if math.IsInf(e.hi, 1) {
		return "≥ " + units.FormatCount(e.lo)
	}
	return "[" + units.FormatCount(e.lo) + ", " + units.FormatCount(e.hi) + "]"
}

// kneeRow compares the knees of k: the same when knee and range agree,
// noise when the ranges overlap, else a change (when both sweeps repeated
// steps, so their ranges hold the run-to-run spread) or beyond resolution.
func kneeRow(k searchKey, a, b *Sweep) DiffRow {
	ea, eb := kneeOf(a, k), kneeOf(b, k)
	row := DiffRow{Metric: "knee " + k.String(), Unit: "clients", A: ea.knee, B: eb.knee,
		ABounds: ea.bounds(), BBounds: eb.bounds()}
	if !row.compare() {
		return row
	}
	spread := "searched once: no run-to-run spread"
	if ea.repeated && eb.repeated {
		spread = "with repeated steps"
	}
	row.Basis = fmt.Sprintf("the capacity lies in %s and %s (search resolution); %s", ea, eb, spread)
	switch {
	case row.Verdict == DiffSame && ea.lo == eb.lo && ea.hi == eb.hi:
	case ea.lo <= eb.hi && eb.lo <= ea.hi:
		row.Verdict = DiffNoise
	case ea.repeated && eb.repeated:
		row.Verdict = DiffChange
	default:
		row.Verdict = DiffBeyondResolution
	}
	return row
}

func sweepSide(s *Sweep) DiffSide {
	c := s.Config
	var rates []string
	for _, r := range c.Rates {
		rates = append(rates, units.FormatRate(r))
	}
	if len(rates) == 0 {
		rates = []string{units.FormatRate(c.RatePerS)}
	}
	backends := strings.Join(c.Backends, ", ")
	if backends == "" {
		backends = c.Backend
	}
	if backends == "" {
		backends = strings.Join(c.URLs, " ")
	}
	load := fmt.Sprintf("%s at %s; SLO p99 < %s ms, loss ≤ %s", backends, strings.Join(rates, ", "),
		units.FormatSig(c.SLOP99Ms, 3), units.FormatSig(c.MaxLoss, 3))
	if c.DurationS > 0 {
		load += fmt.Sprintf("; steps of %gs", c.DurationS)
	}
	return DiffSide{Load: load}
}

// sweepNotes says what makes two sweeps' knees harder to compare.
func sweepNotes(a, b *Sweep) []string {
	ca, cb := a.Config, b.Config
	f := func(v float64) string { return units.FormatSig(v, 6) }
	notes := noteIf(nil, differences(
		[3]string{"SLO p99", f(ca.SLOP99Ms) + " ms", f(cb.SLOP99Ms) + " ms"},
		[3]string{"max loss", f(ca.MaxLoss), f(cb.MaxLoss)},
		[3]string{"size", strconv.Itoa(ca.SizeBytes), strconv.Itoa(cb.SizeBytes)},
		[3]string{"steps of", f(ca.DurationS) + "s", f(cb.DurationS) + "s"},
		[3]string{"nodes", strconv.Itoa(ca.Nodes), strconv.Itoa(cb.Nodes)},
	), "the sweeps", "the knees answer different questions")
	ea, eb := a.Environment, b.Environment
	notes = noteIf(notes, differences(
		[3]string{"host", ea.Hostname, eb.Hostname},
		[3]string{"cores", strconv.Itoa(ea.Cores), strconv.Itoa(eb.Cores)},
	), "the machines", "a change may be theirs")
	for _, s := range []struct {
		name string
		sw   *Sweep
	}{{"A", a}, {"B", b}} {
		if s.sw.Partial {
			notes = append(notes, s.name+" is a partial sweep: it ended early, some knees may be missing or loose")
		}
	}
	return notes
}
