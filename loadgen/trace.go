package loadgen

import (
	"sync"
	"time"
)

// Trace, set in Config.Trace, records one run probe by probe and copy by
// copy, for a fault experiment (the chaos command), which must tell which
// deliveries were lost, duplicated or late around a moment the results
// file only sees per second. It costs memory per copy received: use it for
// small runs in one process (RunProcs ignores it).
type Trace struct {
	// Steady, when non-nil, is called once, as the send schedule is fixed,
	// with the wall-clock instant the steady phase starts (a fault is
	// injected relative to it). It must not block.
	Steady func(start time.Time)
	// Recovered, when non-nil, holds the grace period back: it begins when
	// Recovered is closed, not when sending ends (unless every expected
	// delivery arrived first). A fault experiment closes it once the fault
	// has cleared and the system is ready again, so deliveries a backend
	// held through an outage that outlasted the steady phase are counted
	// when they arrive, not as lost. The caller bounds how long it stays
	// open; the run's context still ends it. Steady may set it.
	Recovered <-chan struct{}

	// Filled by Run. Times are offsets from Zero, the run's clock origin
	// (due times count from it; the timeline's second 0 starts there).
	Zero                   time.Time
	SteadyStart, SteadyEnd time.Duration
	// SendEnd is when sending ended and the run began to wait for
	// deliveries in flight; GraceFrom is when the grace period began:
	// SendEnd, or later when Recovered held it back.
	SendEnd, GraceFrom time.Duration
	// Probes is every steady-phase probe sent, with its expected receivers
	// and deliveries (as the summary counts them).
	Probes []TraceProbe
	// Copies is every copy of a steady-phase probe that reached an
	// expected receiver: deliveries and duplicates.
	Copies []TraceCopy
	// Reconnects is, per socket lost and opened again (Config.Reconnect),
	// the time from the loss to the new socket's join.
	Reconnects []time.Duration
	// ReconnectFailed counts lost sockets that did not reconnect within
	// their tries.
	ReconnectFailed int64
	// ConnectedAtEnd is the sockets open when sending and grace ended.
	ConnectedAtEnd int64

	mu sync.Mutex // guards Copies and Reconnects while the run goes on
}

// TraceProbe is one steady-phase probe sent.
type TraceProbe struct {
	Sender    int32
	Seq       int32
	Due       time.Duration
	Expected  int32
	Delivered int32
}

// TraceCopy is one copy of a steady-phase probe at an expected receiver.
type TraceCopy struct {
	Due       time.Duration
	Latency   time.Duration // receive time − due time
	Duplicate bool          // a further copy at the same receiver
}

// copyLog is what one receiver keeps for the trace; only its reader
// goroutine appends, and the run hands it to the trace when the socket ends.
type copyLog []TraceCopy

func (t *Trace) addCopies(l copyLog) {
	if len(l) == 0 {
		return
	}
	t.mu.Lock()
	t.Copies = append(t.Copies, l...)
	t.mu.Unlock()
}

func (t *Trace) addReconnect(d time.Duration, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !ok {
		t.ReconnectFailed++
		return
	}
	t.Reconnects = append(t.Reconnects, d)
}

// traceSteady tells the trace's Steady hook when the steady phase starts.
func (r *run) traceSteady(s *schedule) {
	tr := r.cfg.Trace
	if tr == nil {
		return
	}
	tr.Zero = r.t.base
	tr.SteadyStart, tr.SteadyEnd = time.Duration(s.steadyStart()), time.Duration(s.steadyEnd())
	if tr.Steady != nil {
		tr.Steady(r.t.base.Add(tr.SteadyStart))
	}
}

// traceProbes fills the trace's probes from this process's account (a
// run in one process: every sender is here).
func (r *run) traceProbes(s *schedule) {
	tr := r.cfg.Trace
	if tr == nil {
		return
	}
	for c, recs := range r.t.probes {
		if len(recs) == 0 || !r.t.owns(int64(c)) {
			continue
		}
		s.each(c, func(seq, due int64) bool {
			if s.steady(due) && r.sentHere(c, seq) {
				tr.Probes = append(tr.Probes, TraceProbe{Sender: int32(c), Seq: int32(seq), Due: time.Duration(due),
					Expected: r.expectedHere(c, due), Delivered: recs[seq].delivered.Load()})
			}
			return true
		})
	}
}
