package results

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/chatbench/chatbench/internal/units"
)

// hdrResolution is the relative error of a value read from chatbench's
// histograms (3 significant digits).
const hdrResolution = 0.001

// DiffRuns compares two swarm runs: latency p50 and p99 (from due time),
// loss, deliveries/s, and the server's and swarm's cost, each with a
// verdict against the runs' own spread.
func DiffRuns(a, b *Result) *Comparison {
	c := &Comparison{Schema: DiffSchema, Kind: KindSwarm, A: runSide(a), B: runSide(b)}
	c.Rows = append(c.Rows,
		latencyRow("p50", a, b, func(p Percentiles) float64 { return p.P50 }, func(s Second) float64 { return s.P50Ms }),
		latencyRow("p99", a, b, func(p Percentiles) float64 { return p.P99 }, func(s Second) float64 { return s.P99Ms }),
		lossRow(a, b),
		timelineRow(newRow("deliveries/s", "1/s", a, b, deliveriesPerS), a, b,
			func(s Second) (float64, bool) { return float64(s.Deliveries), true }, "deliveries", 0),
		cpuRow("server CPU per delivery", a.Server, b.Server),
		memRow("server memory per connection", a.Server, b.Server),
		cpuRow("swarm CPU per received message", a.Swarm, b.Swarm),
		memRow("swarm memory per socket", a.Swarm, b.Swarm),
	)
	c.Notes = runNotes(a, b)
	return c
}

// latencyRow compares one percentile of the latency from due time: the
// run's (pick) and, for the verdict, its seconds' (perSecond) over the
// seconds that timed a delivery.
func latencyRow(q string, a, b *Result, pick func(Percentiles) float64, perSecond func(Second) float64) DiffRow {
	row := newRow("latency "+q, "ms", a, b, func(r *Result) Figure {
		if r.Summary.LatencyMs.Count == 0 {
			return NotMeasured("no delivery was timed")
		}
		return Measured(pick(r.Summary.LatencyMs))
	})
	timed := func(s Second) (float64, bool) { return perSecond(s), s.P99Ms > 0 }
	return timelineRow(row, a, b, timed, q, hdrResolution)
}

// seriesOf reads one figure of a timeline second, and whether it has one.
type seriesOf func(Second) (float64, bool)

func newRow(metric, unit string, a, b *Result, f func(*Result) Figure) DiffRow {
	return DiffRow{Metric: metric, Unit: unit, A: f(a), B: f(b)}
}

func deliveriesPerS(r *Result) Figure {
	if r.Summary.SteadyS <= 0 {
		return NotMeasured("no steady phase")
	}
	return Measured(r.Summary.DeliveriesPerS)
}

// steadySeries is f of every steady second of r that has a value.
func steadySeries(r *Result, f seriesOf) []float64 {
	var xs []float64
	for _, s := range r.Timeline {
		if s.Phase != "steady" {
			continue
		}
		if v, ok := f(s); ok {
			xs = append(xs, v)
		}
	}
	return xs
}

// timelineRow judges a figure by its per-second values over each run's
// steady seconds: the difference of their means against its band
// (secondsSpread, welchBand), plus the values' relative resolution res
// (counts are exact; latencies are read from histograms). The means are
// tested, not the run's figure itself: the per-second spread is that of a
// mean of seconds. A whole-run p99 leans on its worst seconds, and held
// against that band it calls too much a change (docs/report.md).
func timelineRow(row DiffRow, a, b *Result, f seriesOf, what string, res float64) DiffRow {
	if !row.compare() {
		return row
	}
	sa, okA := secondsSpread(steadySeries(a, f))
	sb, okB := secondsSpread(steadySeries(b, f))
	if !okA || !okB {
		if row.Verdict != DiffSame {
			row.Verdict = DiffNoSpread
		}
		row.Basis = fmt.Sprintf("per-second %s of %d and %d steady seconds; %d each are needed", what, sa.n, sb.n, MinSpreadSeconds)
		return row
	}
	row.Compared = &Compared{What: "mean per-second " + what, A: sa.mean, B: sb.mean}
	band := welchBand(sa, sb) + res*(math.Abs(sa.mean)+math.Abs(sb.mean))
	row.judge(sb.mean-sa.mean, band, DiffChange,
		fmt.Sprintf("mean per-second %s %s → %s (%s, within ±%s is noise) over %d and %d steady seconds (%s and %s effectively independent), Student's t at %s%%",
			what, formatUnit(sa.mean, row.Unit), formatUnit(sb.mean, row.Unit), signed(sb.mean-sa.mean, row.Unit), formatUnit(band, row.Unit),
			sa.n, sb.n, units.FormatSig(sa.neff, 2), units.FormatSig(sb.neff, 2), units.FormatSig(NoiseLevel*100, 2)))
	return row
}

