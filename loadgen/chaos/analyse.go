package chaos

import (
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/results"
)

// window is a fault's times as offsets from the run's zero (trace.Zero):
// injected, cleared, and recovered (every node ready again and, after a
// node-kill, every client reconnected; the run's end when never).
type window struct {
	injected, cleared, recovered time.Duration
}

// analyse counts what the fault cost from the run's trace: each steady
// probe's lost deliveries, every duplicate, and deliveries of the during
// window (received after the injection, due before recovery) that took
// longer than any delivery before it (delayed: a slow delivery after
// recovery shows in the after latency, not as the fault's).
// Latency is split by when a delivery was due and received: before (both
// before the injection), during (in flight at the injection, or due before
// recovery) and after (due after recovery).
func analyse(tr *loadgen.Trace, w window) results.FaultRun {
	fr := results.FaultRun{InjectedAtS: w.injected.Seconds(), ClearedAtS: w.cleared.Seconds()}
	var first, last time.Duration
	affected := false
	hit := func(due time.Duration) {
		if !affected || due < first {
			first = due
		}
		if !affected || due > last {
			last = due
		}
		affected = true
	}
	for _, p := range tr.Probes {
		fr.Expected += int64(p.Expected)
		fr.Delivered += int64(min(p.Delivered, p.Expected))
		if p.Delivered < p.Expected {
			fr.Lost += int64(p.Expected - p.Delivered)
			hit(p.Due)
		}
	}
	before, during, after := results.NewHist(), results.NewHist(), results.NewHist()
	for _, c := range tr.Copies {
		if c.Duplicate {
			continue
		}
		h := after
		switch {
		case c.Due+c.Latency < w.injected:
			h = before // due and received before the fault: the baseline
		case c.Due < w.recovered:
			h = during // in flight at the fault or due while it lasted
		}
		_ = h.RecordValue(max(1, c.Latency.Microseconds()))
	}
	// Delayed: slower than the slowest delivery before the fault. (Above
	// the before-fault p99 would count 1% of a healthy run as delayed.)
	threshold := time.Duration(before.Max()) * time.Microsecond
	for _, c := range tr.Copies {
		switch {
		case c.Duplicate:
			fr.Duplicated++
			hit(c.Due)
		case before.TotalCount() > 0 && c.Due+c.Latency >= w.injected && c.Due < w.recovered && c.Latency > threshold:
			fr.Delayed++
			hit(c.Due)
		}
	}
	fr.Before, fr.During, fr.After = results.PercentilesOf(before), results.PercentilesOf(during), results.PercentilesOf(after)
	if affected {
		gap := (last - first).Seconds()
		fr.GapS = &gap
	}
	fr.Reconnects = int64(len(tr.Reconnects))
	fr.ReconnectMs = results.PercentilesOf(durationsHist(tr.Reconnects))
	return fr
}

func durationsHist(ds []time.Duration) *hdr.Histogram {
	h := results.NewHist()
	for _, d := range ds {
		_ = h.RecordValue(max(1, d.Microseconds()))
	}
	return h
}
