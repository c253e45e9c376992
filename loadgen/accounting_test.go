package loadgen_test

import (
	"context"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/results"
)

// Accounting against known truth: swarm runs against the truth server
// (truthserver_test.go), which injects faults and counts, from what it wrote
// to each connection, what swarm must report. Every count must equal the
// truth exactly.
//
// All clients connect in the ramp, before the first probe is due, and nobody
// leaves, so a probe's expected receivers are its whole room. Warmup is 0, so
// every probe the server sees is a steady-phase probe and counts. Grace is
// long enough for everything written to arrive (loopback, copies held at most
// holdMax). A run without loss ends its grace as soon as the last expected
// copy arrives, so a surplus copy (duplicate, misroute, echo) still in flight
// then would be written and never read: every test with surplus copies also
// loses some, and its grace runs to the end.

// accountingConfig is the load of the accounting tests: 80 clients in 4
// rooms of 20, 8 senders (2 per room) at 20 probes/s for 2.5 s.
func accountingConfig() loadgen.Config {
	return loadgen.Config{Clients: 80, Rooms: 4, Senders: 8, Rate: 20, Size: 100, Ramp: 2000,
		Warmup: 0, Duration: 2500 * time.Millisecond, Grace: 3 * time.Second}
}

// runAccounting runs cfg against a truth server with faults f, checks that
// the run is valid and that swarm's counts equal the truth, and returns the
// truth, swarm's counts and the server (shut down) for the test's own checks.
func runAccounting(t *testing.T, f faults, cfg loadgen.Config) (want, got truth, s *truthServer) {
	t.Helper()
	return runAccountingWith(t, f, cfg, loadgen.Run)
}

// runAccountingWith is runAccounting with the run made by run (loadgen.Run,
// or RunProcs over worker processes).
func runAccountingWith(t *testing.T, f faults, cfg loadgen.Config, run func(context.Context, loadgen.Config) (*results.Result, error)) (want, got truth, s *truthServer) {
	t.Helper()
	s = startTruth(t, f)
	cfg.URLs = []string{s.url}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := run(ctx, cfg)
	s.shutdown()
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	checkValid(t, s, cfg)
	want = s.truth(cfg.NoEcho, allDue)
	got = fromSummary(res.Summary)
	t.Logf("faults %+v injected %+v", f, s.inj)
	frames, fragmented, batched := s.frameCounts()
	t.Logf("frames written %d, messages fragmented %d, frames batched %d", frames, fragmented, batched)
	t.Logf("truth: %v (loss %.2f%%)", want, pct(want.Lost, want.Expected))
	t.Logf("swarm: %v (loss %.2f%%)", got, pct(got.Lost, got.Expected))
	if w := res.Config.WarmupS; w > 0 {
		// swarm ran a warmup: what the truth is over the steady window it
		// used, to tell that defect from the others.
		from := s.firstDue() + int64(w*1e9)
		win := s.truth(cfg.NoEcho, dueWindow{from, from + int64(res.Config.DurationS*1e9)})
		t.Logf("swarm ran warmup %.1f s, not 0: truth over its own steady window: %v; swarm off by:%s", w, win, got.diff(win))
	}
	if d := got.diff(want); d != "" {
		t.Errorf("swarm's counts differ from the truth:%s", d)
	}
	return want, got, s
}

// checkValid stops the test when the run is not the one the truth assumes.
func checkValid(t *testing.T, s *truthServer, cfg loadgen.Config) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bad != 0 || s.overflow != 0 || len(s.conns) != cfg.Clients {
		t.Fatalf("invalid run: %d bad messages, %d copies over a full queue, %d of %d clients connected",
			s.bad, s.overflow, len(s.conns), cfg.Clients)
	}
	for k, p := range s.probes {
		if len(p.members) != len(s.rooms[p.room]) {
			t.Fatalf("probe %v was broadcast to %d members of %s, which has %d: a client joined while probes were sent",
				k, len(p.members), p.room, len(s.rooms[p.room]))
		}
	}
}

func (s *truthServer) firstDue() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := int64(-1)
	for _, p := range s.probes {
		if first < 0 || p.due < first {
			first = p.due
		}
	}
	return first
}

