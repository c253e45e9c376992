package chaos

import (
	"context"
	"time"
)

// DefaultRecoveryMax is Config.RecoveryMax's default: ample for a node to
// reconnect to a broker that answers again (its backoff is at most 5 s,
// each try at most 3 s).
const DefaultRecoveryMax = 30 * time.Second

// recovery holds a fault's swarm run open past the end of sending until
// the fault has cleared and every live node is ready again (see
// loadgen.Trace.Recovered): a backend that keeps messages through an
// outage (RabbitMQ's guarantee mode) delivers them once it is back, and a
// run that ended first would count them lost. A broker that takes longer
// to restart than the rest of the steady phase is the common case: RabbitMQ
// answers 6-8 s after it is started again.
type recovery struct {
	closed chan struct{} // the trace's Recovered
	done   chan struct{} // closed when the wait ended; then timedOut is set
	// timedOut: the nodes were not all ready within bound of the fault
	// clearing, and the run's grace began without them.
	timedOut bool
}

// awaitRecovery closes the returned recovery's channel once in has cleared
// and a /readyz round begun after that found every live node ready, or
// bound after the fault cleared, or when ctx ends.
func awaitRecovery(ctx context.Context, in *injection, w *readyWatch, bound time.Duration) *recovery {
	r := &recovery{closed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer close(r.closed)
		select {
		case <-in.done:
		case <-ctx.Done():
			return
		}
		if in.err != nil {
			return
		}
		limit := time.NewTimer(time.Until(in.clears.Add(bound)))
		defer limit.Stop()
		tick := time.NewTicker(readyPoll)
		defer tick.Stop()
		for !w.readySince(in.clears) {
			select {
			case <-ctx.Done():
				return
			case <-limit.C:
				r.timedOut = true
				return
			case <-tick.C:
			}
		}
	}()
	return r
}
