package results

import (
	"fmt"
	"math"
	"strings"
)

// DiffSchema names the JSON that 'report diff --json' writes.
const DiffSchema = "chatbench.diff/v1"

// Verdicts of a compared figure (docs/report.md, "How a change is told
// from noise").
const (
	// DiffSame: both figures are equal.
	DiffSame = "same"
	// DiffNoise: the figures differ by less than the runs' own spread.
	DiffNoise = "noise"
	// DiffChange: they differ by more than the runs' own spread.
	DiffChange = "change"
	// DiffBeyondResolution: they differ by more than the measurement's
	// resolution, but the files hold no run-to-run spread to judge by
	// (CPU cost of one run; a knee searched once).
	DiffBeyondResolution = "beyond resolution"
	// DiffNoSpread: the figures differ and nothing in the files says how
	// much they vary by chance (memory per connection; timelines shorter
	// than MinSpreadSeconds).
	DiffNoSpread = "no spread known"
	// DiffNotMeasured: a side did not measure the figure; no change is shown.
	DiffNotMeasured = "not measured"
)

// Comparison is what Diff finds between two results files of one kind.
type Comparison struct {
	Schema string    `json:"schema"`
	Kind   string    `json:"kind"` // KindSwarm or KindSweep
	A      DiffSide  `json:"a"`
	B      DiffSide  `json:"b"`
	Rows   []DiffRow `json:"rows"`
	// Notes say what makes the comparison weaker: different loads,
	// machines or SLOs, a run that was not complete.
	Notes []string `json:"notes,omitempty"`
}

// DiffSide describes one of the compared files.
type DiffSide struct {
	Name    string `json:"name"`              // the path it was read from (set by the caller)
	Run     string `json:"run,omitempty"`     // run id(s)
	Outcome string `json:"outcome,omitempty"` // a run's verdict
	Load    string `json:"load"`              // the load or sweep, in one line
}

// DiffRow is one compared figure.
type DiffRow struct {
	Metric string `json:"metric"`
	Unit   string `json:"unit"`
	A      Figure `json:"a"`
	B      Figure `json:"b"`
	// ABounds, BBounds: for a knee, where the capacity lies by what the
	// sweep ran (the knee is their lower end).
	ABounds *Bounds `json:"a_bounds,omitempty"`
	BBounds *Bounds `json:"b_bounds,omitempty"`
	// Change is B − A; Relative is (B − A) / A.
	Change   Figure `json:"change"`
	Relative Figure `json:"relative"`
	// Compared, when set, is what the verdict tested instead of A and B
	// themselves: for latency and deliveries/s, the mean of each run's
	// per-second values, the quantity whose spread the timelines give.
	Compared *Compared `json:"compared,omitempty"`
	// Noise is the half-width of the band the change (of Compared, when
	// set) must leave to be one; absent for knees, whose bounds are
	// compared instead, and where no spread is known.
	Noise   *float64 `json:"noise,omitempty"`
	Verdict string   `json:"verdict"`
	// Basis says what the noise estimate rests on.
	Basis string `json:"basis"`
}

// Compared is the quantity a verdict tested, on each side.
type Compared struct {
	What string  `json:"what"`
	A    float64 `json:"a"`
	B    float64 `json:"b"`
}

// Bounds is a closed range; Hi absent means no upper bound.
type Bounds struct {
	Lo float64  `json:"lo"`
	Hi *float64 `json:"hi,omitempty"`
}

// KindMismatchError is returned by Diff for files of different kinds.
type KindMismatchError struct{ A, B string }

func (e *KindMismatchError) Error() string {
	return fmt.Sprintf("cannot compare a %s result with a %s result: give two swarm runs or two sweeps", e.A, e.B)
}

// Diff compares two results files of the same kind: two swarm runs
// (DiffRuns) or two sweeps (DiffSweeps). Side names are left for the
// caller to fill.
func Diff(a, b *File) (*Comparison, error) {
	switch {
	case a.Kind != b.Kind:
		return nil, &KindMismatchError{A: a.Kind, B: b.Kind}
	case a.Run != nil && b.Run != nil:
		return DiffRuns(a.Run, b.Run), nil
	case a.Sweep != nil && b.Sweep != nil:
		return DiffSweeps(a.Sweep, b.Sweep), nil
	}
	return nil, fmt.Errorf("diff: empty %s result", a.Kind)
}

// compare fills Change and Relative from A and B, or, when either side
// was not measured, says so (and why) in their place and in the verdict;
// it reports whether both were measured.
func (r *DiffRow) compare() bool {
	if !r.A.OK() || !r.B.OK() {
		var whys []string
		if !r.A.OK() {
			whys = append(whys, "A: "+r.A.Why)
		}
		if !r.B.OK() {
			whys = append(whys, "B: "+r.B.Why)
		}
		why := strings.Join(whys, "; ")
		r.Change, r.Relative = NotMeasured(why), NotMeasured(why)
		r.Verdict = DiffNotMeasured
		return false
	}
	d := r.B.Value - r.A.Value
	r.Change = Measured(d)
	r.Relative = NotMeasured("A is 0")
	if r.A.Value != 0 {
		r.Relative = Measured(d / math.Abs(r.A.Value))
	}
	if d == 0 {
		r.Verdict = DiffSame
	}
	return true
}

// judge sets the verdict of a measured row whose figures differ: noise
// when the tested difference d is within band, else beyond (DiffChange
// when the band holds a spread, DiffBeyondResolution when it is a
// resolution only).
func (r *DiffRow) judge(d, band float64, beyond, basis string) {
	r.Basis = basis
	r.Noise = &band
	if r.Verdict == DiffSame {
		return
	}
	r.Verdict = beyond
	if math.Abs(d) <= band {
		r.Verdict = DiffNoise
	}
}

// differences lists "name a → b" for each pair that differs.
func differences(pairs ...[3]string) []string {
	var out []string
	for _, p := range pairs {
		if p[1] != p[2] {
			out = append(out, fmt.Sprintf("%s %s → %s", p[0], p[1], p[2]))
		}
	}
	return out
}

// noteIf adds "what differ (a → b, …): meaning" when anything differs.
func noteIf(notes, diffs []string, what, meaning string) []string {
	if len(diffs) == 0 {
		return notes
	}
	return append(notes, fmt.Sprintf("%s differ (%s): %s", what, strings.Join(diffs, ", "), meaning))
}
