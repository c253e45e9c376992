package estimate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// ResultsSchema is the results file version this package reads
// (docs/results-schema.md).
const ResultsSchema = "chatbench.results/v1"

// resultsKBInBytes is the size of the "kb" in a results file's
// rss_kb_per_conn: loadgen divides RSS bytes by 1024 (KiB). estimate works in
// KB of 1,000 B, as the blog does, and converts on reading.
const resultsKBInBytes = 1024

// The subset of a results file that estimate needs. Unknown fields are
// ignored, so results from newer writers (additive v1 changes) still read.
type resultsFile struct {
	Schema      string           `json:"schema"`
	Kind        string           `json:"kind"`
	Config      resultsConfig    `json:"config"`
	Environment resultsEnv       `json:"environment"`
	Summary     resultsSummary   `json:"summary"`
	Partial     bool             `json:"partial"`
	Steps       []resultsStep    `json:"steps"`
	Knees       map[string]int64 `json:"knees"`
	// Searches: a sweep's knee per backend and rate (rising rates).
	Searches []struct {
		Backend  string  `json:"backend"`
		RatePerS float64 `json:"rate_per_s"`
		Knee     int64   `json:"knee"`
	} `json:"searches"`
}

type resultsConfig struct {
	URLs     []string `json:"urls"`
	Backend  string   `json:"backend"`
	Nodes    int      `json:"nodes"` // optional; otherwise len(urls)
	Clients  int64    `json:"clients"`
	RoomSize int64    `json:"room_size"`
	Rooms    int64    `json:"rooms"`
	Senders  int64    `json:"senders"`
	RatePerS float64  `json:"rate_per_s"`
	Size     float64  `json:"size_bytes"`
	// Sweep settings, when the writer records them.
	SLOP99Ms  float64   `json:"slo_p99_ms"`
	Backends  []string  `json:"backends"`
	RatesPerS []float64 `json:"rates_per_s"`
}

type resultsEnv struct {
	Cores       float64 `json:"cores"`
	MemBytes    float64 `json:"mem_bytes"`
	Compression bool    `json:"compression"`
}

type resultsSummary struct {
	Connected      int64   `json:"connected"`
	Sent           int64   `json:"sent"`
	Expected       int64   `json:"expected"`
	Delivered      int64   `json:"delivered"`
	Lost           int64   `json:"lost"`
	DeliveriesPerS float64 `json:"deliveries_per_s"`
	LatencyMs      struct {
		P50  float64 `json:"p50"`
		P99  float64 `json:"p99"`
		P999 float64 `json:"p999"`
		Max  float64 `json:"max"`
	} `json:"latency_ms"`
	Server struct {
		RSSKBPerConn     float64 `json:"rss_kb_per_conn"`
		CPUUsPerDelivery float64 `json:"cpu_us_per_delivery"`
	} `json:"server"`
}

type resultsStep struct {
	Backend  string       `json:"backend"`
	Clients  int64        `json:"clients"`
	RatePerS float64      `json:"rate_per_s"`
	OK       bool         `json:"ok"`
	Result   *resultsFile `json:"result"`
}

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

	RSSKBPerConn     float64 `json:"rss_kb_per_conn"`     // KB of 1,000 B; 0: not measured
	CPUUsPerDelivery float64 `json:"cpu_us_per_delivery"` // 0: not measured
	Partial          bool    `json:"partial"`
	Compression      bool    `json:"compression"`
	// SLOMet is false for a sweep step that failed its SLO (overloaded runs
	// measure queues as well as connections); true for a swarm run.
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
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("results: %w", err)
		}
		err = ev.Add(filepath.Base(p), f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("results %s: %w", p, err)
		}
	}
	return ev, nil
}

// ErrNoRuns is returned for a results file that holds no run to use.
var ErrNoRuns = errors.New("no swarm run in it (empty summary and no steps)")

