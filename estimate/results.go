package estimate

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/chatbench/chatbench/loadgen/results"
)

// Run is one measured swarm run, from a swarm results file or one step of a
// sweep, flattened to what the model and the claims use. Only runs that are
// evidence (complete, and for a sweep step, within its SLO) are Runs; the
// others are listed in Evidence.Skipped with the reason.
type Run struct {
	Source   string  `json:"source"` // file, or "file step N"
	Server   string  `json:"server"` // what was measured (ServerName)
	Backend  string  `json:"backend"`
	Mode     string  `json:"mode,omitempty"` // the sweep search's mode ("users", "room-rate"); "" for a swarm run
	Nodes    int     `json:"nodes"`
	Clients  int64   `json:"clients"`
	RoomSize int64   `json:"room_size"` // the largest room
	Rooms    int64   `json:"rooms"`
	Senders  int64   `json:"senders"`
	RatePerS float64 `json:"rate_per_s"`
	Size     float64 `json:"size_bytes"`
	Cores    float64 `json:"cores"`
	MemBytes float64 `json:"mem_bytes"`
	// RoomSizes is how the room sizes were given ("zipf s=2 max=500").
	RoomSizes string `json:"room_sizes,omitempty"`
	// RequestedPerS is the deliveries/s the load asked for (a model of the
	// load, from its own room layout): it says the shape's fan-out.
	RequestedPerS float64 `json:"requested_deliveries_per_s"`

	Connected      int64   `json:"connected"`
	Sent           int64   `json:"sent"`
	Expected       int64   `json:"expected"`
	Delivered      int64   `json:"delivered"`
	Lost           int64   `json:"lost"`
	SteadyS        float64 `json:"steady_s"`
	DeliveriesPerS float64 `json:"deliveries_per_s"`
	P99Ms          float64 `json:"p99_ms"`

	// RSSKBPerConn (KB of 1,000 B) and CPUUsPerDelivery are 0 when the run
	// could not measure them; MemWhy and CPUWhy then say why. A figure
	// that was not measured never feeds a verdict.
	RSSKBPerConn     float64 `json:"rss_kb_per_conn"`
	CPUUsPerDelivery float64 `json:"cpu_us_per_delivery"`
	MemWhy           string  `json:"memory_not_measured,omitempty"`
	CPUWhy           string  `json:"cpu_not_measured,omitempty"`
	// ServerConns are the connections the server's memory figure rests
	// on; CPUTicks the server's CPU clock ticks over the steady phase
	// (CPU seconds / clock resolution), -1 when no sample was read.
	ServerConns int64   `json:"server_conns"`
	CPUTicks    float64 `json:"cpu_ticks"`
	Compression bool    `json:"compression"`
}

// IngressPerS is the messages/s the run's clients sent in its steady phase.
func (r Run) IngressPerS() float64 {
	if r.SteadyS <= 0 {
		return 0
	}
	return float64(r.Sent) / r.SteadyS
}

// Skipped is a run that was read and not used as evidence, and why.
type Skipped struct {
	Source string `json:"source"`
	Server string `json:"server"`
	Why    string `json:"why"`
}

// Knee is a sweep's answer for one server: the largest number of clients at
// which the SLO held, at RatePerS per sender, on a machine of Cores, in the
// load shape Shape. With --repeat, Low..High is its spread.
type Knee struct {
	Source   string  `json:"source"`
	Server   string  `json:"server"`
	Backend  string  `json:"backend"`
	Mode     string  `json:"mode,omitempty"`
	Clients  int64   `json:"clients"`
	Low      int64   `json:"knee_low"`  // largest N where every repeat passed (Clients without --repeat)
	High     int64   `json:"knee_high"` // largest N where at least one passed (Clients without --repeat)
	Repeat   int     `json:"repeat"`
	Above    int64   `json:"above"` // smallest N that failed; 0: none up to the sweep's max
	RatePerS float64 `json:"rate_per_s"`
	Cores    float64 `json:"cores"`
	MemBytes float64 `json:"mem_bytes"`
	Nodes    int     `json:"nodes"`
	Shape    Shape   `json:"shape"`
	// Delivered counts the deliveries of the step at the knee, the sample
	// its p99 rests on; -1 when that step is not in the file.
	Delivered int64 `json:"delivered"`
}

