package results

import (
	"fmt"
	"sort"
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

// ClauseResult is one clause checked against a result.
type ClauseResult struct {
	Clause string `json:"clause"`
	// Measured is the metric's value as text ("" when there was none).
	Measured string `json:"measured"`
	OK       bool   `json:"ok"`
	// Why says what broke it (the value, or that there was no sample).
	Why string `json:"why,omitempty"`
}

type sloMetric struct {
	unit string // "ms", "ratio", "count"
	get  func(*Result) (v float64, samples int64)
}

func latency(p func(*Result) Percentiles, q func(Percentiles) float64) func(*Result) (float64, int64) {
	return func(r *Result) (float64, int64) { x := p(r); return q(x), x.Count }
}

func count(f func(*Result) int64) func(*Result) (float64, int64) {
	return func(r *Result) (float64, int64) { return float64(f(r)), 1 }
}

var (
	due     = func(r *Result) Percentiles { return r.Summary.LatencyMs }
	send    = func(r *Result) Percentiles { return r.Summary.SendLatencyMs }
	p50     = func(p Percentiles) float64 { return p.P50 }
	p90     = func(p Percentiles) float64 { return p.P90 }
	p99     = func(p Percentiles) float64 { return p.P99 }
	p999    = func(p Percentiles) float64 { return p.P999 }
	pMax    = func(p Percentiles) float64 { return p.Max }
	lastRcv = func(r *Result) Percentiles { return r.Summary.FanoutLastMs }
	connect = func(r *Result) Percentiles { return r.Summary.ConnectMs }
)

var sloMetrics = map[string]sloMetric{
	"p50":             {"ms", latency(due, p50)},
	"p90":             {"ms", latency(due, p90)},
	"p99":             {"ms", latency(due, p99)},
	"p999":            {"ms", latency(due, p999)},
	"max":             {"ms", latency(due, pMax)},
	"send-p50":        {"ms", latency(send, p50)},
	"send-p99":        {"ms", latency(send, p99)},
	"fanout-last-p99": {"ms", latency(lastRcv, p99)},
	"connect-p99":     {"ms", latency(connect, p99)},
	"loss": {"ratio", func(r *Result) (float64, int64) {
		return r.Summary.LossRatio, r.Summary.Expected
	}},
	"lost":             {"count", count(func(r *Result) int64 { return r.Summary.Lost })},
	"connect-errors":   {"count", count(func(r *Result) int64 { return r.Summary.ConnectErrors })},
	"connected":        {"count", count(func(r *Result) int64 { return r.Summary.Connected })},
	"disconnected":     {"count", count(func(r *Result) int64 { return r.Summary.Disconnected })},
	"send-errors":      {"count", count(func(r *Result) int64 { return r.Summary.SendErrors })},
	"duplicated":       {"count", count(func(r *Result) int64 { return r.Summary.Duplicated })},
	"misrouted":        {"count", count(func(r *Result) int64 { return r.Summary.Misrouted })},
	"unexpected":       {"count", count(func(r *Result) int64 { return r.Summary.Unexpected })},
	"out-of-order":     {"count", count(func(r *Result) int64 { return r.Summary.OutOfOrder })},
	"deliveries-per-s": {"count", func(r *Result) (float64, int64) { return r.Summary.DeliveriesPerS, r.Summary.Delivered }},
}

// SLOMetrics lists the metric names --slo accepts.
func SLOMetrics() []string {
	var names []string
	for k := range sloMetrics {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// ParseSLO parses "p99<100ms,loss<0.1%,connect-errors=0". Latencies take a
// duration (100ms, 0.5s, 800us; a bare number is ms) and the operators <
// and <= only (an SLO bounds latency from above; "p99=100" can only be a
// mistake); loss takes a percentage (0.1%) or a ratio (0.001) from 0 to
// 100%; counts take a number ≥ 0. Operators: < <= > >= =. A clause that
// can never hold (loss<0, lost<0) is refused.
func ParseSLO(s string) (SLO, error) {
	var out SLO
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		c, err := parseClause(part)
		if err != nil {
			return nil, fmt.Errorf("slo clause %q: %w", part, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty slo")
	}
	return out, nil
}

func parseClause(part string) (Clause, error) {
	i := strings.IndexAny(part, "<>=")
	if i <= 0 {
		return Clause{}, fmt.Errorf("want metric<value, e.g. p99<100ms")
	}
	name := strings.TrimSpace(part[:i])
	op, rest := part[i:i+1], part[i+1:]
	if strings.HasPrefix(rest, "=") {
		if op != "=" {
			op += "="
		}
		rest = rest[1:]
	}
	m, ok := sloMetrics[name]
	if !ok {
		return Clause{}, fmt.Errorf("unknown metric %q (known: %s)", name, strings.Join(SLOMetrics(), ", "))
	}
	v, err := parseSLOValue(strings.TrimSpace(rest), m.unit)
	if err != nil {
		return Clause{}, err
	}
	switch {
	case m.unit == "ms" && op != "<" && op != "<=":
		return Clause{}, fmt.Errorf("a latency takes < or <= (e.g. %s<100ms)", name)
	case v < 0 || (op == "<" && v == 0):
		return Clause{}, fmt.Errorf("%s is never below 0: the clause can never hold", name)
	case m.unit == "ratio" && v > 1:
		return Clause{}, fmt.Errorf("%s is a share of at most 100%%", name)
	}
	return Clause{Text: part, Metric: name, Op: op, Value: v}, nil
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

// ParseSLOOrEmpty parses s, or returns no clause when s is empty.
func ParseSLOOrEmpty(s string) (SLO, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	return ParseSLO(s)
}

// String is the clauses as given, comma-separated.
func (s SLO) String() string {
	var ts []string
	for _, c := range s {
		ts = append(ts, c.Text)
	}
	return strings.Join(ts, ",")
}

// Check checks every clause against r. A clause on a metric with no
// sample (a latency when nothing was timed, loss when nothing was
// expected) is broken: an SLO is never met by the absence of evidence.
func (s SLO) Check(r *Result) []ClauseResult {
	var out []ClauseResult
	for _, c := range s {
		m := sloMetrics[c.Metric]
		v, samples := m.get(r)
		res := ClauseResult{Clause: c.Text}
		if samples == 0 {
			res.Why = fmt.Sprintf("%s not measured: no sample", c.Metric)
			out = append(out, res)
			continue
		}
		res.Measured = formatMetric(v, m.unit)
		switch c.Op {
		case "<":
			res.OK = v < c.Value
		case "<=":
			res.OK = v <= c.Value
		case ">":
			res.OK = v > c.Value
		case ">=":
			res.OK = v >= c.Value
		default:
			res.OK = v == c.Value
		}
		if !res.OK {
			res.Why = fmt.Sprintf("%s = %s", c.Metric, res.Measured)
		}
		out = append(out, res)
	}
	return out
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
