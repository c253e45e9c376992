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

func (w *readyWatch) add(at time.Time, all bool) {
	w.mu.Lock()
	w.rounds = append(w.rounds, readyRound{at: at, all: all})
	w.mu.Unlock()
}

// waitDone fails the test when r's wait has not ended within d.
func waitDone(t *testing.T, r *recovery, d time.Duration) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(d):
		t.Fatalf("the wait did not end within %v", d)
	}
}

// stillOpen fails the test when r's channel closes within d.
func stillOpen(t *testing.T, r *recovery, d time.Duration, why string) {
	t.Helper()
	select {
	case <-r.closed:
		t.Fatalf("recovered %s", why)
	case <-time.After(d):
	}
}

// The wait ends at the first /readyz round that found every node ready and
// began recoverySettle or more after the fault cleared: not on a round from
// before (a node may not have noticed the fault yet), nor one just after
// clearing, nor one where a node was not ready.
func TestAwaitRecoveryEndsWhenReadyAfterClearing(t *testing.T) {
	clears := time.Now()
	w := &readyWatch{rounds: []readyRound{{at: clears.Add(-time.Second), all: true}}}
	rec := awaitRecovery(context.Background(), cleared(clears), w, time.Minute)
	stillOpen(t, rec, 5*readyPoll, "on a ready round from before the fault cleared")
	w.add(clears.Add(recoverySettle/2), true)
	stillOpen(t, rec, 5*readyPoll, "on a ready round begun right after the fault cleared")
	w.add(clears.Add(recoverySettle), false)
	stillOpen(t, rec, 5*readyPoll, "while a node was not ready")
	w.add(clears.Add(recoverySettle+readyPoll), true)
	waitDone(t, rec, 10*time.Second)
	if rec.reason != EndedRecovered {
		t.Fatalf("ended %q, want %q", rec.reason, EndedRecovered)
	}
}

// A node that never gets ready again: the wait gives up bound after the
// fault cleared and says so; a cancelled run ends it at once.
func TestAwaitRecoveryBounded(t *testing.T) {
	const bound = 300 * time.Millisecond
	w := &readyWatch{rounds: []readyRound{{at: time.Now().Add(time.Hour), all: false}}}
	start := time.Now()
	rec := awaitRecovery(context.Background(), cleared(start), w, bound)
	waitDone(t, rec, 10*time.Second)
	if took := rec.at.Sub(start); rec.reason != EndedRecoveryMax || took < bound || took > bound+2*time.Second {
		t.Fatalf("ended %q after %v, want %q after %v", rec.reason, took, EndedRecoveryMax, bound)
	}

	ctx, cancel := context.WithCancel(context.Background())
	pending := &injection{done: make(chan struct{})} // still held
	rec = awaitRecovery(ctx, pending, w, time.Hour)
	cancel()
	waitDone(t, rec, 10*time.Second)
	if rec.reason != EndedInterrupted {
		t.Fatalf("cancelled: ended %q, want %q", rec.reason, EndedInterrupted)
	}
}

// What the results say ended the run's wait, from when the recovery closed
// against when sending ended and the grace began.
func TestRecoveryEnded(t *testing.T) {
	t0 := time.Now()
	sendEnd, graceFrom := t0.Add(time.Second), t0.Add(3*time.Second)
	for _, tc := range []struct {
		at     time.Time
		reason string
		want   string
	}{
		{t0, EndedRecovered, ""},                                  // recovered within the steady phase: no wait
		{t0.Add(2 * time.Second), EndedRecovered, EndedRecovered}, // the wait ended with it
		{t0.Add(2 * time.Second), EndedRecoveryMax, EndedRecoveryMax},
		{t0.Add(4 * time.Second), EndedInterrupted, EndedDelivered}, // the grace began first: every delivery arrived
	} {
		r := &recovery{at: tc.at, reason: tc.reason}
		if got := r.ended(sendEnd, graceFrom); got != tc.want {
			t.Errorf("closed %v after start (%s): ended %q, want %q", tc.at.Sub(t0), tc.reason, got, tc.want)
		}
	}
}