// Fault is one fault of a chaos results file: what a backend lost,
// duplicated and delivered across it.
type Fault struct {
	Source     string `json:"source"`
	Server     string `json:"server"`
	Backend    string `json:"backend"`
	Mode       string `json:"mode"` // results.AtMostOnce or results.Guarantee
	Fault      string `json:"fault"`
	Expected   int64  `json:"expected"`
	Delivered  int64  `json:"delivered"`
	Lost       int64  `json:"lost"`
	Duplicated int64  `json:"duplicated"`
}

// Evidence is everything read from results files.
type Evidence struct {
	Files   []string  `json:"files"`
	Runs    []Run     `json:"runs"`
	Knees   []Knee    `json:"knees"`
	Faults  []Fault   `json:"faults,omitempty"`
	Skipped []Skipped `json:"skipped,omitempty"`
	// MemoryRuns are skipped runs that still measured memory per
	// connection (memoryHolds); they are used for that figure alone, when
	// no run that is evidence measured it.
	MemoryRuns []Run `json:"memory_runs,omitempty"`
	// Notes are remarks on what was read that are not reasons to skip it.
	Notes []string `json:"notes,omitempty"`
	// Scenario is the load the first file ran (the knee's step for a
	// sweep): estimate's default scenario when --from is given.
	Scenario *Scenario `json:"scenario,omitempty"`
}

// ReadResultsFiles reads each file and merges what they hold.
func ReadResultsFiles(paths ...string) (*Evidence, error) {
	ev := &Evidence{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("results: %w", err)
		}
		if err := ev.addBytes(filepath.Base(p), b); err != nil {
			return nil, fmt.Errorf("results %s: %w", p, err)
		}
	}
	return ev, nil
}

// ErrNoRuns is returned for a results file that holds no run to use.
var ErrNoRuns = errors.New("nothing to judge in it (no swarm run, sweep step or chaos fault)")

// Add decodes one results file read from r, naming it name in sources.
func (e *Evidence) Add(name string, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return e.addBytes(name, b)
}

func (e *Evidence) addBytes(name string, b []byte) error {
	f, err := results.Decode(name, b)
	if err != nil {
		return err
	}
	return e.add(name, f)
}

func (e *Evidence) add(name string, f *results.File) error {
	before := len(e.Runs) + len(e.Knees) + len(e.Skipped) + len(e.Faults)
	switch {
	case f.Run != nil:
		e.addRun(name, f.Run, f.Run.Config.Backend, "", "", true, "")
		e.scenarioFrom(name, f.Run, "")
	case f.Sweep != nil:
		e.addSweep(name, f.Sweep)
	case f.Chaos != nil:
		e.addChaos(name, f.Chaos)
	}
	if len(e.Runs)+len(e.Knees)+len(e.Skipped)+len(e.Faults) == before {
		return ErrNoRuns
	}
	e.Files = append(e.Files, name)
	return nil
}

// addRun adds r as evidence when it is complete and passed (a sweep step's
// SLO), else to Skipped with the reason.
func (e *Evidence) addRun(source string, r *results.Result, backend, server, mode string, passed bool, failedWhy string) {
	run, ok := toRun(source, r, backend)
	if !ok {
		return
	}
	if server != "" {
		run.Server = server
	}
	run.Mode = mode
	var why string
	switch {
	case !r.Outcome.OK():
		why = cmp.Or(r.Outcome.Verdict, "no outcome recorded")
		if len(r.Outcome.Reasons) > 0 {
			why += ": " + r.Outcome.Reasons[0]
		}
	case !passed:
		why = "failed its SLO"
		if failedWhy != "" {
			why += ": " + failedWhy
		}
	default:
		e.Runs = append(e.Runs, run)
		return
	}
	if memoryHolds(r) && run.RSSKBPerConn > 0 {
		why += "; " + MemoryKept
		e.MemoryRuns = append(e.MemoryRuns, run)
	}
	e.Skipped = append(e.Skipped, Skipped{Source: source, Server: run.Server, Why: why})
}

// MemoryKept ends the reason of a skipped run kept for its memory per
// connection (Evidence.MemoryRuns).
const MemoryKept = "its memory per connection (sampled with every connection open, before any message) is kept for when no run that is evidence measured it"

// memoryHolds reports whether a run that is not evidence still measured
// memory per connection: the server's memory is sampled once every
// connection is open and before the first message is sent, so a single
// run that opened every connection and then broke its SLO or its limits
// (latency, loss, sockets dropped later) measured it as a complete run
// does. A sweep whose first step is above the knee measures a running
// server's memory only there. Not a merge of runs: a shared server's
// memory is then sampled after the last run's ramp, which may come after
// another run started sending into an overloaded server.
func memoryHolds(r *results.Result) bool {
	v := r.Outcome.Verdict
	return (v == results.Complete || v == results.Overloaded) && r.Runs <= 1 &&
		r.Summary.ConnectErrors == 0 && r.Server.MemoryPerConn.OK()
}

