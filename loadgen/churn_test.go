package loadgen_test

import (
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/results"
)

// Churn against the reference server (which loses nothing): clients leave
// at the rate asked, come back, are never counted as sockets lost, and
// while away are not expected receivers; what is lost is only copies in
// flight to a client that was closing.
func TestChurnLeavesAndRejoins(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	addr := startRefServer(t)
	cfg := smallRun("ws://" + addr + "/ws?room={{room}}&user={{user}}")
	cfg.Clients, cfg.Rooms, cfg.Senders, cfg.Rate = 100, 4, 20, 10
	cfg.Warmup, cfg.Duration = 500*time.Millisecond, 3*time.Second
	cfg.Churn, cfg.RejoinAfter = 0.05, 300*time.Millisecond // 5 clients a second, each away 0.3 s
	res := mustRun(t, cfg)
	s := res.Summary
	t.Logf("left %d rejoined %d; sent %d expected %d delivered %d lost %d unexpected %d", s.Left, s.Rejoined, s.Sent, s.Expected, s.Delivered, s.Lost, s.Unexpected)
	// 5/s over 3.5 s of sending: 17, however late the ticks come.
	if s.Left != 17 || s.Rejoined < s.Left-2 || s.Rejoined > s.Left {
		t.Errorf("left %d, rejoined %d; want about 17 left, all but the last back", s.Left, s.Rejoined)
	}
	if s.Disconnected != 0 || s.Connected != 100 || s.Duplicated != 0 || s.Misrouted != 0 {
		t.Errorf("disconnected %d connected %d dup %d misrouted %d; want 0, 100, 0, 0", s.Disconnected, s.Connected, s.Duplicated, s.Misrouted)
	}
	// Every probe goes to 25 members, less those away when it was due:
	// about 1.5 of 100 clients at any time.
	full := s.Sent * 25
	if s.Expected >= full || s.Expected < full*95/100 {
		t.Errorf("expected %d of %d: want fewer (members away) but not by more than 5%%", s.Expected, full)
	}
	if s.Lost > s.Expected/100 {
		t.Errorf("lost %d of %d: more than copies in flight to closing clients", s.Lost, s.Expected)
	}
}

// A reconnect storm: half the clients drop and reconnect at once, 1 s in.
func TestReconnectStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	addr := startRefServer(t)
	cfg := smallRun("ws://" + addr + "/ws?room={{room}}&user={{user}}")
	cfg.Clients, cfg.Rooms, cfg.Senders, cfg.Rate = 200, 4, 20, 10
	cfg.Warmup, cfg.Duration = 500*time.Millisecond, 2500*time.Millisecond
	cfg.Storms = []loadgen.Storm{{At: time.Second, Share: 0.5}}
	res := mustRun(t, cfg)
	s := res.Summary
	t.Logf("left %d rejoined %d; expected %d delivered %d lost %d", s.Left, s.Rejoined, s.Expected, s.Delivered, s.Lost)
	if s.Left < 80 || s.Left > 120 || s.Rejoined != s.Left || s.Disconnected != 0 || s.ConnectErrors != 0 {
		t.Errorf("left %d rejoined %d disconnected %d connect errors %d; want about 100 left, all back, nothing lost as a socket",
			s.Left, s.Rejoined, s.Disconnected, s.ConnectErrors)
	}
	if peak := maxConnected(res); peak != 200 {
		t.Errorf("timeline peaked at %d sockets, want 200", peak)
	}
}

func maxConnected(res *results.Result) int64 {
	var m int64
	for _, row := range res.Timeline {
		m = max(m, row.Connected)
	}
	return m
}
