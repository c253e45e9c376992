package sweep

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/chatbench/chatbench/estimate"
	"github.com/chatbench/chatbench/internal/units"
	"github.com/chatbench/chatbench/loadgen/results"
)

// WriteTable prints the steps and the knees per backend beside the blog's
// users-per-server claim for that server (estimate.KneeClaim), scaled to
// this machine and load and judged by estimate.JudgeKnee: the verdict
// estimate --from gives for the same file.
func WriteTable(w io.Writer, r *results.Sweep) error {
	ev, err := estimate.SweepEvidence("sweep", r)
	if err != nil {
		return err
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	repeated := r.Config.Repeat > 1
	head := "BACKEND\tCLIENTS\tP99\tLOST\tSLO"
	if repeated {
		head = "BACKEND\tCLIENTS\tP99\tLOST\tREPEATS OK\tP99 RANGE\tLOSS RANGE\tSLO"
	}
	fmt.Fprintln(tw, head)
	for _, s := range r.Steps {
		p99, lost := "-", "-"
		if s.Result != nil {
			sum := s.Result.Summary
			p99, lost = fmt.Sprintf("%.1f ms", sum.LatencyMs.P99), fmt.Sprintf("%d of %d", sum.Lost, sum.Expected)
			if why := latencyWhy(sum); why != "" {
				p99 = why
			}
			if why := lossWhy(sum); why != "" {
				lost = why
			}
		}
		v := "ok"
		switch {
		case !s.OK:
			v = "over: " + s.Why
		case s.Why != "": // passed, on a target that had not recovered
			v = "ok; " + s.Why
		}
		if repeated {
			ok := 0
			for _, x := range s.Repeats {
				if x.OK {
					ok++
				}
			}
			lost += fmt.Sprintf("\t%d of %d\t%.1f–%.1f ms\t%s–%s%%", ok, len(s.Repeats), s.P99Ms.Min, s.P99Ms.Max,
				units.FormatSig(s.Loss.Min*100, 2), units.FormatSig(s.Loss.Max*100, 2))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Backend, units.FormatCount(float64(s.Clients)), p99, lost, v)
	}
	tw.Flush()
	cores, mem := float64(r.Environment.Cores), float64(r.Environment.MemBytes)
	fmt.Fprintf(&b, "\nKNEES: SLO p99 < %s ms and loss ≤ %s, on %s cores / %s\n",
		units.FormatSig(r.Config.SLOP99Ms, 3), units.FormatSig(r.Config.MaxLoss, 3),
		units.FormatSig(cores, 3), units.FormatBytes(mem))
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BACKEND\tRATE\tKNEE\tRUNS\tTHE BLOG'S CLAIM, SCALED TO THIS MACHINE AND LOAD: VERDICT")
	for _, s := range r.Searches {
		knee := units.FormatCount(float64(s.Knee))
		switch {
		case s.Knee == 0 && s.Above == 0 && IsSwarmLimit(s):
			knee = "not measured (swarm limit)"
		case s.Knee == 0:
			knee = "< " + units.FormatCount(float64(smallestFailed(s, r.Config.StartN)))
		case s.Above == 0 && IsSwarmLimit(s):
			knee = "≥ " + knee + " (swarm limit)"
		case s.Above == 0:
			knee = "≥ " + knee
		}
		claim := "-"
		if k, ok := kneeOf(ev, r, s); ok && k.Mode == estimate.RoomRateMode {
			claim = "room-rate mode: evidence for claim 6 (estimate --from)"
		} else if ok {
			c := estimate.KneeClaim(k)
			lo, hi := estimate.ScaledClaim(c, k)
			claim = fmt.Sprintf("claim %s: %s users on 4 cores, %s → %s–%s here: %s", c.ID, c.Blog, c.Shape,
				units.FormatCount(lo), units.FormatCount(hi), estimate.JudgeKnee(c, k).Verdict)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", s.Backend, units.FormatRate(s.RatePerS), knee, s.Runs, claim)
	}
	tw.Flush()
	for _, s := range r.Searches {
		if s.Stopped != "" {
			fmt.Fprintf(&b, "%s at %s stopped early: %s\n", s.Backend, units.FormatRate(s.RatePerS), s.Stopped)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// kneeOf is the knee estimate reads for search s.
func kneeOf(ev *estimate.Evidence, r *results.Sweep, s results.Search) (estimate.Knee, bool) {
	b := estimate.DeclaredBackend(r, s.Backend)
	for _, k := range ev.Knees {
		if k.Backend == b && k.RatePerS == s.RatePerS {
			return k, true
		}
	}
	return estimate.Knee{}, false
}

// latencyWhy is "not measured (…)" when a run timed no delivery (its p99
// of 0 is no figure), "" otherwise.
func latencyWhy(s results.Summary) string {
	if s.LatencyMs.Count == 0 {
		return "not measured (no delivery was timed)"
	}
	return ""
}

// lossWhy is "not measured (…)" when a run expected no delivery (nothing
// could be lost), "" otherwise.
func lossWhy(s results.Summary) string {
	if s.Expected == 0 {
		return "not measured (no delivery was expected)"
	}
	return ""
}