func (s *truthServer) frameCounts() (frames, fragmented, batched int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.mu.Lock()
		frames, fragmented, batched = frames+c.frames, fragmented+c.fragmented, batched+c.batched
		c.mu.Unlock()
	}
	return frames, fragmented, batched
}

func pct(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) * 100 / float64(b)
}

// fired stops a test whose faults did not show in the truth: it would test nothing.
func fired(t *testing.T, what string, ok bool) {
	t.Helper()
	if !ok {
		t.Fatalf("the faults did not produce %s: the test is void", what)
	}
}

// The case: 5% of copies dropped, and at 5% per copy the member is
// sent again a probe it was sent before. Surplus copies must neither count
// as deliveries nor pay for a missing copy elsewhere.
func TestAccountingDropAndOlderDuplicate(t *testing.T) {
	t.Parallel()
	want, _, _ := runAccounting(t, faults{Drop: 0.05, DupOlder: 0.05, Seed: 1}, accountingConfig())
	fired(t, "loss and duplicates", want.Lost > 0 && want.Duplicated > 0)
}

// 5% of members' copies go to another member of the same room instead.
func TestAccountingSwapWithinRoom(t *testing.T) {
	t.Parallel()
	want, _, _ := runAccounting(t, faults{Swap: 0.05, Seed: 2}, accountingConfig())
	fired(t, "loss and duplicates", want.Lost > 0 && want.Duplicated > 0)
}

// 5% of copies also go to a client of another room: misrouted, never a delivery.
func TestAccountingMisrouted(t *testing.T) {
	t.Parallel()
	want, _, _ := runAccounting(t, faults{Misroute: 0.05, Drop: 0.02, Seed: 3}, accountingConfig())
	fired(t, "misroutes", want.Misrouted > 0 && want.Lost > 0)
}

// 10% of copies are held back and written after the member's next copy.
// One sender per room, so the next copy is usually the same sender's next
// probe and the held one arrives out of order.
func TestAccountingReorder(t *testing.T) {
	t.Parallel()
	cfg := accountingConfig()
	cfg.Senders = 4
	want, _, _ := runAccounting(t, faults{Reorder: 0.10, Seed: 4}, cfg)
	fired(t, "out-of-order deliveries", want.OutOfOrder > 0)
}

// Every message goes out as a text frame and 1 or 2 continuation frames,
// cut inside the probe: a reader must reassemble them.
func TestAccountingFragmented(t *testing.T) {
	t.Parallel()
	want, _, s := runAccounting(t, faults{Fragment: 1, Seed: 5}, accountingConfig())
	_, fragmented, _ := s.frameCounts()
	fired(t, "fragmented deliveries", fragmented > 0 && int64(fragmented) == want.Delivered)
}

// Every frame carries 2 to 5 messages.
func TestAccountingBatched(t *testing.T) {
	t.Parallel()
	want, _, s := runAccounting(t, faults{BatchMax: 5, Seed: 6}, accountingConfig())
	_, _, batched := s.frameCounts()
	fired(t, "batched frames", batched > 0 && want.Delivered > 0)
}

// With NoEcho the sender is not an expected receiver: against a server that
// does not echo nothing is missing, against one that does the echo is an
// unexpected copy, not a delivery (and never pays for a dropped copy).
func TestAccountingNoEcho(t *testing.T) {
	t.Parallel()
	cfg := accountingConfig()
	cfg.NoEcho = true
	t.Run("server does not echo", func(t *testing.T) {
		want, _, _ := runAccounting(t, faults{NoEcho: true, Seed: 7}, cfg)
		fired(t, "deliveries", want.Delivered > 0 && want.Expected == want.Sent*19)
	})
	t.Run("server echoes", func(t *testing.T) {
		want, _, _ := runAccounting(t, faults{Drop: 0.03, Seed: 8}, cfg)
		fired(t, "unexpected copies", want.Unexpected > 0 && want.Lost > 0)
	})
}

// Every fault at once, the older copies also from the room's history (a
// probe whose first copy was dropped, resent later, is a late delivery).
func TestAccountingAllFaults(t *testing.T) {
	t.Parallel()
	f := faults{Drop: 0.03, Swap: 0.02, DupNow: 0.03, DupOlder: 0.03, Resend: 0.02, Reorder: 0.05,
		Misroute: 0.03, Fragment: 0.3, BatchMax: 3, Seed: 9}
	want, _, _ := runAccounting(t, f, accountingConfig())
	fired(t, "every kind of count", want.Lost > 0 && want.Duplicated > 0 && want.Misrouted > 0 && want.OutOfOrder > 0)
}

