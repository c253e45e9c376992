package loadgen_test

import (
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen"
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
