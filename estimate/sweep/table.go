package sweep

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/chatbench/chatbench/estimate"
	"github.com/chatbench/chatbench/internal/units"
	"github.com/chatbench/chatbench/loadgen/results"
)

// BlogClaim is the blog's users-per-server claim for a backend.
type BlogClaim struct {
	ID     string
	Lo, Hi float64
}

// BlogClaims maps backends to the blog's claims 5, 7 and 8.
var BlogClaims = map[string]BlogClaim{
	"memory": {"5", 1000, 2000}, "redis": {"7", 10000, 20000}, "rabbitmq": {"8", 50000, 100000},
}

// WriteTable prints the steps and the knees per backend beside the blog's
// claims scaled to this machine: the blog's users on a 4-core server at
// 10 msg/s, × √(cores/4 × 10/rate) by the fan-out law (N² × rate ∝ cores),
// capped by memory at the blog's 10 KB per connection.
func WriteTable(w io.Writer, r *results.Sweep) error {
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
			p99 = fmt.Sprintf("%.1f ms", s.Result.Summary.LatencyMs.P99)
			lost = fmt.Sprintf("%d of %d", s.Result.Summary.Lost, s.Result.Summary.Expected)
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
	fmt.Fprintln(tw, "BACKEND\tRATE\tKNEE\tRUNS\tTHE BLOG'S CLAIM, SCALED TO THIS MACHINE AND RATE")
	for _, s := range r.Searches {
		knee := units.FormatCount(float64(s.Knee))
		switch {
		case s.Knee == 0:
			knee = "< " + units.FormatCount(float64(r.Config.StartN))
		case s.Above == 0:
			knee = "≥ " + knee
		}
		claim := "-"
		if c, ok := BlogClaims[s.Backend]; ok {
			lo, hi := ScaleClaim(c.Lo, cores, mem, s.RatePerS), ScaleClaim(c.Hi, cores, mem, s.RatePerS)
			claim = fmt.Sprintf("claim %s: %s–%s users on 4 cores at 10/s → %s–%s here", c.ID,
				units.FormatCount(c.Lo), units.FormatCount(c.Hi), units.FormatCount(lo), units.FormatCount(hi))
			switch {
			case s.Knee > 0 && s.Above > 0:
				_, _, v := estimate.RatioVerdict(float64(s.Knee), lo, hi)
				claim += ": " + v
			case s.Knee > 0:
				claim += ": not reached (every step passed up to --max)"
			}
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
	_, err := io.WriteString(w, b.String())
	return err
}

// ScaleClaim scales a blog users-per-server figure (4 cores, 8 GB, 10 msg/s)
// to a machine of cores and memBytes at rate: × √(cores/4 × 10/rate), capped
// by memBytes at the blog's 10 KB per connection.
func ScaleClaim(users, cores, memBytes, rate float64) float64 {
	n := users
	if cores > 0 && rate > 0 {
		n = users * math.Sqrt(cores/estimate.BlogCores*estimate.BlogRatePerS/rate)
	}
	if memBytes > 0 {
		n = math.Min(n, estimate.ConnsInRAM(memBytes, estimate.BlogKBPerConn))
	}
	return math.Floor(n)
}
