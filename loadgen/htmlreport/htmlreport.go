// Package htmlreport renders swarm and sweep results as one self-contained
// HTML file with plots: latency percentile distributions (due-time and
// send-time curves on HdrHistogram's 1/(1-percentile) axis), latency,
// connections and deliveries per second over time, server memory per
// connection, and for a sweep the capacity curve (N against p99, the SLO
// line, the knee).
//
// Plots are drawn with gonum.org/v1/plot and embedded as inline SVG: the
// file needs no script and no network to view, prints as vectors, and
// stays readable where JavaScript is off. swarm --html, sweep --html and
// report html share this renderer.
package htmlreport

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chatbench/chatbench/loadgen/results"
)

// Report is what one HTML file shows.
type Report struct {
	Title     string
	Version   string    // chatbench version, shown in the footer
	Generated time.Time // shown when set
	Runs      []Run
	Sweeps    []Sweep
}

// Run is one swarm result (possibly merged from several processes).
type Run struct {
	Name   string
	Result *results.Result
	// Fault, for a run of a fault experiment (kind chaos), is the fault
	// injected: marked on the timelines, its cost among the facts.
	Fault *results.FaultRun
}

// Sweep is a sweep result: its steps, the SLO and the knees.
type Sweep struct {
	Name     string
	SLOP99Ms float64
	MaxLoss  float64
	Steps    []Step
	Knees    []Knee
	Partial  bool
	Notes    []string
}

// Step is one swarm run of a sweep.
type Step struct {
	Backend  string
	Clients  int64
	RatePerS float64
	OK       bool
	Why      string
	Result   *results.Result
}

// Knee is the result of one knee search (a backend at a rate).
type Knee struct {
	Backend  string
	RatePerS float64
	Knee     int64 // largest N that met the SLO; 0: none
	Above    int64 // smallest N that missed it; 0: none up to the maximum
}

// Parse reads one results file's contents (kind "swarm" or "sweep") into a
// report part named name.
func Parse(name string, data []byte) (Report, error) {
	f, err := results.Decode(name, data)
	if err != nil {
		return Report{}, err
	}
	if f.Run != nil {
		return Report{Runs: []Run{{Name: name, Result: f.Run}}}, nil
	}
	if f.Chaos != nil {
		return Report{Runs: chaosRuns(name+": ", f.Chaos)}, nil
	}
	sw := Sweep{Name: name, SLOP99Ms: f.Sweep.Config.SLOP99Ms, MaxLoss: f.Sweep.Config.MaxLoss, Partial: f.Sweep.Partial, Notes: f.Sweep.Notes}
	for _, se := range f.Sweep.Searches {
		sw.Knees = append(sw.Knees, Knee{Backend: se.Backend, RatePerS: se.RatePerS, Knee: se.Knee, Above: se.Above})
	}
	for _, s := range f.Sweep.Steps {
		sw.Steps = append(sw.Steps, Step{Backend: s.Backend, Clients: s.Clients, RatePerS: s.RatePerS, OK: s.OK, Why: s.Why, Result: s.Result})
	}
	return Report{Sweeps: []Sweep{sw}}, nil
}

// Load reads results files (swarm or sweep) into one report, each part
// named by its file name.
func Load(paths ...string) (*Report, error) {
	rep := &Report{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		part, err := Parse(filepath.Base(p), b)
		if err != nil {
			return nil, err
		}
		rep.Runs = append(rep.Runs, part.Runs...)
		rep.Sweeps = append(rep.Sweeps, part.Sweeps...)
	}
	return rep, nil
}

