package chaos

import (
	"context"
	"time"
)

// DefaultRecoveryMax is chaos's --recovery-max: ample for a node to
// reconnect to a broker that answers again (its backoff is at most 5 s,
// each try at most 3 s).
const DefaultRecoveryMax = 30 * time.Second

// recoverySettle is how long after the fault cleared a /readyz round must
// begin to count: a node may take a moment to notice a reset connection,
// and until then it still answers ready.
const recoverySettle = 500 * time.Millisecond

// What ended a run's wait past the end of sending (results.FaultRun's
// RecoveryEnded).
const (
	EndedRecovered   = "recovered"     // the fault cleared and every live node was ready again
	EndedDelivered   = "all delivered" // every expected delivery arrived first
	EndedRecoveryMax = "recovery-max"  // Config.RecoveryMax ran out
	EndedInterrupted = "interrupted"   // the experiment was cancelled
)

// recovery holds a fault's swarm run open past the end of sending until
// the fault has cleared and every live node is ready again (see
// loadgen.Trace.Recovered): a backend that keeps messages through an
// outage (RabbitMQ's guarantee mode) delivers them once it is back, and a
// run that ended first would count them lost. A broker that takes longer
// to restart than the rest of the steady phase is the common case: RabbitMQ
// answers 4-9 s after it is started again.
type recovery struct {
	closed chan struct{} // the trace's Recovered
	done   chan struct{} // closed when the wait ended; then the fields below are set
	// at is when closed was closed, and why.
	at     time.Time
	reason string
}

// awaitRecovery closes the returned recovery's channel once in has cleared
// and a /readyz round begun recoverySettle after that found every live
// node ready, or bound after the fault cleared, or when ctx ends.
func awaitRecovery(ctx context.Context, in *injection, w *readyWatch, bound time.Duration) *recovery {
	r := &recovery{closed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.reason = r.wait(ctx, in, w, bound)
		r.at = time.Now()
		close(r.closed)
	}()
	return r
}

func (r *recovery) wait(ctx context.Context, in *injection, w *readyWatch, bound time.Duration) string {
	select {
	case <-in.done:
	case <-ctx.Done():
		return EndedInterrupted
	}
	if in.err != nil {
		return EndedInterrupted // nothing to recover from: the experiment fails
	}
	limit := time.NewTimer(time.Until(in.clears.Add(bound)))
	defer limit.Stop()
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for !w.readySince(in.clears.Add(recoverySettle)) {
		select {
		case <-ctx.Done():
			return EndedInterrupted
		case <-limit.C:
			return EndedRecoveryMax
		case <-tick.C:
		}
	}
	return EndedRecovered
}

// ended says what ended the run's wait past the end of sending, which ran
// from sendEnd to graceFrom: "" when there was none (the fault had
// recovered by the end of sending), EndedDelivered when the wait ended
// before this one did.
func (r *recovery) ended(sendEnd, graceFrom time.Time) string {
	switch {
	case !r.at.After(sendEnd):
		return ""
	case r.at.After(graceFrom):
		return EndedDelivered
	}
	return r.reason
}
