package estimate

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/chatbench/chatbench/internal/units"
)

// writeClaims writes the claims table: for one server (or none) a row per
// claim with every figure on a line of its own and its source; for several
// servers a column per server with the verdict and the figure it rests on,
// the figures listed below.
func (r *Report) writeClaims(ew *errWriter) {
	servers := r.Servers
	if len(servers) == 0 {
		servers = []string{""}
	}
	ew.printf("\nTHE BLOG'S CLAIMS")
	if len(servers) == 1 && servers[0] != "" {
		ew.printf(" FOR %s", servers[0])
	}
	if len(r.Files) > 0 {
		ew.printf(" (FROM %s)", strings.Join(r.Files, ", "))
	}
	ew.printf("\n")
	if len(servers) == 1 {
		r.writeClaimRows(ew)
	} else {
		r.writeClaimColumns(ew, servers)
	}
	var basis []string
	for _, c := range r.Claims {
		who := ""
		if len(servers) > 1 {
			who = " [" + c.Server + "]"
		}
		if c.Basis != "" {
			basis = append(basis, fmt.Sprintf("  %s%s: %s", c.ID, who, c.Basis))
		}
	}
	if len(basis) > 0 {
		ew.printf("how measured:\n%s\n", strings.Join(basis, "\n"))
	}
	for _, s := range r.Skipped {
		ew.printf("not used as evidence: %s (%s): %s\n", s.Source, s.Server, s.Why)
	}
	ew.printf("verdict: holds within %s× of the claim (or inside its range), else off by N×; a growth bound O(N^k) holds up to exponent k + %s, refuted above; \"lower\" holds below 1×, refuted at 1× or more; "+
		"too little data below %s connections, %s deliveries or %s CPU clock ticks; a knee whose spread straddles the claim is undecided\n",
		units.FormatSig(HoldsWithin, 2), units.FormatSig(ExponentTolerance, 2), units.FormatCount(MinConns), units.FormatCount(MinDeliveries), units.FormatCount(MinCPUTicks))
}

// judged reports whether c has a verdict stated in a load shape, printed
// beside it.
func judged(c ClaimCheck) bool {
	return c.ShapeText != "" && c.Value != nil
}

func (r *Report) writeClaimRows(ew *errWriter) {
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tCLAIM\tBLOG\tFIGURE\tSOURCE\tVERDICT")
	for _, c := range r.Claims {
		figs := c.Figures
		if len(figs) == 0 {
			figs = []ClaimFigure{{Text: "-", Source: "-"}}
		}
		for i, f := range figs {
			text := f.Text
			if f.Label != "" {
				text = f.Label + ": " + f.Text
			}
			if i == 0 {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Text, c.Blog, text, f.Source, c.Verdict)
				continue
			}
			fmt.Fprintf(tw, "\t\t\t%s\t%s\t\n", text, f.Source)
		}
		if judged(c) {
			fmt.Fprintf(tw, "\t\t\tthe claim's load: %s\t\t\n", c.ShapeText)
		}
	}
	tw.Flush()
}

func (r *Report) writeClaimColumns(ew *errWriter, servers []string) {
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "#\tCLAIM\tBLOG\t%s\n", strings.Join(servers, "\t"))
	for i := 0; i < len(r.Claims); i += len(servers) {
		c := r.Claims[i]
		cells := make([]string, len(servers))
		for j := range servers {
			cc := r.Claims[i+j]
			cells[j] = cc.Verdict
			if cc.VerdictKind == VerdictNotApplicable {
				cells[j] = "n/a (about " + cc.About + ")"
			}
			if len(cc.Figures) > 0 {
				f := cc.Figures[0]
				cells[j] += fmt.Sprintf(": %s %s (%s)", f.Label, f.Text, f.Source)
			}
			if judged(cc) {
				cells[j] += "; the claim's load: " + cc.ShapeText
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, c.Text, c.Blog, strings.Join(cells, "\t"))
	}
	tw.Flush()
	for _, c := range r.Claims {
		for _, f := range c.Figures[min(1, len(c.Figures)):] {
			ew.printf("  %s [%s]: %s: %s (%s)\n", c.ID, c.Server, f.Label, f.Text, f.Source)
		}
	}
}
