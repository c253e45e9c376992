package loadgen_test

import (
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/results"
)

// dropAll closes every socket the server holds (it keeps accepting).
func (s *bcastServer) dropAll() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.subs {
		sub.c.CloseNow()
	}
	return len(s.subs)
}

// Two servers, a room on each; mid-run one drops all its sockets. With
// Reconnect, its clients open a socket on the other server (the next URL),
// each reconnect timed; the trace's probes and copies add up to the
// summary's counts exactly, and its steady phase is where the hook said.
func TestTraceAndReconnect(t *testing.T) {
	a, b := startBcast(t, &bcastServer{}), startBcast(t, &bcastServer{})
	cfg := smallRun(a.url)
	cfg.URLs = []string{a.url, b.url}
	cfg.Rooms = 2 // client i: room i%2, server i%2
	cfg.Reconnect = loadgen.Reconnect{Tries: 3, Wait: 10 * time.Millisecond}
	tr := &loadgen.Trace{}
	var steadyAt time.Time
	dropped := make(chan int, 1)
	tr.Steady = func(start time.Time) {
		steadyAt = start
		time.AfterFunc(time.Until(start.Add(500*time.Millisecond)), func() { dropped <- b.dropAll() })
	}
	cfg.Trace = tr
	res := mustRun(t, cfg)
	if n := <-dropped; n != cfg.Clients/2 {
		t.Fatalf("server b held %d sockets, want %d", n, cfg.Clients/2)
	}
	if got := tr.Zero.Add(tr.SteadyStart); !got.Equal(steadyAt) {
		t.Fatalf("trace steady start %v, hook said %v", got, steadyAt)
	}
	if len(tr.Reconnects) != cfg.Clients/2 || tr.ReconnectFailed != 0 || tr.ConnectedAtEnd != int64(cfg.Clients) {
		t.Fatalf("reconnects %d (failed %d), connected at end %d: want %d back, all %d connected",
			len(tr.Reconnects), tr.ReconnectFailed, tr.ConnectedAtEnd, cfg.Clients/2, cfg.Clients)
	}
	for _, d := range tr.Reconnects {
		if d <= 0 || d > 5*time.Second {
			t.Fatalf("reconnect took %v", d)
		}
	}
	if res.Summary.Connected != int64(cfg.Clients) {
		t.Fatalf("summary connected %d: reconnects counted as new clients (want %d)", res.Summary.Connected, cfg.Clients)
	}
	var exp, del, copies, dups int64
	for _, p := range tr.Probes {
		exp += int64(p.Expected)
		del += int64(min(p.Delivered, p.Expected))
		if p.Due < tr.SteadyStart || p.Due >= tr.SteadyEnd {
			t.Fatalf("probe due %v outside the steady phase [%v, %v)", p.Due, tr.SteadyStart, tr.SteadyEnd)
		}
	}
	for _, c := range tr.Copies {
		if c.Duplicate {
			dups++
		} else {
			copies++
		}
	}
	s := res.Summary
	if exp != s.Expected || del != s.Delivered || copies != s.Delivered || dups != s.Duplicated || int64(len(tr.Probes)) != s.Sent {
		t.Fatalf("trace: %d probes, expected %d, delivered %d (%d copies), %d duplicates; summary: sent %d, expected %d, delivered %d, duplicated %d",
			len(tr.Probes), exp, del, copies, dups, s.Sent, s.Expected, s.Delivered, s.Duplicated)
	}
}

// A server that holds every delivery 800 ms, and a grace of 200 ms: the
// last ~600 ms of probes are still held when a grace that starts as sending
// ends runs out, and are lost. With Trace.Recovered closed 1.2 s after the
// steady phase ends (a fault that cleared then), the run keeps receiving
// until every delivery arrived (or Recovered closed) and nothing is lost;
// the trace says when the grace started. Recovered never closed
// does not hold a run whose deliveries all arrived; one whose deliveries
// never arrive waits for it and no longer.
func TestTraceRecoveredHoldsGrace(t *testing.T) {
	slow := startBcast(t, &bcastServer{delay: 800 * time.Millisecond})
	run := func(url string, recovered <-chan struct{}, steady func(time.Time)) (results.Summary, *loadgen.Trace) {
		cfg := smallRun(url)
		cfg.Grace = 200 * time.Millisecond
		tr := &loadgen.Trace{Recovered: recovered, Steady: steady}
		cfg.Trace = tr
		return mustRun(t, cfg).Summary, tr
	}

	s, tr := run(slow.url, nil, nil)
	if s.Lost == 0 {
		t.Fatalf("no Recovered: lost 0 of %d, want the deliveries held past a 200 ms grace lost", s.Expected)
	}
	if d := tr.GraceFrom - tr.SteadyEnd; d < -100*time.Millisecond || d > 500*time.Millisecond {
		t.Fatalf("no Recovered: grace began %v after the steady phase ended, want as sending ended", d)
	}

	const hold = 1200 * time.Millisecond
	rec := make(chan struct{})
	dur := smallRun(slow.url).Duration
	s, tr = run(slow.url, rec, func(start time.Time) {
		time.AfterFunc(time.Until(start.Add(dur+hold)), func() { close(rec) })
	})
	if s.Lost != 0 || s.Delivered != s.Expected || s.Expected == 0 {
		t.Fatalf("Recovered at steady end + %v: lost %d, delivered %d of %d; want every delivery", hold, s.Lost, s.Delivered, s.Expected)
	}
	// The run waited past the 200 ms grace: until every delivery arrived
	// (about 800 ms, before Recovered closed) or Recovered closed.
	if d := tr.GraceFrom - tr.SteadyEnd; d < 600*time.Millisecond || d > hold+time.Second {
		t.Fatalf("grace began %v after the steady phase ended, want between the server's delay and %v (Recovered)", d, hold)
	}

	// Deliveries that never come (every 7th dropped): the wait ends when
	// Recovered closes, and the grace follows.
	lossy := startBcast(t, &bcastServer{dropEvery: 7})
	const recoverAt = 700 * time.Millisecond
	rec2 := make(chan struct{})
	s, tr = run(lossy.url, rec2, func(start time.Time) {
		time.AfterFunc(time.Until(start.Add(dur+recoverAt)), func() { close(rec2) })
	})
	if s.Lost == 0 {
		t.Fatalf("a server that drops every 7th delivery: lost 0 of %d", s.Expected)
	}
	if d := tr.GraceFrom - tr.SteadyEnd; d < recoverAt-100*time.Millisecond || d > recoverAt+time.Second {
		t.Fatalf("deliveries missing for good: grace began %v after the steady phase ended, want about %v (when Recovered closed)", d, recoverAt)
	}
	if tr.SendEnd > tr.SteadyEnd+200*time.Millisecond || tr.SendEnd < tr.SteadyEnd-200*time.Millisecond {
		t.Fatalf("sending ended at %v, the steady phase at %v", tr.SendEnd, tr.SteadyEnd)
	}

	fast := startBcast(t, &bcastServer{})
	s, tr = run(fast.url, make(chan struct{}), nil)
	if s.Lost != 0 || s.Delivered != s.Expected {
		t.Fatalf("never recovered, no delay: lost %d of %d", s.Lost, s.Expected)
	}
	if d := tr.GraceFrom - tr.SteadyEnd; d > time.Second {
		t.Fatalf("every delivery arrived, yet a Recovered never closed held the run %v past sending", d)
	}
}
