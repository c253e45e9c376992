package loadgen

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SLO is a list of clauses, all of which must hold.
type SLO []Clause

// Clause is one "metric op value" condition, e.g. p99<100ms.
type Clause struct {
	Text   string
	Metric string
	Op     string
	Value  float64 // in the metric's unit: ms for latencies, a ratio for loss, a count otherwise
}

type sloMetric struct {
	unit string // "ms", "ratio", "count"
	get  func(*Result) float64
}

var sloMetrics = map[string]sloMetric{
	"p50":              {"ms", func(r *Result) float64 { return r.Summary.LatencyMs.P50 }},
	"p90":              {"ms", func(r *Result) float64 { return r.Summary.LatencyMs.P90 }},
	"p99":              {"ms", func(r *Result) float64 { return r.Summary.LatencyMs.P99 }},
	"p999":             {"ms", func(r *Result) float64 { return r.Summary.LatencyMs.P999 }},
	"max":              {"ms", func(r *Result) float64 { return r.Summary.LatencyMs.Max }},
	"send-p50":         {"ms", func(r *Result) float64 { return r.Summary.SendLatencyMs.P50 }},
	"send-p99":         {"ms", func(r *Result) float64 { return r.Summary.SendLatencyMs.P99 }},
	"fanout-last-p99":  {"ms", func(r *Result) float64 { return r.Summary.FanoutLastMs.P99 }},
	"connect-p99":      {"ms", func(r *Result) float64 { return r.Summary.ConnectMs.P99 }},
	"loss":             {"ratio", func(r *Result) float64 { return r.Summary.LossRatio }},
	"lost":             {"count", func(r *Result) float64 { return float64(r.Summary.Lost) }},
	"connect-errors":   {"count", func(r *Result) float64 { return float64(r.Summary.ConnectErrors) }},
	"connected":        {"count", func(r *Result) float64 { return float64(r.Summary.Connected) }},
	"disconnected":     {"count", func(r *Result) float64 { return float64(r.Summary.Disconnected) }},
	"send-errors":      {"count", func(r *Result) float64 { return float64(r.Summary.SendErrors) }},
	"duplicated":       {"count", func(r *Result) float64 { return float64(r.Summary.Duplicated) }},
	"out-of-order":     {"count", func(r *Result) float64 { return float64(r.Summary.OutOfOrder) }},
	"deliveries-per-s": {"count", func(r *Result) float64 { return r.Summary.DeliveriesPerS }},
}

// SLOMetrics lists the metric names --slo accepts.
func SLOMetrics() []string {
	return []string{"p50", "p90", "p99", "p999", "max", "send-p50", "send-p99", "fanout-last-p99", "connect-p99",
		"loss", "lost", "connect-errors", "connected", "disconnected", "send-errors", "duplicated", "out-of-order",
		"deliveries-per-s"}
}

// ParseSLO parses "p99<100ms,loss<0.1%,connect-errors=0". Latencies take a
// duration (100ms, 0.5s, 800us; a bare number is ms); loss takes a percentage
// (0.1%) or a ratio (0.001); counts take a number. Operators: < <= > >= =.
// An unknown metric name is an error.
func ParseSLO(s string) (SLO, error) {
	var out SLO
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		i := strings.IndexAny(part, "<>=")
		if i <= 0 {
			return nil, fmt.Errorf("slo clause %q: want metric<value, e.g. p99<100ms", part)
		}
		name := strings.TrimSpace(part[:i])
		op := part[i : i+1]
		rest := part[i+1:]
		if strings.HasPrefix(rest, "=") {
			if op != "=" {
				op += "="
			}
			rest = rest[1:]
		}
		m, ok := sloMetrics[name]
		if !ok {
			return nil, fmt.Errorf("slo clause %q: unknown metric %q (known: %s)", part, name, strings.Join(SLOMetrics(), ", "))
		}
		v, err := parseSLOValue(strings.TrimSpace(rest), m.unit)
		if err != nil {
			return nil, fmt.Errorf("slo clause %q: %w", part, err)
		}
		out = append(out, Clause{Text: part, Metric: name, Op: op, Value: v})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty slo")
	}
	return out, nil
}

func parseSLOValue(s, unit string) (float64, error) {
	switch unit {
	case "ms":
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q (e.g. 100ms)", s)
		}
		return float64(d) / float64(time.Millisecond), nil
	case "ratio":
		if p, ok := strings.CutSuffix(s, "%"); ok {
			f, err := strconv.ParseFloat(p, 64)
			if err != nil {
				return 0, fmt.Errorf("bad percentage %q", s)
			}
			return f / 100, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("bad ratio %q (e.g. 0.1%%)", s)
		}
		return f, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", s)
	}
	return f, nil
}

// Check returns one line per broken clause, naming the clause and the
// measured value; nil when every clause holds.
func (s SLO) Check(r *Result) []string {
	var broken []string
	for _, c := range s {
		m := sloMetrics[c.Metric]
		v := m.get(r)
		var ok bool
		switch c.Op {
		case "<":
			ok = v < c.Value
		case "<=":
			ok = v <= c.Value
		case ">":
			ok = v > c.Value
		case ">=":
			ok = v >= c.Value
		default:
			ok = v == c.Value
		}
		if !ok {
			broken = append(broken, fmt.Sprintf("%s broken: %s = %s", c.Text, c.Metric, formatMetric(v, m.unit)))
		}
	}
	return broken
}

func formatMetric(v float64, unit string) string {
	switch unit {
	case "ms":
		return strconv.FormatFloat(v, 'f', 3, 64) + "ms"
	case "ratio":
		return strconv.FormatFloat(v*100, 'g', 4, 64) + "%"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