// WriteFile writes the report to path (through a temporary file).
func WriteFile(path string, rep *Report) error {
	var b bytes.Buffer
	if err := Write(&b, rep); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Write renders the report as one HTML document.
func Write(w io.Writer, rep *Report) error {
	if rep == nil || len(rep.Runs)+len(rep.Sweeps) == 0 {
		return errors.New("html report: no results to show")
	}
	v, err := build(rep)
	if err != nil {
		return err
	}
	return page.Execute(w, v)
}

type figure struct {
	ID, Caption string
	SVG         template.HTML
}

type kv struct{ K, V string }

type runView struct {
	ID, Name, Heading string
	Facts             []kv
	Latency           [][]string // rows of the percentile table
	Figures           []figure
	Notes             []string
	Partial           bool
}

type sweepView struct {
	ID, Name string
	Knees    [][]string
	Steps    [][]string
	Figures  []figure
	Runs     []runView
	Notes    []string
	Partial  bool
}

type view struct {
	Title, Version, Generated string
	Sweeps                    []sweepView
	Runs                      []runView
}

func build(rep *Report) (*view, error) {
	v := &view{Title: rep.Title, Version: rep.Version}
	if v.Title == "" {
		v.Title = "chatbench report"
	}
	if !rep.Generated.IsZero() {
		v.Generated = rep.Generated.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	for i, sw := range rep.Sweeps {
		sv, err := buildSweep(fmt.Sprintf("sweep%d", i+1), sw)
		if err != nil {
			return nil, err
		}
		v.Sweeps = append(v.Sweeps, sv)
	}
	if len(rep.Runs) > 1 {
		names := make([]string, len(rep.Runs))
		server, swarm := make([]float64, len(rep.Runs)), make([]float64, len(rep.Runs))
		for i, r := range rep.Runs {
			names[i] = r.Name
			names[i], server[i], swarm[i] = memoryBar(r.Name, r.Result)
		}
		all := runView{ID: "all", Heading: "All runs"}
		s, err := latencyDistribution("Latency distribution, every run", rep.Runs)
		if err != nil {
			return nil, err
		}
		if s != "" {
			all.Figures = append(all.Figures, figure{ID: "all-latency-distribution", SVG: template.HTML(s),
				Caption: "Every run's latency distribution (steady phase), from due time and from send time."})
		}
		if s, err = memoryBars("Memory per connection", names, server, swarm); err != nil {
			return nil, err
		}
		all.Figures = append(all.Figures, figure{ID: "all-memory", SVG: template.HTML(s),
			Caption: "Server RSS growth per connection and swarm's own RSS per socket (KB = 1000 B), per run, beside the blog's assumed 10 KB; a run whose figure was not measured is labelled so and drawn at 0."})
		v.Runs = append(v.Runs, all)
	}
	for i, r := range rep.Runs {
		rv, err := buildRun(fmt.Sprintf("run%d", i+1), r)
		if err != nil {
			return nil, err
		}
		v.Runs = append(v.Runs, rv)
	}
	return v, nil
}

func pct(v float64) string { return fmt.Sprintf("%.3f%%", v*100) }

func ms(v float64) string { return fmt.Sprintf("%.2f", v) }

func buildRun(id string, r Run) (runView, error) {
	res := r.Result
	s, c := res.Summary, res.Config
	rv := runView{ID: id, Name: r.Name, Heading: r.Name, Partial: !res.Outcome.OK()}
	if rv.Heading == "" {
		rv.Heading = "swarm run"
	}
	rooms := fmt.Sprintf("%s clients in %d room(s) of %s; %s senders × %s/s; %d-byte probes; steady %ss",
		fmtCount(int64(c.Clients)), c.Rooms, fmtCount(int64(c.RoomSize)), fmtCount(int64(c.Senders)), fmtNum(c.RatePerS), c.SizeBytes, fmtNum(c.DurationS))
	target := strings.Join(c.URLs, " ")
	if c.Backend != "" {
		target += " (backend " + c.Backend + ")"
	}
	server := results.CostLine(res.Server, "per delivery", "per connection")
	marks := faultMarks(r.Fault)
	rv.Facts = []kv{
		{"target", target},
		{"load", rooms},
		{"connections", fmt.Sprintf("%s connected, %s connect errors, %s lost mid-run", fmtCount(s.Connected), fmtCount(s.ConnectErrors), fmtCount(s.Disconnected))},
		{"outcome", outcomeText(res.Outcome)},
		{"deliveries", fmt.Sprintf("%s sent, %s expected, %s delivered, %s lost (%s); %s duplicated, %s misrouted, %s unexpected, %s out of order",
			fmtCount(s.Sent), fmtCount(s.Expected), fmtCount(s.Delivered), fmtCount(s.Lost), pct(s.LossRatio), fmtCount(s.Duplicated),
			fmtCount(s.Misrouted), fmtCount(s.Unexpected), fmtCount(s.OutOfOrder))},
		{"throughput", fmt.Sprintf("%s deliveries/s in the steady phase", fmtCount(int64(s.DeliveriesPerS+0.5)))},
		{"server cost", server},
		{"swarm cost", results.CostLine(res.Swarm, "per received message", "per socket")},
		{"environment", fmt.Sprintf("%d cores, %s, chatbench %s; run %s, started %s", res.Environment.Cores, res.Environment.GoVersion,
			res.Environment.Version, c.RunID, res.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"))},
	}
	if r.Fault != nil {
		rv.Facts = append(rv.Facts, faultFacts(r.Fault))
	}
	for _, q := range []struct {
		name string
		p    results.Percentiles
	}{{"from due time", s.LatencyMs}, {"from send time", s.SendLatencyMs}, {"first receiver", s.FanoutFirstMs},
		{"last receiver", s.FanoutLastMs}, {"connect", s.ConnectMs}} {
		if q.p.Count == 0 {
			rv.Latency = append(rv.Latency, []string{q.name, "not measured: no sample", "", "", "", ""})
			continue
		}
		rv.Latency = append(rv.Latency, []string{q.name, ms(q.p.P50), ms(q.p.P90), ms(q.p.P99), ms(q.p.P999), ms(q.p.Max)})
	}
	add := func(kind, caption string, svg string, err error) error {
		if err != nil {
			return fmt.Errorf("%s plot: %w", kind, err)
		}
		if svg != "" {
			rv.Figures = append(rv.Figures, figure{ID: id + "-" + kind, Caption: caption, SVG: template.HTML(svg)})
		}
		return nil
	}
	svg, err := latencyDistribution("Latency distribution (steady phase)", []Run{r})
	if err := add("latency-distribution", "Fan-out latency by percentile, from each probe's due time (the headline: a stalled sender cannot hide its stall) and from its actual send time. The x axis is 1/(1−percentile) on a log scale, as HdrHistogram plots it: the tail gets room.", svg, err); err != nil {
		return rv, err
	}
	svg, err = timePlot("Latency over time", "latency from due time (ms)", res.Timeline, []timeSeries{
		{name: "p50", value: func(s results.Second) (float64, bool) { return s.P50Ms, s.P50Ms > 0 }},
		{name: "p99", dashed: true, value: func(s results.Second) (float64, bool) { return s.P99Ms, s.P99Ms > 0 }},
	}, marks...)
	if err := add("latency-over-time", "p50 and p99 of each second's deliveries (every phase), with the phases marked.", svg, err); err != nil {
		return rv, err
	}
	svg, err = timePlot("Connections", "open sockets", res.Timeline, []timeSeries{
		{name: "connected", value: func(s results.Second) (float64, bool) { return float64(s.Connected), true }},
	}, marks...)
	if err := add("connections", "Open sockets at the end of each second.", svg, err); err != nil {
		return rv, err
	}
	svg, err = timePlot("Deliveries per second", "messages per second", res.Timeline, []timeSeries{
		{name: "deliveries/s", value: func(s results.Second) (float64, bool) { return float64(s.Deliveries), true }},
		{name: "sends/s", dashed: true, value: func(s results.Second) (float64, bool) { return float64(s.Sends), true }},
	}, marks...)
	if err := add("deliveries", "Probes received (fan-out) and sent per second.", svg, err); err != nil {
		return rv, err
	}
	name, srvKB, swarmKB := memoryBar(r.Name, res)
	svg, err = memoryBars("Memory per connection", []string{name}, []float64{srvKB}, []float64{swarmKB})
	if err := add("memory", "Server RSS growth per connection and swarm's own RSS per socket (KB = 1000 B), measured right after the ramp, beside the blog's assumed 10 KB; a figure that was not measured is labelled so and drawn at 0.", svg, err); err != nil {
		return rv, err
	}
	rv.Notes = append(append(rv.Notes, res.Errors.Run...), res.Notes...)
	return rv, nil
}

func buildSweep(id string, sw Sweep) (sweepView, error) {
	sv := sweepView{ID: id, Name: sw.Name, Notes: sw.Notes, Partial: sw.Partial}
	for _, k := range sw.Knees {
		knee, above := fmtCount(k.Knee), fmtCount(k.Above)
		if k.Knee == 0 {
			knee = "none (every step tried missed the SLO)"
		}
		if k.Above == 0 {
			above = "none up to the maximum"
		}
		rate := "-"
		if k.RatePerS > 0 {
			rate = fmtNum(k.RatePerS) + "/s"
		}
		sv.Knees = append(sv.Knees, []string{k.Backend, rate, knee, above})
	}
	for _, st := range sw.Steps {
		p99, lost := "-", "-"
		if st.Result != nil {
			p99 = ms(st.Result.Summary.LatencyMs.P99)
			lost = fmt.Sprintf("%s of %s", fmtCount(st.Result.Summary.Lost), fmtCount(st.Result.Summary.Expected))
		}
		v := "ok"
		if !st.OK {
			v = "missed: " + st.Why
		}
		sv.Steps = append(sv.Steps, []string{st.Backend, fmtNum(st.RatePerS) + "/s", fmtCount(st.Clients), p99, lost, v})
	}
	s, err := capacityCurve(sw)
	if err != nil {
		return sv, fmt.Errorf("capacity plot: %w", err)
	}
	if s != "" {
		sv.Figures = append(sv.Figures, figure{ID: id + "-capacity", SVG: template.HTML(s),
			Caption: fmt.Sprintf("Each step's p99 fan-out latency (from due time) against the room size N; circles met the SLO (p99 < %s ms, loss ≤ %s), crosses missed it. The knee is the largest N that met it.", fmtNum(sw.SLOP99Ms), pct(sw.MaxLoss))})
	}
	if s, err = sweepMemory(sw); err != nil {
		return sv, fmt.Errorf("memory plot: %w", err)
	}
	if s != "" {
		sv.Figures = append(sv.Figures, figure{ID: id + "-memory", SVG: template.HTML(s),
			Caption: "Server RSS growth per connection at each step (measured when a step ran one server node), beside the blog's assumed 10 KB."})
	}
	// The knee step of each search, in full.
	keys, by := groupSteps(sw)
	for i, k := range keys {
		var best *Step
		for j := range by[k] {
			if st := &by[k][j]; st.OK && st.Result != nil && (best == nil || st.Clients > best.Clients) {
				best = st
			}
		}
		if best == nil {
			continue
		}
		rv, err := buildRun(fmt.Sprintf("%s-knee%d", id, i+1), Run{Name: fmt.Sprintf("%s: %s clients", k, fmtCount(best.Clients)), Result: best.Result})
		if err != nil {
			return sv, err
		}
		rv.Heading = fmt.Sprintf("Knee step: %s, %s clients (the largest that met the SLO)", k, fmtCount(best.Clients))
		sv.Runs = append(sv.Runs, rv)
	}
	return sv, nil
}

// ForChaos is the report of a fault experiment (chaos --html): a run per
// fault, the fault marked on its timelines.
func ForChaos(res *results.Chaos, version string) *Report {
	return &Report{Title: "chatbench chaos", Version: version, Generated: time.Now(), Runs: chaosRuns("", res)}
}

func chaosRuns(prefix string, res *results.Chaos) []Run {
	var runs []Run
	for i := range res.Faults {
		f := &res.Faults[i]
		if f.Run == nil {
			continue
		}
		runs = append(runs, Run{Name: fmt.Sprintf("%s%s (%s) %s", prefix, res.Config.Backend, res.Config.Mode, f.Fault), Result: f.Run, Fault: f})
	}
	return runs
}

// faultFacts and faultMarks show a chaos run's fault.
func faultFacts(f *results.FaultRun) kv {
	gap, ready := "none affected", "never (a node was not ready at the end)"
	if f.GapS != nil {
		gap = fmt.Sprintf("%.3f s", *f.GapS)
	}
	if f.ReadyAgainS != nil {
		ready = fmt.Sprintf("%.2f s", *f.ReadyAgainS)
	}
	return kv{"fault", fmt.Sprintf("%s injected at %.2f s, cleared at %.2f s: %s lost, %s duplicated, %s delayed of %s expected; gap %s; ready again %s; every client connected at the end: %v; %d reconnects",
		f.Fault, f.InjectedAtS, f.ClearedAtS, fmtCount(f.Lost), fmtCount(f.Duplicated), fmtCount(f.Delayed), fmtCount(f.Expected), gap, ready, f.AllConnected, f.Reconnects)}
}

func faultMarks(f *results.FaultRun) []mark {
	if f == nil {
		return nil
	}
	if f.ClearedAtS-f.InjectedAtS < 0.05 {
		return []mark{{at: f.InjectedAtS, label: " " + f.Fault}}
	}
	return []mark{{at: f.InjectedAtS, label: " " + f.Fault}, {at: f.ClearedAtS, label: " cleared"}}
}

// ForRun is the report of one swarm run (swarm --html).
func ForRun(res *results.Result, version string) *Report {
	name := "swarm run"
	if res.Config.RunID != "" {
		name = "swarm run " + res.Config.RunID
	}
	return &Report{Title: "chatbench swarm", Version: version, Generated: time.Now(), Runs: []Run{{Name: name, Result: res}}}
}

// ForSweep is the report of one sweep (sweep --html). writeJSON writes the
// sweep's results file (sweep.Result.WriteJSON): the report reads it as
// 'report html sweep.json' would.
func ForSweep(writeJSON func(io.Writer) error, version string) (*Report, error) {
	var b bytes.Buffer
	if err := writeJSON(&b); err != nil {
		return nil, err
	}
	rep, err := Parse("sweep", b.Bytes())
	if err != nil {
		return nil, err
	}
	rep.Title, rep.Version, rep.Generated = "chatbench sweep", version, time.Now()
	return &rep, nil
}

// memoryBar is a run's bar label and its server and swarm memory per
// connection in KB; a figure not measured is 0 and named in the label.
func memoryBar(name string, r *results.Result) (string, float64, float64) {
	var missing []string
	kb := func(f results.Figure, who string) float64 {
		if !f.OK() {
			missing = append(missing, who)
			return 0
		}
		return f.Value / 1000
	}
	srv, sw := kb(r.Server.MemoryPerConn, "server"), kb(r.Swarm.MemoryPerConn, "swarm")
	if len(missing) > 0 {
		name += " (" + strings.Join(missing, ", ") + ": not measured)"
	}
	return name, srv, sw
}

func outcomeText(o results.Outcome) string {
	if len(o.Reasons) == 0 {
		return o.Verdict
	}
	return o.Verdict + ": " + strings.Join(o.Reasons, "; ")
}
