package results

import (
	"io"
	"time"
)

// KindChaos is the kind of a fault experiment's results file.
const KindChaos = "chaos"

// Delivery guarantees of a backend as run.
const (
	AtMostOnce = "at-most-once" // memory, redis, rabbitmq without --amqp-guarantee
	Guarantee  = "guarantee"    // rabbitmq with --amqp-guarantee
)

// Chaos is one fault experiment (kind "chaos"): serve nodes on a backend, a
// swarm run across them, and one or more faults injected at known moments.
type Chaos struct {
	Schema      string      `json:"schema"`
	Kind        string      `json:"kind"`
	StartedAt   time.Time   `json:"started_at"`
	Config      ChaosConfig `json:"config"`
	Environment Environment `json:"environment"`
	Faults      []FaultRun  `json:"faults"`
	// Partial: the experiment ended early; Faults holds what finished.
	Partial bool     `json:"partial"`
	Notes   []string `json:"notes,omitempty"`
}

// NewChaos returns an empty chaos result started now.
func NewChaos() *Chaos {
	return &Chaos{Schema: Schema, Kind: KindChaos, StartedAt: time.Now().UTC()}
}

// WriteJSON writes the experiment as indented JSON.
func (c *Chaos) WriteJSON(w io.Writer) error { return writeJSON(w, c) }

// ChaosConfig is an experiment's config as run.
type ChaosConfig struct {
	Backend string `json:"backend"` // memory, redis, rabbitmq
	Mode    string `json:"mode"`    // AtMostOnce or Guarantee
	Nodes   int    `json:"nodes"`
	// Faults as asked: broker-restart, broker-pause, node-kill, conn-drop.
	Faults    []string `json:"faults"`
	Clients   int      `json:"clients"`
	RatePerS  float64  `json:"rate_per_s"` // per sender
	AtS       float64  `json:"at_s"`       // fault injected this long into the steady phase
	HoldS     float64  `json:"hold_s"`     // broker-pause: how long paused; broker-restart: down time
	DurationS float64  `json:"duration_s"` // steady phase of each fault's run
	// RecoveryMaxS bounds each run's wait past the end of sending for its
	// fault to recover, from the fault clearing (0: no wait).
	RecoveryMaxS float64 `json:"recovery_max_s"`
}

// FaultRun is one fault injected into one swarm run, and what it cost.
type FaultRun struct {
	Fault string `json:"fault"`
	// InjectedAtS and ClearedAtS are offsets from the run's start (the
	// timeline's zero): the fault began, and the system was told to recover
	// (broker started again, SIGCONT, ...).
	InjectedAtS float64 `json:"injected_at_s"`
	ClearedAtS  float64 `json:"cleared_at_s"`
	// Counted over the steady phase, as in Summary: each expected delivery
	// is delivered or lost; duplicates are extra copies that reached clients.
	Expected   int64 `json:"expected"`
	Delivered  int64 `json:"delivered"`
	Lost       int64 `json:"lost"`
	Duplicated int64 `json:"duplicated"`
	// Delayed: deliveries in flight at the fault or due before recovery
	// whose latency exceeded every delivery before the fault (the
	// before-fault maximum; its p99 would count 1% of a healthy run).
	Delayed int64 `json:"delayed"`
	// Latency of deliveries due and received before the fault, in flight at
	// it or due before recovery (every node ready again and, after a
	// node-kill, every client back), and due after recovery.
	Before Percentiles `json:"latency_before_ms"`
	During Percentiles `json:"latency_during_ms"`
	After  Percentiles `json:"latency_after_ms"`
	// GapS is the time from the first to the last affected delivery (lost,
	// duplicated or delayed), by due time; nil when nothing was affected.
	GapS *float64 `json:"gap_s"`
	// ReadyAgainS is the time from clearing the fault until /readyz answered
	// 200 on every surviving node; nil when it never did within the run.
	ReadyAgainS *float64 `json:"ready_again_s"`
	// RecoveryWaitS is how long the run kept receiving after sending ended
	// before its grace began, waiting for the fault to clear and every node
	// to be ready again, or for every expected delivery (0 when the fault
	// had recovered before sending ended).
	RecoveryWaitS float64 `json:"recovery_wait_s"`
	// RecoveryEnded is what ended that wait: "recovered", "all delivered",
	// "recovery-max" or "interrupted"; "" when there was none.
	RecoveryEnded string `json:"recovery_ended,omitempty"`
	// AllConnected: every client was connected at the end of the run.
	AllConnected bool `json:"all_connected"`
	// Reconnects and ReconnectMs: clients that had to reconnect (node-kill)
	// and how long it took them.
	Reconnects  int64       `json:"reconnects"`
	ReconnectMs Percentiles `json:"reconnect_ms"`
	// Run is the swarm run across the fault (timeline, histograms, costs).
	Run *Result `json:"run"`
}

// NotMeasured says why f's counts do not measure the fault ("" when they
// do): its swarm run ended early (partial) or measured something else
// than asked (invalid). An overloaded run counts: losses under the fault
// are what is measured.
func (f FaultRun) NotMeasured() string {
	if f.Run == nil {
		return ""
	}
	o := f.Run.Outcome
	if o.Verdict != Partial && o.Verdict != Invalid {
		return ""
	}
	if len(o.Reasons) > 0 {
		return o.Verdict + ": " + o.Reasons[0]
	}
	return o.Verdict
}
