package results

import (
	"io"
	"time"
)

// Sweep is a sweep results file (kind "sweep"): swarm runs at rising
// numbers of clients and the knee each search found.
type Sweep struct {
	Schema      string           `json:"schema"`
	Kind        string           `json:"kind"`
	StartedAt   time.Time        `json:"started_at"`
	Config      SweepConfig      `json:"config"`
	Environment Environment      `json:"environment"`
	Steps       []Step           `json:"steps"`
	Knees       map[string]int64 `json:"knees"`    // per backend, at the first rate
	Searches    []Search         `json:"searches"` // every backend × rate
	Partial     bool             `json:"partial"`
	Notes       []string         `json:"notes,omitempty"`
}

// NewSweep returns an empty sweep result started now.
func NewSweep() *Sweep {
	return &Sweep{Schema: Schema, Kind: KindSweep, StartedAt: time.Now().UTC(), Knees: map[string]int64{}}
}

// WriteJSON writes the sweep as indented JSON.
func (s *Sweep) WriteJSON(w io.Writer) error { return writeJSON(w, s) }

// SweepConfig is a sweep's config as run.
type SweepConfig struct {
	URLs      []string  `json:"urls"`
	Backend   string    `json:"backend"` // the only backend, or ""
	Backends  []string  `json:"backends"`
	Nodes     int       `json:"nodes"`
	RatePerS  float64   `json:"rate_per_s"` // the first rate, the one "knees" is at
	Rates     []float64 `json:"rates_per_s"`
	SizeBytes int       `json:"size_bytes"`
	SLOP99Ms  float64   `json:"slo_p99_ms"`
	MaxLoss   float64   `json:"slo_max_loss"`
	StartN    int64     `json:"start"`
	MaxN      int64     `json:"max"`
	BudgetS   float64   `json:"budget_s"`
	DurationS float64   `json:"duration_s"`
}

// Step is one swarm run of a sweep.
type Step struct {
	Backend  string  `json:"backend"`
	Clients  int64   `json:"clients"`
	RatePerS float64 `json:"rate_per_s"`
	// OK: the step met the SLO with a complete run (evidence for the knee).
	OK     bool    `json:"ok"`
	Why    string  `json:"why,omitempty"`
	Result *Result `json:"result"`
}

// Search is how the knee search of one backend at one rate went.
type Search struct {
	Backend  string  `json:"backend"`
	RatePerS float64 `json:"rate_per_s"`
	Knee     int64   `json:"knee"`  // 0: even the first step failed
	Above    int64   `json:"above"` // smallest N that failed; 0: none up to max
	Runs     int     `json:"runs"`
	Stopped  string  `json:"stopped,omitempty"`
}
