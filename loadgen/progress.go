package loadgen

import (
	"time"

	"github.com/chatbench/chatbench/loadgen/results"
)

// Status is a live snapshot of a run for progress displays (Config.Progress),
// once a second. A --procs parent sums its workers' statuses.
type Status struct {
	Phase     string `json:"phase"` // ramp, warmup, steady, grace ("" before the first mark)
	Connected int64  `json:"connected"`
	Clients   int    `json:"clients"` // sockets this run opens (its part, for a shard)
	// Elapsed is the time since sending began (warmup included; 0 during
	// the ramp); Total is warmup + steady phase.
	Elapsed time.Duration `json:"elapsed_ns"`
	Total   time.Duration `json:"total_ns"`
	// Sends and Deliveries are of the last second; P99Ms is the p99 of the
	// last second's own-run deliveries from their due time.
	Sends      int64   `json:"sends"`
	Deliveries int64   `json:"deliveries"`
	P99Ms      float64 `json:"p99_ms"`
	// Metrics is a worker's metrics snapshot, for a --procs parent that
	// serves --metrics-addr (nil otherwise).
	Metrics *MetricsSnapshot `json:"metrics,omitempty"`
}

// status builds the Status of the row just sampled.
func (tl *timeline) status(row results.Second) Status {
	r := tl.r
	total := r.cfg.Warmup + r.cfg.Duration
	if r.cfg.Rate == 0 {
		total = r.cfg.Duration
	}
	s := Status{Phase: row.Phase, Connected: row.Connected, Clients: len(r.ids),
		Total: total, Sends: row.Sends, Deliveries: row.Deliveries, P99Ms: row.P99Ms}
	now := r.t.now()
	tl.mu.Lock()
	for _, p := range tl.phases {
		if (p.name == "warmup" || p.name == "steady") && p.at <= now {
			s.Elapsed = time.Duration(now - p.at)
			break
		}
	}
	tl.mu.Unlock()
	return s
}

// addStatus sums b into a: counts add, the phase is the least advanced one,
// elapsed the longest, p99 the largest.
func addStatus(a *Status, b Status) {
	order := map[string]int{"": 0, "ramp": 1, "warmup": 2, "steady": 3, "recovery": 4, "grace": 5}
	if a.Clients == 0 || order[b.Phase] < order[a.Phase] {
		a.Phase = b.Phase
	}
	a.Connected += b.Connected
	a.Clients += b.Clients
	a.Elapsed = max(a.Elapsed, b.Elapsed)
	a.Total = max(a.Total, b.Total)
	a.Sends += b.Sends
	a.Deliveries += b.Deliveries
	a.P99Ms = max(a.P99Ms, b.P99Ms)
}
