package chaos

import (
	"context"
	"testing"
	"time"
)

// cleared is an injection that has cleared at the given time.
func cleared(at time.Time) *injection {
	in := &injection{clears: at, done: make(chan struct{})}
	close(in.done)
	return in
}

// The wait ends at the first /readyz round begun after the fault cleared
// that found every node ready: not on a round from before (a node may not
// have noticed the fault yet), and not later.
func TestAwaitRecoveryEndsWhenReadyAfterClearing(t *testing.T) {
	clears := time.Now()
	w := &readyWatch{rounds: []readyRound{{at: clears.Add(-time.Second), all: true}}}
	rec := awaitRecovery(context.Background(), cleared(clears), w, time.Minute)
	select {
	case <-rec.closed:
		t.Fatal("recovered on a ready round from before the fault cleared")
	case <-time.After(5 * readyPoll):
	}
	w.mu.Lock()
	w.rounds = append(w.rounds, readyRound{at: time.Now(), all: false})
	w.mu.Unlock()
	select {
	case <-rec.closed:
		t.Fatal("recovered while a node was not ready")
	case <-time.After(5 * readyPoll):
	}
	w.mu.Lock()
	w.rounds = append(w.rounds, readyRound{at: time.Now(), all: true})
	w.mu.Unlock()
	<-rec.done
	if rec.timedOut {
		t.Fatal("recovered, yet marked timed out")
	}
}

// A node that never gets ready again: the wait gives up bound after the
// fault cleared and says so; a cancelled run ends it at once, not timed out.
func TestAwaitRecoveryBounded(t *testing.T) {
	const bound = 300 * time.Millisecond
	w := &readyWatch{rounds: []readyRound{{at: time.Now().Add(time.Hour), all: false}}}
	start := time.Now()
	rec := awaitRecovery(context.Background(), cleared(start), w, bound)
	<-rec.done
	if took := time.Since(start); !rec.timedOut || took < bound || took > bound+2*time.Second {
		t.Fatalf("timed out %v after %v, want true after %v", rec.timedOut, took, bound)
	}

	ctx, cancel := context.WithCancel(context.Background())
	pending := &injection{done: make(chan struct{})} // still held
	rec = awaitRecovery(ctx, pending, w, time.Hour)
	cancel()
	<-rec.done
	if rec.timedOut {
		t.Fatal("cancelled, yet marked timed out")
	}
	select {
	case <-rec.closed:
	default:
		t.Fatal("cancelled: the trace's Recovered is still open")
	}
}
