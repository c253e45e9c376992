package estimate

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/chatbench/chatbench/internal/units"
)

// WriteJSON writes the report for machines.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report for people. Every number in it is one of the
// report's fields (or its Text), so it agrees with WriteJSON.
func (r *Report) WriteTable(w io.Writer) error {
	ew := &errWriter{w: w}
	in := r.Inputs
	rooms := r.Model.Rooms
	roomText := fmt.Sprintf("1 room of %s", units.FormatCount(float64(in.RoomSize)))
	if rooms > 1 {
		roomText = fmt.Sprintf("%s rooms of %s", units.FormatCount(rooms), units.FormatCount(float64(in.RoomSize)))
	}
	sendText := "every user sends"
	if in.Senders != in.Users {
		sendText = units.FormatCount(float64(in.Senders)) + " senders"
	}
	ew.printf("%s users in %s, %s %s, %s messages; node: %s cores, %s RAM\n\n",
		units.FormatCount(float64(in.Users)), roomText, sendText, units.FormatRate(in.RatePerS), units.FormatBytes(in.SizeBytes),
		units.FormatSig(in.Cores, 3), units.FormatBytes(in.RAMBytes))

	if len(r.Files) > 0 {
		ew.printf("SCENARIO: FROM %s UNLESS GIVEN\n", strings.Join(r.Files, ", "))
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		for _, f := range r.Scenario {
			src := f.Source
			if f.From != "" {
				src += " in " + f.From
			}
			if f.Overrides != "" {
				src += " (overrides " + f.Overrides + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Flag, f.Text, src)
		}
		tw.Flush()
		ew.printf("\n")
	}
	ew.printf("THE BLOG'S ARITHMETIC, AND THE FAN-OUT MODEL BESIDE IT\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "QUANTITY\tTHE BLOG\tFAN-OUT MODEL\tRESTS ON")
	for _, l := range r.Lines {
		blog := l.Blog
		if blog == "" {
			blog = "-"
		}
		// One assumption per line keeps the table narrow.
		rests := append([]string{""}, l.RestsOn...)[min(1, len(l.RestsOn)):]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.Quantity, blog, l.Model, rests[0])
		for _, more := range rests[1:] {
			fmt.Fprintf(tw, "\t\t\t%s\n", more)
		}
	}
	tw.Flush()

	ew.printf("\nASSUMPTIONS\n")
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ASSUMPTION\tVALUE\tSOURCE\tWHY")
	for _, a := range r.Assumptions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Name, a.Text, a.SourceText(), a.Why)
	}
	tw.Flush()

	r.writeClaims(ew)

	if p := r.Plan; p != nil {
		ew.printf("\nPLAN: %s USERS IN ROOMS OF %s AT %s PER SENDER, NODES OF %s CORES / %s\n",
			units.FormatCount(p.TargetUsers), units.FormatCount(p.RoomSize), units.FormatRate(p.RatePerS), units.FormatSig(in.Cores, 3), units.FormatBytes(in.RAMBytes))
		tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "BACKEND\tNODES\tUSERS/NODE\tLIMIT\tDELIVERIES/S\tBROKER PUBLISHES/S\tBROKER->NODES/S\tEGRESS/NODE\tCPU/NODE\tNOTE")
		for _, row := range p.Rows {
			nodes, pubs, bdel := "-", "-", "-"
			if row.Fits {
				nodes = units.FormatCount(row.Nodes)
			}
			if row.Backend != "memory" && row.Fits {
				pubs, bdel = units.FormatSig(row.BrokerPublishesPerS, 4), units.FormatSig(row.BrokerDeliveriesPerS, 4)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Backend, nodes, units.FormatCount(row.UsersPerNode), row.LimitedBy,
				units.FormatSig(row.DeliveriesPerS, 4), pubs, bdel, units.FormatBytes(row.EgressPerNodeBytes)+"/s",
				units.FormatSig(row.CPUPerNodeCores, 3)+" cores", row.Note)
		}
		tw.Flush()
		ew.printf("per backend: memory per connection and CPU per delivery: ")
		var per []string
		for _, row := range p.Rows {
			per = append(per, fmt.Sprintf("%s %s, %s", row.Backend, row.KBPerConn, row.CPUUsPerDelivery))
		}
		ew.printf("%s\nplacement: %s\n", strings.Join(per, "; "), p.Placement)
	}
	for _, n := range r.Notes {
		ew.printf("note: %s\n", n)
	}
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, a ...any) { fmt.Fprintf(e, format, a...) }
