package loadgen

import (
	"context"
	"sync"
	"time"

	"github.com/chatbench/chatbench/loadgen/results"
)

// timeline samples the run once per second: connections, sends,
// deliveries and the p50/p99 of the deliveries of that second.
type timeline struct {
	r    *run
	rows []results.Second

	mu     sync.Mutex
	phases []phaseMark

	// prevCounts, curCounts, deltaCounts: the histogram counts at the last
	// sample, now, and in between; reused every second (each is
	// histCountsLen long: a few hundred KB).
	prevCounts, curCounts, deltaCounts []int64
	prevSends                          int64
	prevDeliv                          int64
}

type phaseMark struct {
	at   int64
	name string
}

func newTimeline(r *run) *timeline {
	return &timeline{r: r, prevCounts: make([]int64, histCountsLen),
		curCounts: make([]int64, histCountsLen), deltaCounts: make([]int64, histCountsLen)}
}

func (tl *timeline) setPhase(name string) { tl.setPhaseAt(tl.r.t.now(), name) }

func (tl *timeline) setPhaseAt(at int64, name string) {
	tl.mu.Lock()
	tl.phases = append(tl.phases, phaseMark{at, name})
	tl.mu.Unlock()
}

func (tl *timeline) phaseAt(ts int64) string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	name := ""
	for _, p := range tl.phases {
		if p.at <= ts {
			name = p.name
		}
	}
	return name
}

func (tl *timeline) loop(ctx context.Context) {
	start := time.Now()
	timer := time.NewTimer(time.Second)
	defer timer.Stop()
	for sec := 1; ; sec++ {
		select {
		case <-ctx.Done():
			tl.sample(sec - 1)
			return
		case <-timer.C:
			timer.Reset(time.Until(start.Add(time.Duration(sec+1) * time.Second)))
		}
		tl.sample(sec - 1)
	}
}

func (tl *timeline) sample(t int) {
	r := tl.r
	cur, delta := tl.curCounts, tl.deltaCounts
	clear(cur)
	for _, g := range r.groups {
		g.dueAll.addTo(cur)
	}
	for i := range cur {
		delta[i] = cur[i] - tl.prevCounts[i]
	}
	tl.prevCounts, tl.curCounts = cur, tl.prevCounts
	h := results.HistFromCounts(delta)
	sends, deliv := r.sends.Load(), r.delivered()
	row := results.Second{T: t, Phase: tl.phaseAt(r.t.now()), Connected: r.connected.Load(),
		Sends: sends - tl.prevSends, Deliveries: deliv - tl.prevDeliv}
	tl.prevSends, tl.prevDeliv = sends, deliv
	if h.TotalCount() > 0 {
		row.P50Ms = float64(h.ValueAtQuantile(50)) / 1000
		row.P99Ms = float64(h.ValueAtQuantile(99)) / 1000
	}
	tl.rows = append(tl.rows, row)
	if f := r.cfg.Progress; f != nil {
		st := tl.status(row)
		if r.cfg.workerMetrics {
			ms := r.metricsCollector().snapshot()
			st.Metrics = &ms
		}
		f(st)
	}
}

// delivered is every delivery so far (every phase).
func (r *run) delivered() int64 {
	var n int64
	for _, g := range r.groups {
		n += g.delivered.Load()
	}
	return n
}