// Add decodes one results file read from r, naming it name in sources.
func (e *Evidence) Add(name string, r io.Reader) error {
	var rf resultsFile
	dec := json.NewDecoder(r)
	if err := dec.Decode(&rf); err != nil {
		return fmt.Errorf("not a results file: %w", err)
	}
	if rf.Schema != ResultsSchema {
		return fmt.Errorf("schema %q, want %q", rf.Schema, ResultsSchema)
	}
	before := len(e.Runs) + len(e.Knees)
	switch rf.Kind {
	case "swarm", "":
		if run, ok := toRun(name, &rf, rf.Config.Backend); ok {
			e.Runs = append(e.Runs, run)
		}
	case "sweep":
		for i, st := range rf.Steps {
			if st.Result == nil {
				continue
			}
			b := st.Backend
			if b == "" {
				b = st.Result.Config.Backend
			}
			if run, ok := toRun(fmt.Sprintf("%s step %d", name, i+1), st.Result, b); ok {
				run.SLOMet = st.OK
				e.Runs = append(e.Runs, run)
			}
		}
		e.Knees = append(e.Knees, kneesOf(name, &rf)...)
	default:
		return fmt.Errorf("kind %q, want \"swarm\" or \"sweep\"", rf.Kind)
	}
	if len(e.Runs)+len(e.Knees) == before {
		return ErrNoRuns
	}
	e.Files = append(e.Files, name)
	return nil
}

func nodesOf(c resultsConfig) int {
	switch {
	case c.Nodes > 0:
		return c.Nodes
	case len(c.URLs) > 0:
		return len(c.URLs)
	}
	return 1
}

func toRun(name string, rf *resultsFile, backend string) (Run, bool) {
	s := rf.Summary
	if s.Connected == 0 && s.Sent == 0 && s.Delivered == 0 {
		return Run{}, false
	}
	c := rf.Config
	room := c.RoomSize
	if room == 0 {
		room = c.Clients
	}
	return Run{
		Source: name, Backend: backend, Nodes: nodesOf(c),
		Clients: c.Clients, RoomSize: room, Senders: c.Senders, RatePerS: c.RatePerS, Size: c.Size,
		Cores: rf.Environment.Cores, MemBytes: rf.Environment.MemBytes,
		Connected: s.Connected, Sent: s.Sent, Expected: s.Expected, Delivered: s.Delivered, Lost: s.Lost,
		DeliveriesPerS: s.DeliveriesPerS, P99Ms: s.LatencyMs.P99,
		RSSKBPerConn: s.Server.RSSKBPerConn * resultsKBInBytes / 1000, CPUUsPerDelivery: s.Server.CPUUsPerDelivery,
		Partial: rf.Partial, Compression: rf.Environment.Compression, SLOMet: !rf.Partial,
	}, true
}

// kneesOf turns a sweep's knees into Knees: one per backend and rate from
// "searches" when the sweep wrote them, else one per backend from "knees".
// The rate and machine come from the step that ran at the knee (or the
// sweep's own config).
func kneesOf(name string, rf *resultsFile) []Knee {
	type want struct {
		backend string
		rate    float64
		n       int64
	}
	var wants []want
	if len(rf.Searches) > 0 {
		for _, s := range rf.Searches {
			wants = append(wants, want{s.Backend, s.RatePerS, s.Knee})
		}
	} else {
		backends := make([]string, 0, len(rf.Knees))
		for b := range rf.Knees {
			backends = append(backends, b)
		}
		sort.Strings(backends)
		for _, b := range backends {
			wants = append(wants, want{b, 0, rf.Knees[b]})
		}
	}
	var out []Knee
	for _, w := range wants {
		if w.n <= 0 {
			continue
		}
		k := Knee{Source: name, Backend: w.backend, Clients: w.n, RatePerS: rf.Config.RatePerS,
			Cores: rf.Environment.Cores, MemBytes: rf.Environment.MemBytes, Nodes: nodesOf(rf.Config)}
		if w.rate > 0 {
			k.RatePerS = w.rate
		}
		for _, st := range rf.Steps {
			sb := st.Backend
			if sb == "" && st.Result != nil {
				sb = st.Result.Config.Backend
			}
			rate := st.RatePerS
			if rate == 0 && st.Result != nil {
				rate = st.Result.Config.RatePerS
			}
			if sb != w.backend || st.Clients != w.n || (w.rate > 0 && rate != w.rate) {
				continue
			}
			if rate > 0 {
				k.RatePerS = rate
			}
			if st.Result != nil {
				if st.Result.Environment.Cores > 0 {
					k.Cores = st.Result.Environment.Cores
				}
				if st.Result.Environment.MemBytes > 0 {
					k.MemBytes = st.Result.Environment.MemBytes
				}
				k.Nodes = nodesOf(st.Result.Config)
			}
			break
		}
		out = append(out, k)
	}
	return out
}
