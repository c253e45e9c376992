package estimate

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/chatbench/chatbench/loadgen/results"
)

// Run is one measured swarm run, from a swarm results file or one step of a
// sweep, flattened to what the model and the claims use.
type Run struct {
	Source   string  `json:"source"` // file, or "file step N"
	Backend  string  `json:"backend"`
	Nodes    int     `json:"nodes"`
	Clients  int64   `json:"clients"`
	RoomSize int64   `json:"room_size"`
	Senders  int64   `json:"senders"`
	RatePerS float64 `json:"rate_per_s"`
	Size     float64 `json:"size_bytes"`
	Cores    float64 `json:"cores"`
	MemBytes float64 `json:"mem_bytes"`

	Connected      int64   `json:"connected"`
	Sent           int64   `json:"sent"`
	Expected       int64   `json:"expected"`
	Delivered      int64   `json:"delivered"`
	Lost           int64   `json:"lost"`
	DeliveriesPerS float64 `json:"deliveries_per_s"`
	P99Ms          float64 `json:"p99_ms"`

	// RSSKBPerConn (KB of 1,000 B) and CPUUsPerDelivery are 0 when the run
	// could not measure them (results.Figure says why): a figure that was
	// not measured never feeds a verdict.
	RSSKBPerConn     float64 `json:"rss_kb_per_conn"`
	CPUUsPerDelivery float64 `json:"cpu_us_per_delivery"`
	// Partial is true for a run that was not complete (results.Outcome).
	Partial     bool `json:"partial"`
	Compression bool `json:"compression"`
	// SLOMet is false for a run that was not complete or a sweep step that
	// failed its SLO (overloaded runs measure queues as well as connections).
	SLOMet bool `json:"slo_met"`
}

// Knee is a sweep's answer for one backend: the largest number of clients
// (one room of all of them unless the sweep said otherwise) at which the SLO
// held, at RatePerS per sender, on a machine of Cores.
type Knee struct {
	Source   string  `json:"source"`
	Backend  string  `json:"backend"`
	Clients  int64   `json:"clients"`
	RatePerS float64 `json:"rate_per_s"`
	Cores    float64 `json:"cores"`
	MemBytes float64 `json:"mem_bytes"`
	Nodes    int     `json:"nodes"`
}

// Evidence is everything read from results files.
type Evidence struct {
	Files []string `json:"files"`
	Runs  []Run    `json:"runs"`
	Knees []Knee   `json:"knees"`
}

// ReadResultsFiles reads each file and merges what they hold.
func ReadResultsFiles(paths ...string) (*Evidence, error) {
	ev := &Evidence{}
	for _, p := range paths {
		f, err := results.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("results: %w", err)
		}
		if err := ev.add(filepath.Base(p), f); err != nil {
			return nil, fmt.Errorf("results %s: %w", p, err)
		}
	}
	return ev, nil
}

// ErrNoRuns is returned for a results file that holds no run to use.
var ErrNoRuns = errors.New("no swarm run in it (empty summary and no steps)")

// Add decodes one results file read from r, naming it name in sources.
func (e *Evidence) Add(name string, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	f, err := results.Decode(name, b)
	if err != nil {
		return err
	}
	return e.add(name, f)
}

func (e *Evidence) add(name string, f *results.File) error {
	before := len(e.Runs) + len(e.Knees)
	if f.Run != nil {
		if run, ok := toRun(name, f.Run, f.Run.Config.Backend); ok {
			e.Runs = append(e.Runs, run)
		}
	} else {
		for i, st := range f.Sweep.Steps {
			if st.Result == nil {
				continue
			}
			b := st.Backend
			if b == "" {
				b = st.Result.Config.Backend
			}
			if run, ok := toRun(fmt.Sprintf("%s step %d", name, i+1), st.Result, b); ok {
				run.SLOMet = run.SLOMet && st.OK
				e.Runs = append(e.Runs, run)
			}
		}
		e.Knees = append(e.Knees, kneesOf(name, f.Sweep)...)
	}
	if len(e.Runs)+len(e.Knees) == before {
		return ErrNoRuns
	}
	e.Files = append(e.Files, name)
	return nil
}

func nodesOf(urls []string) int { return max(1, len(urls)) }

// figure is a measured figure's value, or 0 when it was not measured.
func figure(f results.Figure, scale float64) float64 {
	if !f.OK() {
		return 0
	}
	return f.Value * scale
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
	return Run{
		Source: name, Backend: backend, Nodes: nodesOf(c.URLs),
		Clients: int64(c.Clients), RoomSize: room, Senders: int64(c.Senders), RatePerS: c.RatePerS, Size: float64(c.SizeBytes),
		Cores: float64(r.Environment.Cores), MemBytes: float64(r.Environment.MemBytes),
		Connected: s.Connected, Sent: s.Sent, Expected: s.Expected, Delivered: s.Delivered, Lost: s.Lost,
		DeliveriesPerS: s.DeliveriesPerS, P99Ms: s.LatencyMs.P99,
		RSSKBPerConn: figure(r.Server.MemoryPerConn, 1.0/1000), CPUUsPerDelivery: figure(r.Server.CPUPerMessage, 1),
		Partial: !r.Outcome.OK(), Compression: r.Environment.Compression, SLOMet: r.Outcome.OK(),
	}, true
}

// kneesOf turns a sweep's searches into Knees, one per backend and rate.
// The machine comes from the step that ran at the knee.
func kneesOf(name string, sw *results.Sweep) []Knee {
	var out []Knee
	for _, se := range sw.Searches {
		if se.Knee <= 0 {
			continue
		}
		k := Knee{Source: name, Backend: se.Backend, Clients: se.Knee, RatePerS: se.RatePerS,
			Cores: float64(sw.Environment.Cores), MemBytes: float64(sw.Environment.MemBytes), Nodes: max(1, sw.Config.Nodes)}
		if se.Backend == "memory" {
			k.Nodes = 1
		}
		for _, st := range sw.Steps {
			if st.Backend != se.Backend || st.Clients != se.Knee || st.RatePerS != se.RatePerS || st.Result == nil {
				continue
			}
			if st.Result.Environment.Cores > 0 {
				k.Cores = float64(st.Result.Environment.Cores)
			}
			if st.Result.Environment.MemBytes > 0 {
				k.MemBytes = float64(st.Result.Environment.MemBytes)
			}
			k.Nodes = nodesOf(st.Result.Config.URLs)
			break
		}
		out = append(out, k)
	}
	return out
}
