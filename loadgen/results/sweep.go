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
	// Server names what was measured ("chatbench serve memory", "server at
	// URL"); Mode is ModeUsers or ModeRoomRate (then RoomRatePerS is the
	// room's total rate); Repeat is runs per step; Shape the workload's.
	Server       string  `json:"server,omitempty"`
	Mode         string  `json:"mode,omitempty"`
	RoomRatePerS float64 `json:"room_rate_per_s,omitempty"`
	Repeat       int     `json:"repeat,omitempty"`
	Shape        string  `json:"shape,omitempty"`
	// ServerBackend is the fan-out backend of a server at URLs, as the
	// user said (sweep --server-backend): the blog's claim its knee answers.
	ServerBackend string `json:"server_backend,omitempty"`
}

// Sweep modes: what grows with N.
const (
	// ModeUsers: N users at a fixed workload shape (rooms, talker share,
	// rate per talker); deliveries grow with N.
	ModeUsers = "users"
	// ModeRoomRate: one room of N, whose total message rate is fixed (each
	// of the N talkers sends room-rate/N), so the frames per socket stay
	// constant while the cost of one message grows with N (claim 6).
	ModeRoomRate = "room-rate"
)

// Step is one swarm run of a sweep.
type Step struct {
	Backend  string  `json:"backend"`
	Clients  int64   `json:"clients"`
	RatePerS float64 `json:"rate_per_s"`
	// OK: the step met the SLO with a complete run (evidence for the knee).
	OK     bool    `json:"ok"`
	Why    string  `json:"why,omitempty"`
	Result *Result `json:"result"` // the median repeat's run
	// Shape is the workload's shape at this N (rooms, talkers, rate).
	Shape string `json:"shape,omitempty"`
	// Repeats are the outcomes of the step's runs (with --repeat); the
	// step passes when most of them did. P99Ms and Loss are their medians
	// and spreads.
	Repeats []Repeat `json:"repeats,omitempty"`
	P99Ms   Spread   `json:"p99_ms"`
	Loss    Spread   `json:"loss"`
	// Recovery is how long sweep waited for the target to come back to
	// idle before this step (external targets), and whether it did.
	Recovery *Recovery `json:"recovery,omitempty"`
	// CPUPerMessageUs and CPUPerDeliveryUs are the server's CPU per message
	// sent and per delivery, from its process (room-rate mode's figures).
	CPUPerMessageUs  Figure `json:"server_cpu_us_per_message"`
	CPUPerDeliveryUs Figure `json:"server_cpu_us_per_delivery"`
}

// Repeat is one run of a step.
type Repeat struct {
	P99Ms float64 `json:"p99_ms"`
	Loss  float64 `json:"loss"`
	OK    bool    `json:"ok"`
	Why   string  `json:"why,omitempty"`
}

// Spread is a median with the smallest and largest of its values.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// Recovery is the wait before a step for the target to be idle and ready.
type Recovery struct {
	WaitS     float64 `json:"wait_s"`
	Recovered bool    `json:"recovered"`
	// CPUCores is the target's CPU use over the last window read, in cores
	// (-1: not read: no --server-pid or --metrics-url).
	CPUCores float64 `json:"cpu_cores"`
	Ready    string  `json:"ready"` // how readiness was seen: "/readyz", "echo", "connect"
	Why      string  `json:"why,omitempty"`
}

// Search is how the knee search of one backend at one rate went.
type Search struct {
	Backend  string  `json:"backend"`
	RatePerS float64 `json:"rate_per_s"`
	Knee     int64   `json:"knee"`  // 0: even the first step failed
	Above    int64   `json:"above"` // smallest N that failed; 0: none up to max
	Runs     int     `json:"runs"`
	Stopped  string  `json:"stopped,omitempty"`
	// KneeLow is the largest N at which every repeat passed, KneeHigh the
	// largest at which at least one did: the knee's spread (equal without
	// --repeat, unless a step flipped).
	KneeLow  int64 `json:"knee_low"`
	KneeHigh int64 `json:"knee_high"`
	Repeat   int   `json:"repeat"`
	// Server names what was measured; Mode is ModeUsers or ModeRoomRate.
	Server string `json:"server"`
	Mode   string `json:"mode"`
}