func (e *Evidence) addSweep(name string, sw *results.Sweep) {
	// A step's mode is that of the searches of its backend when they agree.
	modeOf := map[string]string{}
	for _, se := range sw.Searches {
		if m, seen := modeOf[se.Backend]; seen && m != se.Mode {
			modeOf[se.Backend] = "mixed"
		} else {
			modeOf[se.Backend] = se.Mode
		}
	}
	for i, st := range sw.Steps {
		if st.Result == nil {
			continue
		}
		b := st.Backend
		if b == "" {
			b = st.Result.Config.Backend
		}
		e.addRun(fmt.Sprintf("%s step %d", name, i+1), st.Result, DeclaredBackend(sw, b), serverOfSearch(sw, st.Backend), modeOf[st.Backend], st.OK, st.Why)
	}
	e.Knees = append(e.Knees, kneesOf(name, sw)...)
	if st := scenarioStep(sw); st != nil {
		e.scenarioFrom(fmt.Sprintf("%s step %d", name, stepIndex(sw, st)+1), st.Result, serverOfSearch(sw, st.Backend))
	}
}

// serverOfSearch is the name the sweep gave the server of backend, if any.
func serverOfSearch(sw *results.Sweep, backend string) string {
	for _, se := range sw.Searches {
		if se.Backend == backend && se.Server != "" {
			return se.Server
		}
	}
	return ""
}

func (e *Evidence) addChaos(name string, c *results.Chaos) {
	server := ChaosServerName(c.Config.Backend, c.Config.Mode, c.Config.Nodes)
	for i, fr := range c.Faults {
		if why := fr.NotMeasured(); why != "" {
			e.Skipped = append(e.Skipped, Skipped{Source: fmt.Sprintf("%s fault %d (%s)", name, i+1, fr.Fault), Server: server, Why: why})
			continue
		}
		e.Faults = append(e.Faults, Fault{Source: fmt.Sprintf("%s fault %d", name, i+1), Server: server, Backend: c.Config.Backend,
			Mode: c.Config.Mode, Fault: fr.Fault, Expected: fr.Expected, Delivered: fr.Delivered, Lost: fr.Lost, Duplicated: fr.Duplicated})
	}
	if c.Partial {
		e.Notes = append(e.Notes, fmt.Sprintf("%s: the experiment ended early; the %d fault(s) that finished are used", name, len(c.Faults)))
	}
}

func nodesOf(urls []string) int { return max(1, len(urls)) }

// figure is a measured figure's value, or 0 and why it was not measured.
func figure(f results.Figure, scale float64) (float64, string) {
	if !f.OK() {
		return 0, f.Why
	}
	return f.Value * scale, ""
}

// cpuTicks is the server's CPU time over the steady phase in clock ticks,
// from the raw samples (the figure itself is withheld below 100 ticks);
// -1 when a sample is missing.
func cpuTicks(c results.Cost) float64 {
	if len(c.Processes) == 0 {
		return -1
	}
	var ticks float64
	for _, p := range c.Processes {
		if p.SendStart == nil || p.End == nil || p.Error != "" {
			return -1
		}
		res := p.ClockResS
		if res <= 0 {
			res = 0.01
		}
		ticks += (p.End.CPUSec - p.SendStart.CPUSec) / res
	}
	return math.Round(ticks) // whole ticks: 0.4 s / 10 ms is 40, not 39.99…
}