// lossRow compares loss ratios: a change must leave the binomial band and
// pass the exact conditional test (lossNoise).
func lossRow(a, b *Result) DiffRow {
	row := newRow("loss", "ratio", a, b, func(r *Result) Figure {
		if r.Summary.Expected == 0 {
			return NotMeasured("no delivery was expected")
		}
		return Measured(float64(r.Summary.Lost) / float64(r.Summary.Expected))
	})
	if !row.compare() {
		return row
	}
	sa, sb := a.Summary, b.Summary
	band, p := lossNoise(sa.Lost, sa.Expected, sb.Lost, sb.Expected)
	row.judge(row.Change.Value, band, DiffChange, fmt.Sprintf("binomial: %d lost of %d vs %d of %d; exact conditional test p = %s",
		sa.Lost, sa.Expected, sb.Lost, sb.Expected, units.FormatSig(p, 2)))
	if row.Verdict == DiffChange && p >= 1-NoiseLevel {
		row.Verdict = DiffNoise // too few losses for the normal band to hold
	}
	return row
}

// cpuRow compares CPU per message: beyond the clocks' resolution (cpuBound
// relative to the CPU measured, each side's added) is all one run can say.
func cpuRow(metric string, a, b Cost) DiffRow {
	row := DiffRow{Metric: metric, Unit: "µs", A: a.CPUPerMessage, B: b.CPUPerMessage}
	if !row.compare() {
		return row
	}
	rel := func(c Cost) float64 {
		if !c.CPU.OK() || c.CPU.Value <= 0 {
			return 1 // cannot happen with a measured per-message figure; claim nothing
		}
		return cpuBound(c) / c.CPU.Value
	}
	ra, rb := rel(a), rel(b)
	row.judge(row.Change.Value, row.A.Value*ra+row.B.Value*rb, DiffBeyondResolution,
		fmt.Sprintf("CPU clock resolution: ±%s%% and ±%s%% of the CPU measured; one run holds no run-to-run spread",
			units.FormatSig(ra*100, 2), units.FormatSig(rb*100, 2)))
	return row
}

// memRow compares memory per connection: RSS is read in whole pages, so
// it has no resolution to speak of, and one run holds two samples of it:
// nothing says how much it varies by chance.
func memRow(metric string, a, b Cost) DiffRow {
	row := DiffRow{Metric: metric, Unit: "bytes", A: a.MemoryPerConn, B: b.MemoryPerConn}
	if row.compare() && row.Verdict != DiffSame {
		row.Verdict = DiffNoSpread
	}
	if row.Verdict != DiffNotMeasured {
		row.Basis = "two RSS samples per process: one run holds no run-to-run spread"
	}
	return row
}

func runSide(r *Result) DiffSide {
	c := r.Config
	run := c.RunID
	if run == "" {
		run = strings.Join(c.RunIDs, "+")
	}
	target := c.Backend
	if target == "" {
		target = strings.Join(c.URLs, " ")
	}
	return DiffSide{Run: run, Outcome: r.Outcome.Verdict, Load: fmt.Sprintf(
		"%s: %d clients in %d room(s) of up to %d, %d senders × %s, %d-byte probes, steady %gs",
		target, c.Clients, c.Rooms, c.RoomSize, c.Senders, units.FormatRate(c.RatePerS), c.SizeBytes, c.DurationS)}
}

// runNotes says what makes two runs harder to compare.
func runNotes(a, b *Result) []string {
	ca, cb := a.Config, b.Config
	itoa, ftoa := strconv.Itoa, func(v float64) string { return units.FormatSig(v, 6) }
	notes := noteIf(nil, differences(
		[3]string{"clients", itoa(ca.Clients), itoa(cb.Clients)},
		[3]string{"rooms", itoa(ca.Rooms), itoa(cb.Rooms)},
		[3]string{"largest room", itoa(ca.RoomSize), itoa(cb.RoomSize)},
		[3]string{"room sizes", ca.RoomSizes, cb.RoomSizes},
		[3]string{"senders", itoa(ca.Senders), itoa(cb.Senders)},
		[3]string{"rate", units.FormatRate(ca.RatePerS), units.FormatRate(cb.RatePerS)},
		[3]string{"arrivals", ca.Arrivals, cb.Arrivals},
		[3]string{"phases", strings.Join(ca.Phases, " "), strings.Join(cb.Phases, " ")},
		[3]string{"size", itoa(ca.SizeBytes), itoa(cb.SizeBytes)},
		[3]string{"sizes", ca.Sizes, cb.Sizes},
		[3]string{"steady", ftoa(ca.DurationS) + "s", ftoa(cb.DurationS) + "s"},
		[3]string{"no-echo", strconv.FormatBool(ca.NoEcho), strconv.FormatBool(cb.NoEcho)},
		[3]string{"compression", strconv.FormatBool(a.Environment.Compression), strconv.FormatBool(b.Environment.Compression)},
	), "the loads", "a change is not the server's alone")
	ea, eb := a.Environment, b.Environment
	notes = noteIf(notes, differences(
		[3]string{"host", ea.Hostname, eb.Hostname},
		[3]string{"cores", itoa(ea.Cores), itoa(eb.Cores)},
	), "the machines", "a change may be theirs")
	for _, s := range []struct {
		name string
		r    *Result
	}{{"A", a}, {"B", b}} {
		if o := s.r.Outcome; !o.OK() && o.Verdict != "" {
			why := ""
			if len(o.Reasons) > 0 {
				why = " (" + o.Reasons[0] + ")"
			}
			notes = append(notes, fmt.Sprintf("%s is %s%s: its figures are not evidence of what the server holds", s.name, o.Verdict, why))
		}
	}
	return notes
}
