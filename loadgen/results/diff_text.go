package results

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/chatbench/chatbench/internal/units"
)

// WriteComparison prints c as a table: each figure of A and B, the change,
// the noise band it had to leave, and the verdict; then what each verdict
// rests on, and the notes.
func WriteComparison(w io.Writer, c *Comparison) error {
	var b strings.Builder
	for _, s := range []struct {
		tag  string
		side DiffSide
	}{{"A", c.A}, {"B", c.B}} {
		fmt.Fprintf(&b, "%s  %s", s.tag, s.side.Name)
		if s.side.Run != "" {
			fmt.Fprintf(&b, " (run %s, %s)", s.side.Run, s.side.Outcome)
		}
		fmt.Fprintf(&b, "\n   %s\n", s.side.Load)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "METRIC\tA\tB\tCHANGE B−A\tNOISE (%s%%)\tVERDICT\n", units.FormatSig(NoiseLevel*100, 2))
	for _, r := range c.Rows {
		change, noise := "-", "-"
		if r.Change.OK() {
			change = signed(r.Change.Value, r.Unit)
			if r.Relative.OK() {
				change += " (" + signedPct(r.Relative.Value) + ")"
			}
		}
		if r.Noise != nil && r.Verdict != DiffSame {
			noise = "±" + formatUnit(*r.Noise, r.Unit)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Metric, cell(r.A, r.ABounds, r.Unit), cell(r.B, r.BBounds, r.Unit), change, noise, r.Verdict)
	}
	tw.Flush()
	b.WriteString("\nwhat each verdict rests on:\n")
	for _, r := range c.Rows {
		why := r.Basis
		if r.Verdict == DiffNotMeasured {
			why = "not measured: " + r.Change.Why
		}
		fmt.Fprintf(&b, "  %s: %s\n", r.Metric, why)
	}
	if len(c.Notes) > 0 {
		b.WriteString("\nnotes:\n")
		for _, n := range c.Notes {
			fmt.Fprintf(&b, "  %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func cell(f Figure, bounds *Bounds, unit string) string {
	if !f.OK() {
		return "not measured"
	}
	if bounds != nil && bounds.Hi == nil {
		return "≥ " + formatUnit(f.Value, unit)
	}
	return formatUnit(f.Value, unit)
}

// formatUnit writes v in the unit's usual form: ms and µs to 3 digits,
// a ratio as a percentage, bytes with a decimal prefix, counts whole.
func formatUnit(v float64, unit string) string {
	switch unit {
	case "ratio":
		return units.FormatSig(v*100, 3) + "%"
	case "bytes":
		return units.FormatBytes(v)
	case "clients":
		return units.FormatCount(v)
	case "1/s":
		return units.FormatSig(v, 4) + "/s"
	}
	return units.FormatSig(v, 3) + " " + unit
}

func signed(v float64, unit string) string {
	switch {
	case v == 0:
		return formatUnit(0, unit)
	case v > 0:
		return "+" + formatUnit(v, unit)
	}
	return "-" + formatUnit(math.Abs(v), unit)
}

func signedPct(r float64) string {
	s := units.FormatSig(math.Abs(r)*100, 2) + "%"
	if r < 0 {
		return "-" + s
	}
	return "+" + s
}