func toRun(name string, r *results.Result, backend string) (Run, bool) {
	s := r.Summary
	if s.Connected == 0 && s.Sent == 0 && s.Delivered == 0 {
		return Run{}, false
	}
	c := r.Config
	room := int64(c.RoomSize)
	if room == 0 {
		room = int64(c.Clients)
	}
	run := Run{
		Source: name, Server: ServerName(backend, c.URLs), Backend: backend, Nodes: nodesOf(c.URLs),
		Clients: int64(c.Clients), RoomSize: room, Rooms: int64(max(c.Rooms, 1)), Senders: int64(c.Senders), RatePerS: c.RatePerS,
		Size: cmp.Or(c.MeanSizeBytes, float64(c.SizeBytes)), RoomSizes: c.RoomSizes, RequestedPerS: c.RequestedPerS,
		Cores: float64(r.Environment.Cores), MemBytes: float64(r.Environment.MemBytes),
		Connected: s.Connected, Sent: s.Sent, Expected: s.Expected, Delivered: s.Delivered, Lost: s.Lost, SteadyS: s.SteadyS,
		DeliveriesPerS: s.DeliveriesPerS, P99Ms: s.LatencyMs.P99,
		ServerConns: r.Server.Conns, CPUTicks: cpuTicks(r.Server), Compression: r.Environment.Compression,
	}
	if run.Senders == 0 {
		run.Senders = run.Clients
	}
	if run.SteadyS <= 0 && s.DeliveriesPerS > 0 {
		run.SteadyS = float64(s.Delivered) / s.DeliveriesPerS // files that only kept the rate
	}
	run.RSSKBPerConn, run.MemWhy = figure(r.Server.MemoryPerConn, 1.0/1000)
	run.CPUUsPerDelivery, run.CPUWhy = figure(r.Server.CPUPerMessage, 1)
	return run, true
}

// kneesOf turns a sweep's searches into Knees, one per backend and rate.
// The machine and the load's shape come from the step that ran at the knee.
func kneesOf(name string, sw *results.Sweep) []Knee {
	var out []Knee
	for _, se := range sw.Searches {
		if se.Knee <= 0 && se.Above <= 0 {
			continue // no step ran: nothing measured
		}
		// A search whose fewest tried failed has no knee (Clients 0) but
		// is evidence all the same: the knee is below Above.
		at := se.Knee
		if at <= 0 {
			at = se.Above
		}
		k := Knee{Source: name, Backend: se.Backend, Clients: se.Knee, Low: se.Knee, High: se.Knee, Repeat: 1, Above: se.Above,
			RatePerS: se.RatePerS, Cores: float64(sw.Environment.Cores), MemBytes: float64(sw.Environment.MemBytes),
			Nodes: max(1, sw.Config.Nodes), Shape: Shape{RatePerS: se.RatePerS, Talkers: 1}, Delivered: -1}
		if se.Backend == "memory" {
			k.Nodes = 1
		}
		var urls []string
		for _, st := range sw.Steps {
			if st.Backend != se.Backend || st.Clients != at || st.RatePerS != se.RatePerS || st.Result == nil {
				continue
			}
			if st.Result.Environment.Cores > 0 {
				k.Cores = float64(st.Result.Environment.Cores)
			}
			if st.Result.Environment.MemBytes > 0 {
				k.MemBytes = float64(st.Result.Environment.MemBytes)
			}
			urls = st.Result.Config.URLs
			k.Nodes = nodesOf(urls)
			if run, ok := toRun("", st.Result, se.Backend); ok {
				k.Shape, k.Delivered = ShapeOf(run), run.Delivered
			}
			break
		}
		switch {
		case len(urls) > 0:
			k.Server = ServerName(se.Backend, urls)
		case se.Backend == externalBackend:
			k.Server = ServerName(se.Backend, sw.Config.URLs) // the knee's step is not in the file
		default:
			k.Server = serveName(se.Backend, k.Nodes)
		}
		k.Mode = se.Mode
		if se.Server != "" {
			k.Server = se.Server
		}
		if se.KneeLow > 0 && se.KneeLow <= se.KneeHigh {
			k.Low, k.High = se.KneeLow, se.KneeHigh
		}
		k.Repeat = max(se.Repeat, 1)
		k.Backend = DeclaredBackend(sw, k.Backend)
		out = append(out, k)
	}
	return out
}

// DeclaredBackend is the fan-out backend of a server at URLs as the user
// declared it (sweep --server-backend), so its knee answers the blog's claim
// about that backend; b itself otherwise.
func DeclaredBackend(sw *results.Sweep, b string) string {
	if b == externalBackend && sw.Config.ServerBackend != "" {
		return sw.Config.ServerBackend
	}
	return b
}

// SweepEvidence is what estimate --from would read from sw, for sweep's
// own table: the file goes through the same decoding, so both give the same
// verdicts.
func SweepEvidence(name string, sw *results.Sweep) (*Evidence, error) {
	b, err := json.Marshal(sw)
	if err != nil {
		return nil, err
	}
	ev := &Evidence{}
	if err := ev.addBytes(name, b); err != nil && !errors.Is(err, ErrNoRuns) {
		return nil, err
	}
	return ev, nil
}
