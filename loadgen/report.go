package loadgen

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// WriteSummary writes the human summary of a result.
func WriteSummary(w io.Writer, r *Result) error {
	s := r.Summary
	c := r.Config
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	state := "complete"
	if r.Partial {
		state = "PARTIAL"
	}
	run := "run " + c.RunID
	if c.RunID == "" && len(c.RunIDs) > 0 {
		run = fmt.Sprintf("%d runs merged (%s)", len(c.RunIDs), strings.Join(c.RunIDs, ", "))
	}
	if c.Shard != "" {
		run += ", shard " + c.Shard
	}
	p("chatbench swarm\t%s, %s, %s\n", strings.Join(c.URLs, " "), run, state)
	p("load\t%d clients in %d room(s) of %d, %d senders × %g/s, %d-byte probes; warmup %gs, steady %gs\n",
		c.Clients, c.Rooms, c.RoomSize, c.Senders, c.RatePerS, c.SizeBytes, c.WarmupS, c.DurationS)
	p("connections\t%d connected, %d connect errors%s, %d lost mid-run%s; connect p50 %.1f ms, p99 %.1f ms\n",
		s.Connected, s.ConnectErrors, errKinds(r.Errors.Connect), s.Disconnected, errKinds(r.Errors.Disconnect), s.ConnectMs.P50, s.ConnectMs.P99)
	if len(r.Errors.Frames) > 0 {
		p("\tunexpected frames from the server%s\n", errKinds(r.Errors.Frames))
	}
	order := fmt.Sprintf("%d duplicated, %d out of order", s.Duplicated, s.OutOfOrder)
	if !s.OrderTracked {
		order = fmt.Sprintf("%d excess deliveries (order not tracked at this size)", s.Duplicated)
	}
	p("deliveries\t%d sent, %d expected, %d delivered, %d lost (%.3f%%), %s\n",
		s.Sent, s.Expected, s.Delivered, s.Lost, s.LossRatio*100, order)
	if s.ForeignDelivered > 0 {
		p("\t%d probes of other runs received (counted, not timed)\n", s.ForeignDelivered)
	}
	p("throughput\t%s deliveries/s in the steady phase\n", human(s.DeliveriesPerS))
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "latency (ms)\tp50\tp90\tp99\tp99.9\tmax\t\n")
	row := func(name string, q Percentiles) {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", name, q.P50, q.P90, q.P99, q.P999, q.Max)
	}
	row("from due time", s.LatencyMs)
	row("from send time", s.SendLatencyMs)
	row("first receiver", s.FanoutFirstMs)
	row("last receiver", s.FanoutLastMs)
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	perDelivery := func(us float64) string {
		if s.Delivered == 0 {
			return "no deliveries to divide CPU by"
		}
		return fmt.Sprintf("%.2f µs CPU per delivery", us)
	}
	if s.Server.Source != "" {
		mem := fmt.Sprintf("%.1f KB per connection", s.Server.RSSKBPerConn)
		if s.Server.RSSKBPerConn < 0 {
			mem = "memory per connection not measurable (the server's RSS fell during the ramp: it freed more than the connections took)"
		}
		fmt.Fprintf(tw, "server cost\t%s, %s (%s)\n", mem, perDelivery(s.Server.CPUUsPerDelivery), s.Server.Source)
	} else {
		fmt.Fprintf(tw, "server cost\tnot measured (use --server-pid or a server with Prometheus process metrics)\n")
	}
	fmt.Fprintf(tw, "swarm cost\t%.1f KB per socket, %s\n",
		s.Swarm.RSSKBPerSocket, strings.Replace(perDelivery(s.Swarm.CPUUsPerMessage), "per delivery", "per received message", 1))
	fmt.Fprintf(tw, "compression\t%v\n", r.Environment.Compression)
	for _, n := range r.Notes {
		fmt.Fprintf(tw, "note\t%s\n", n)
	}
	for _, e := range r.Errors.Run {
		fmt.Fprintf(tw, "error\t%s\n", e)
	}
	return tw.Flush()
}

func errKinds(m map[string]int64) string {
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

// WriteHgrm writes h (values in µs) in HdrHistogram's percentile
// distribution text with values in milliseconds, as wrk2 and HdrHistogram's
// Java tools print it.
func WriteHgrm(w io.Writer, h *hdr.Histogram) error {
	const scale = 1000.0 // µs -> ms
	if _, err := fmt.Fprintf(w, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)"); err != nil {
		return err
	}
	if h.TotalCount() > 0 {
		for _, b := range h.CumulativeDistributionWithTicks(5) {
			q := b.Quantile / 100
			if q >= 1 {
				fmt.Fprintf(w, "%12.3f %1.12f %10d\n", float64(b.ValueAt)/scale, q, b.Count)
				continue
			}
			fmt.Fprintf(w, "%12.3f %1.12f %10d %14.2f\n", float64(b.ValueAt)/scale, q, b.Count, 1/(1-q))
		}
	}
	mean, sd := h.Mean()/scale, h.StdDev()/scale
	if math.IsNaN(mean) {
		mean, sd = 0, 0
	}
	_, err := fmt.Fprintf(w, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n#[Max     = %12.3f, Total count    = %12d]\n#[Buckets = %12d, SubBuckets     = %12d]\n",
		mean, sd, float64(h.Max())/scale, h.TotalCount(), histBuckets, 2*subBucketHalfCount)
	return err
}

// histBuckets is the bucket count of chatbench's histogram geometry.
var histBuckets = histCountsLen/subBucketHalfCount - 1
