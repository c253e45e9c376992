package chaos

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/chatbench/chatbench/loadgen/results"
)

// WriteTable writes one row per fault: what it cost. A gap of "none"
// means no delivery was affected; a ready-again of "never" means some node
// was not ready at the end of the run.
func WriteTable(w io.Writer, r *results.Chaos) error {
	if err := Unmeasured(r); err != nil {
		// What went wrong first: those rows are not measurements.
		fmt.Fprintf(w, "FAILED: %v\n", err)
	}
	fmt.Fprintf(w, "chaos: %s (%s), %d nodes, %d clients at %g/s per sender, fault at %gs of %gs steady, hold %gs\n",
		r.Config.Backend, r.Config.Mode, r.Config.Nodes, r.Config.Clients, r.Config.RatePerS, r.Config.AtS, r.Config.DurationS, r.Config.HoldS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "fault\toutcome\texpected\tlost\tdup\tdelayed\tgap\tready again\tconnected\treconnects\tp99 before/during/after ms\t")
	for _, f := range r.Faults {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n", f.Fault, outcomeText(f), f.Expected, f.Lost, f.Duplicated, f.Delayed,
			gapText(f.GapS), readyText(f.ReadyAgainS), yesNo(f.AllConnected), reconnectText(f), p99Text(f))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if r.Partial {
		fmt.Fprintln(w, "partial: the experiment ended early; the rows above are the faults that finished")
	}
	return nil
}

// outcomeText is the verdict of the fault's swarm run (overloaded counts;
// partial and invalid do not, see results.FaultRun.NotMeasured).
func outcomeText(f results.FaultRun) string {
	if f.Run == nil || f.Run.Outcome.Verdict == "" {
		return "-"
	}
	return f.Run.Outcome.Verdict
}

func gapText(g *float64) string {
	if g == nil {
		return "none"
	}
	return fmt.Sprintf("%.3fs", *g)
}

func readyText(s *float64) string {
	if s == nil {
		return "never"
	}
	return fmt.Sprintf("%.2fs", *s)
}

func yesNo(b bool) string {
	if b {
		return "all"
	}
	return "NOT all"
}

func reconnectText(f results.FaultRun) string {
	if f.Reconnects == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (p99 %.0fms)", f.Reconnects, f.ReconnectMs.P99)
}

func p99Text(f results.FaultRun) string {
	p := func(x results.Percentiles) string {
		if x.Count == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f", x.P99)
	}
	return p(f.Before) + "/" + p(f.During) + "/" + p(f.After)
}
