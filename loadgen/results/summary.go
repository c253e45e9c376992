package results

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteSummary writes the human summary of a result. It leads with the
// outcome and, when the run is not complete, what went wrong and what to
// change.
func WriteSummary(w io.Writer, r *Result) error {
	var b strings.Builder
	writeOutcome(&b, r)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	s, c := r.Summary, r.Config
	p("target\t%s, %s\n", strings.Join(c.URLs, " "), runName(c))
	p("load\t%d clients in %d room(s) of %d, %d senders × %g/s, %d-byte probes; warmup %gs, steady %gs; asks %s deliveries/s\n",
		c.Clients, c.Rooms, c.RoomSize, c.Senders, c.RatePerS, c.SizeBytes, c.WarmupS, c.DurationS, human(c.RequestedPerS))
	p("connections\t%d connected, %d connect errors%s, %d lost mid-run%s; connect p50 %.1f ms, p99 %.1f ms\n",
		s.Connected, s.ConnectErrors, kindCounts(r.Errors.Connect), s.Disconnected, kindCounts(r.Errors.Disconnect), s.ConnectMs.P50, s.ConnectMs.P99)
	if s.Left > 0 {
		p("\tchurn: %d left, %d came back\n", s.Left, s.Rejoined)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Errors.Reasons)) {
		p("\t%s: %s\n", k, r.Errors.Reasons[k])
	}
	if len(r.Errors.Frames) > 0 {
		p("\tunexpected frames from the server%s\n", kindCounts(r.Errors.Frames))
	}
	p("deliveries\t%d sent, %d expected, %d delivered, %d lost (%.3f%%)\n", s.Sent, s.Expected, s.Delivered, s.Lost, s.LossRatio*100)
	p("\t%d duplicated, %d misrouted (other rooms), %d unexpected, %d out of order\n", s.Duplicated, s.Misrouted, s.Unexpected, s.OutOfOrder)
	if s.Foreign > 0 {
		p("\t%d probes of other runs received (counted, not timed)\n", s.Foreign)
	}
	p("throughput\t%s deliveries/s in the steady phase\n", human(s.DeliveriesPerS))
	tw.Flush()
	b.WriteString("\n")
	writeLatency(&b, s)
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "server cost\t%s\n", CostLine(r.Server, "per delivery", "per connection"))
	fmt.Fprintf(tw, "swarm cost\t%s\n", CostLine(r.Swarm, "per received message", "per socket"))
	fmt.Fprintf(tw, "compression\t%v\n", r.Environment.Compression)
	for _, cl := range r.Outcome.Clauses {
		v := "ok (" + cl.Measured + ")"
		if !cl.OK {
			v = "BROKEN: " + cl.Why
		}
		fmt.Fprintf(tw, "slo\t%s: %s\n", cl.Clause, v)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(tw, "note\t%s\n", n)
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

func writeOutcome(b *strings.Builder, r *Result) {
	o := r.Outcome
	fmt.Fprintf(b, "chatbench swarm: %s\n", strings.ToUpper(o.Verdict))
	for _, why := range o.Reasons {
		fmt.Fprintf(b, "  - %s\n", why)
	}
	for _, why := range o.Warnings {
		fmt.Fprintf(b, "  warning: %s\n", why)
	}
	b.WriteString("\n")
}

func runName(c RunConfig) string {
	run := "run " + c.RunID
	if c.RunID == "" && len(c.RunIDs) > 0 {
		run = fmt.Sprintf("%d runs merged (%s)", len(c.RunIDs), strings.Join(c.RunIDs, ", "))
	}
	if c.Shard != "" {
		run += ", shard " + c.Shard
	}
	if c.Procs > 1 {
		run += fmt.Sprintf(", %d worker processes", c.Procs)
	}
	return run
}

func writeLatency(b *strings.Builder, s Summary) {
	if s.LatencyMs.Count == 0 {
		b.WriteString("latency\tnot measured: no delivery was timed\n\n")
		return
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "latency (ms)\tp50\tp90\tp99\tp99.9\tmax\tsamples\t\n")
	row := func(name string, q Percentiles) {
		if q.Count == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t0\t\n", name)
			return
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t\n", name, q.P50, q.P90, q.P99, q.P999, q.Max, q.Count)
	}
	row("from due time", s.LatencyMs)
	row("from send time", s.SendLatencyMs)
	row("first receiver", s.FanoutFirstMs)
	row("last receiver", s.FanoutLastMs)
	tw.Flush()
	b.WriteString("\n")
}

// CostLine describes a cost in one line: CPU per message and memory per
// connection, each a number or why it is not measured, and which
// processes were read (their figures added up).
func CostLine(c Cost, perMsg, perConn string) string {
	if len(c.Processes) == 0 {
		return "not measured: " + c.CPUPerMessage.Why
	}
	cpu := "CPU " + perMsg + " not measured: " + c.CPUPerMessage.Why
	if c.CPUPerMessage.OK() {
		cpu = fmt.Sprintf("%.2f µs CPU %s", c.CPUPerMessage.Value, perMsg)
	}
	mem := "memory " + perConn + " not measured: " + c.MemoryPerConn.Why
	if c.MemoryPerConn.OK() {
		mem = fmt.Sprintf("%.1f KB %s (1 KB = 1000 B)", c.MemoryPerConn.Value/1000, perConn)
	}
	var names []string
	for _, p := range c.Processes {
		names = append(names, p.Name)
	}
	from := strings.Join(names, ", ")
	if len(names) > 1 {
		from = fmt.Sprintf("%d processes added up: %s", len(names), from)
	}
	return fmt.Sprintf("%s; %s (%s)", cpu, mem, from)
}

func kindCounts[K ~string](m map[K]int64) string {
	if len(m) == 0 {
		return ""
	}
	var ks []string
	for k, v := range m {
		ks = append(ks, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(ks)
	return " (" + strings.Join(ks, ", ") + ")"
}

func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
