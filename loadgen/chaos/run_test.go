package chaos_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/chaos"
	"github.com/chatbench/chatbench/loadgen/results"
)

// experiment is a small load: n clients in rooms, everyone talking at
// rate, a steady phase of dur with the fault at at.
func experiment(t *testing.T, backend string, faults []string, n, rooms int, rate float64, dur, at, pause time.Duration) chaos.Config {
	t.Helper()
	lc := loadgen.DefaultConfig()
	lc.Clients, lc.Rate, lc.Duration, lc.Warmup, lc.Grace = n, rate, dur, 500*time.Millisecond, 3*time.Second
	lc.RoomSize, lc.Rooms, lc.Talkers, lc.Senders = 0, rooms, 0, 0
	lc.MetricsURLs = nil
	cfg := chaos.Config{Backend: backend, Faults: faults, Nodes: 2, At: at, Pause: pause, Load: lc, Exe: os.Args[0], TempDir: t.TempDir(),
		RecoveryMax: chaos.DefaultRecoveryMax}
	if testing.Verbose() {
		cfg.Progress = os.Stderr
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func run(t *testing.T, cfg chaos.Config) *results.Chaos {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := chaos.Run(ctx, cfg)
	for _, n := range res.Notes {
		t.Log(n) // how long a restart took, what was reset: for a failure's reader
	}
	if err != nil {
		t.Fatalf("chaos: %v (notes %q)", err, res.Notes)
	}
	if len(res.Faults) != len(cfg.Faults) || res.Partial {
		t.Fatalf("%d faults run of %d, partial %v", len(res.Faults), len(cfg.Faults), res.Partial)
	}
	return res
}

// checkCounts holds for every fault run: the chaos counts agree with the
// swarm run's own accounting (the summary's tally, a separate path), lost
// is expected − delivered, and the fault happened when asked.
func checkCounts(t *testing.T, cfg chaos.Config, f results.FaultRun) {
	t.Helper()
	s := f.Run.Summary
	if f.Expected != s.Expected || f.Delivered != s.Delivered || f.Lost != s.Lost || f.Duplicated != s.Duplicated {
		t.Errorf("%s: chaos expected/delivered/lost/dup %d/%d/%d/%d, swarm's summary %d/%d/%d/%d", f.Fault,
			f.Expected, f.Delivered, f.Lost, f.Duplicated, s.Expected, s.Delivered, s.Lost, s.Duplicated)
	}
	if f.Lost != f.Expected-f.Delivered || f.Expected == 0 {
		t.Errorf("%s: lost %d, expected %d − delivered %d", f.Fault, f.Lost, f.Expected, f.Delivered)
	}
	// The steady phase starts after the warmup, when sending started.
	steady := f.Run.Config.SendStartedAt.Sub(f.Run.StartedAt).Seconds() + f.Run.Config.WarmupS
	if d := f.InjectedAtS - steady - cfg.At.Seconds(); d < -0.2 || d > 0.2 {
		t.Errorf("%s: injected at %.3f s, the steady phase started at %.3f s: %.3f s off --at %v", f.Fault, f.InjectedAtS, steady, d, cfg.At)
	}
	if f.GapS != nil && (*f.GapS < 0 || *f.GapS > cfg.Load.Duration.Seconds()) {
		t.Errorf("%s: gap %.3f s outside the %v run", f.Fault, *f.GapS, cfg.Load.Duration)
	}
}

// Redis pub/sub is at most once: a broker killed for a second loses the
// deliveries between nodes while it is away (a node still fans out to its
// own clients), and no more than those.
func TestRedisBrokerRestartLoses(t *testing.T) {
	const n, rate = 10, 20.0
	pause := time.Second
	cfg := experiment(t, chaos.Redis, []string{chaos.BrokerRestart}, n, 0, rate, 4*time.Second, time.Second, pause)
	f := run(t, cfg).Faults[0]
	checkCounts(t, cfg, f)
	if f.ReadyAgainS == nil || *f.ReadyAgainS > 5 {
		t.Fatalf("ready again %v, want within 5 s of the restart", f.ReadyAgainS)
	}
	// One room of n over 2 nodes: half of each probe's n receivers are on
	// the other node. Cross-node deliveries per second:
	cross := n * rate * n / 2
	outage := f.ClearedAtS - f.InjectedAtS + *f.ReadyAgainS
	if lo, hi := int64(cross*pause.Seconds()*0.5), int64(cross*(outage+0.5)); f.Lost < lo || f.Lost > hi {
		t.Fatalf("lost %d, want between %d (half the cross-node deliveries of the %v pause) and %d (all of them over the %.2f s outage + 0.5 s)",
			f.Lost, lo, pause, hi, outage)
	}
	if !f.AllConnected || f.Reconnects != 0 {
		t.Fatalf("clients connected %v, reconnects %d: a broker fault must not drop a client", f.AllConnected, f.Reconnects)
	}
	if f.GapS == nil {
		t.Fatal("no gap with deliveries lost")
	}
}

// A killed memory node: its room's clients reconnect to the other node
// (memory nodes share nothing, so each room lives on one node); the other
// room loses nothing, and only copies in flight at the kill can be lost.
func TestMemoryNodeKillReconnects(t *testing.T) {
	const n, rate = 20, 10.0
	cfg := experiment(t, chaos.Memory, []string{chaos.NodeKill}, n, 2, rate, 3*time.Second, time.Second, time.Second)
	f := run(t, cfg).Faults[0]
	checkCounts(t, cfg, f)
	if f.Reconnects != n/2 || !f.AllConnected {
		t.Fatalf("reconnects %d, all connected %v: want the killed node's %d clients back", f.Reconnects, f.AllConnected, n/2)
	}
	if f.ReconnectMs.Count != n/2 || f.ReconnectMs.Max <= 0 || f.ReconnectMs.Max > 5000 {
		t.Fatalf("reconnect times %+v, want %d within 5 s", f.ReconnectMs, n/2)
	}
	// In flight at the kill: at most the killed room's probes of ~50 ms
	// (n/2 senders at rate), each to n/2 receivers.
	if max := int64(n / 2 * rate * 0.05 * n / 2); f.Lost > max {
		t.Fatalf("lost %d, want at most %d (copies in flight at the kill)", f.Lost, max)
	}
	if f.ReadyAgainS == nil || *f.ReadyAgainS > 1 {
		t.Fatalf("ready again %v, want the surviving node ready throughout", f.ReadyAgainS)
	}
}

// RabbitMQ at most once, one broker for two faults: a connection reset and
// a pause. The counts agree with swarm's own, every client stays connected
// and the nodes are ready again within a few seconds.
func TestRabbitMQConnDropAndPause(t *testing.T) {
	cfg := experiment(t, chaos.RabbitMQ, []string{chaos.ConnDrop, chaos.BrokerPause}, 10, 0, 20, 4*time.Second, time.Second, time.Second)
	res := run(t, cfg)
	if res.Config.Mode != results.AtMostOnce {
		t.Fatalf("mode %q, want %q", res.Config.Mode, results.AtMostOnce)
	}
	for _, f := range res.Faults {
		checkCounts(t, cfg, f)
		if f.ReadyAgainS == nil || *f.ReadyAgainS > cfg.Pause.Seconds()+5 {
			t.Errorf("%s: ready again %v, want within --pause + 5 s", f.Fault, f.ReadyAgainS)
		}
		if !f.AllConnected {
			t.Errorf("%s: a client was dropped by a broker fault", f.Fault)
		}
	}
	if p := res.Faults[1]; p.ClearedAtS-p.InjectedAtS < cfg.Pause.Seconds() || p.ClearedAtS-p.InjectedAtS > cfg.Pause.Seconds()+0.2 {
		t.Fatalf("broker paused %.3f s, want --pause %v", p.ClearedAtS-p.InjectedAtS, cfg.Pause)
	}
}

// RabbitMQ's guarantee mode across a broker kill -9 and restart and across
// a connection reset loses nothing and duplicates nothing, by chaos's count
// and swarm's own. The nodes' send queues are 64 frames: when the nodes
// reconnect after the restart, each client's node gets the whole outage's
// cross-node backlog (5 remote senders at 20/s: ~100 frames a second for
// several seconds) at once, many times the queue, so a node that dropped
// what overflowed a client's queue (what --slow-policy drop, chaos's
// setting, does with frames that cannot wait) would lose hundreds.
//
// The broker is killed 2 s into a 4 s steady phase and started again 1.5 s
// later; RabbitMQ takes seconds to answer, so the outage outlasts the
// steady phase (the test checks it did) and the run must keep receiving
// until the nodes are back: deliveries held through the outage arrive then,
// and a run that stopped at the end of its grace would count them lost.
func TestRabbitMQGuaranteeLosesNothing(t *testing.T) {
	cfg := experiment(t, chaos.RabbitMQ, []string{chaos.BrokerRestart, chaos.ConnDrop}, 10, 0, 20, 4*time.Second, 2*time.Second, 1500*time.Millisecond)
	cfg.Guarantee = true
	cfg.ServeArgs = []string{"--send-queue", "64"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	res := run(t, cfg)
	if res.Config.Mode != results.Guarantee {
		t.Fatalf("mode %q, want %q", res.Config.Mode, results.Guarantee)
	}
	for _, f := range res.Faults {
		checkCounts(t, cfg, f)
		t.Logf("%s: expected %d, lost %d, dup %d, delayed %d, waited %.2f s past sending", f.Fault, f.Expected, f.Lost, f.Duplicated, f.Delayed, f.RecoveryWaitS)
		if f.Lost != 0 || f.Duplicated != 0 {
			t.Errorf("%s: lost %d, duplicated %d of %d expected; want 0 and 0", f.Fault, f.Lost, f.Duplicated, f.Expected)
		}
		if !f.AllConnected {
			t.Errorf("%s: a client was dropped by a broker fault", f.Fault)
		}
	}
	r := res.Faults[0]
	steadyEnd := r.Run.Config.SendStartedAt.Sub(r.Run.StartedAt).Seconds() + r.Run.Config.WarmupS + r.Run.Config.DurationS
	if r.ClearedAtS <= steadyEnd {
		t.Fatalf("premise: the broker answered at %.2f s, before the steady phase ended at %.2f s", r.ClearedAtS, steadyEnd)
	}
	if r.RecoveryWaitS < r.ClearedAtS-steadyEnd {
		t.Errorf("broker-restart: the run waited %.2f s past sending, but the broker only answered %.2f s after it ended", r.RecoveryWaitS, r.ClearedAtS-steadyEnd)
	}
	// The restart did hold deliveries back (the backlog the test is about):
	// at least the cross-node deliveries of the second the broker was down.
	if r.Delayed < 1000 {
		t.Errorf("broker-restart: %d deliveries delayed, want the outage's backlog (over 1000)", r.Delayed)
	}
}