// Every fault at once, with the clients split over two worker processes:
// each probe has receivers in both, and the parent's tally of the workers'
// accounts equals the truth as exactly as one process's.
func TestAccountingAllFaultsAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts processes")
	}
	t.Parallel()
	f := faults{Drop: 0.03, Swap: 0.02, DupNow: 0.03, DupOlder: 0.03, Resend: 0.02, Reorder: 0.05,
		Misroute: 0.03, Fragment: 0.3, BatchMax: 3, Seed: 10}
	procs := func(ctx context.Context, cfg loadgen.Config) (*results.Result, error) {
		return loadgen.RunProcs(ctx, cfg, procsOptions(2))
	}
	want, _, _ := runAccountingWith(t, f, accountingConfig(), procs)
	fired(t, "every kind of count", want.Lost > 0 && want.Duplicated > 0 && want.Misrouted > 0 && want.OutOfOrder > 0)
}

// Rooms of unequal size (a weighted distribution: rooms of 2, 5 and 20),
// talkers shared out by room size, with loss, duplicates and misroutes:
// exact as with equal rooms.
func TestAccountingWeightedRooms(t *testing.T) {
	t.Parallel()
	cfg := accountingConfig()
	cfg.Rooms, cfg.Senders = 0, 12
	cfg.RoomWeights = []loadgen.RoomShare{{Size: 2, Share: 0.25}, {Size: 5, Share: 0.25}, {Size: 20, Share: 0.5}}
	want, _, _ := runAccounting(t, faults{Drop: 0.04, DupNow: 0.03, Misroute: 0.03, Seed: 11}, cfg)
	fired(t, "loss, duplicates and misroutes", want.Lost > 0 && want.Duplicated > 0 && want.Misrouted > 0)
}

// Poisson arrivals in two phases (a hold and a spike at four times the
// rate), messages of two sizes, with loss and duplicates: exact.
func TestAccountingPoissonPhases(t *testing.T) {
	t.Parallel()
	cfg := accountingConfig()
	cfg.Duration, cfg.Arrivals = 0, loadgen.Poisson
	cfg.Phases = []loadgen.Phase{{Name: "hold", Duration: 1500 * time.Millisecond, Rate: 10}, {Name: "spike", Duration: time.Second, Rate: 40}}
	cfg.Sizes = []loadgen.SizeShare{{Bytes: 100, Share: 0.8}, {Bytes: 600, Share: 0.2}}
	var res *results.Result
	want, _, _ := runAccountingWith(t, faults{Drop: 0.04, DupOlder: 0.03, Seed: 12}, cfg, func(ctx context.Context, c loadgen.Config) (*results.Result, error) {
		r, err := loadgen.Run(ctx, c)
		res = r
		return r, err
	})
	fired(t, "loss and duplicates", want.Lost > 0 && want.Duplicated > 0)
	// The results say the messages' mean size: 0.8 × 100 B + 0.2 × 600 B.
	if res == nil || res.Config.MeanSizeBytes != 200 {
		t.Errorf("mean size recorded: %+v, want 200 B", res)
	}
	// 8 talkers: 1.5 s at 10/s and 1 s at 40/s is about 8 × 55 probes.
	if want.Sent < 300 || want.Sent > 600 {
		t.Errorf("%d probes sent, want about 440 (8 talkers, 15 + 40 each)", want.Sent)
	}
}

// No faults: every probe reaches its whole room once, in order.
func TestAccountingControl(t *testing.T) {
	t.Parallel()
	want, got, _ := runAccounting(t, faults{Seed: 10}, accountingConfig())
	fired(t, "deliveries", want.Sent > 0)
	for who, c := range map[string]truth{"truth": want, "swarm": got} {
		if c.Delivered != c.Sent*20 || c.Expected != c.Sent*20 || c.Lost != 0 || c.Duplicated != 0 ||
			c.Misrouted != 0 || c.Unexpected != 0 || c.OutOfOrder != 0 {
			t.Errorf("%s is not a fault-free run of rooms of 20: %v", who, c)
		}
	}
}
