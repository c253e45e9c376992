package loadgen_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/results"
)

// runShardsStaggered runs the two shards of cfg at once in this process,
// the second started lag after the first (as pods of one Job start
// apart), and returns their results merged.
func runShardsStaggered(t *testing.T, cfg loadgen.Config, lag time.Duration) (*results.Result, []*results.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	parts := make([]*results.Result, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range parts {
		c := cfg
		c.ShardIndex, c.ShardCount = i, 2
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 1 {
				time.Sleep(lag) // the second pod starts later: this is the load's shape, not a wait for a signal
			}
			parts[i], errs[i] = loadgen.Run(ctx, c)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil || !parts[i].Outcome.OK() {
			t.Fatalf("shard %d: %v %+v", i, err, parts[i].Outcome)
		}
	}
	m, err := results.Merge(parts...)
	if err != nil {
		t.Fatal(err)
	}
	return m, parts
}

// Two shards whose processes start 400 ms apart send together when given
// one --start-at, and the merged results say how far apart they started;
// without it they start 400 ms apart, and the results say that too.
func TestStartAtAlignsShards(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	addr := startRefServer(t)
	cfg := smallRun("ws://" + addr + "/ws?room={{room}}&user={{user}}")
	cfg.Clients, cfg.Rooms, cfg.Senders, cfg.Rate = 40, 4, 8, 5
	cfg.Warmup, cfg.Duration, cfg.Grace = 0, 500*time.Millisecond, 500*time.Millisecond
	const lag = 400 * time.Millisecond

	free, _ := runShardsStaggered(t, cfg, lag)
	if s := free.Config.SendStartSpreadS; s < 0.3 || s > 1 {
		t.Errorf("without --start-at, shards started 400 ms apart: spread %.3f s, want about 0.4", s)
	}

	cfg.StartAt = time.Now().Add(1500 * time.Millisecond).Truncate(time.Millisecond)
	m, parts := runShardsStaggered(t, cfg, lag)
	for i, p := range parts {
		late := p.Config.SendStartedAt.Sub(cfg.StartAt)
		if !p.Config.StartAt.Equal(cfg.StartAt) || late < 0 || late > 250*time.Millisecond {
			t.Errorf("shard %d: asked %v, started sending %v (%v after); want at the asked instant", i, p.Config.StartAt, p.Config.SendStartedAt, late)
		}
		for _, n := range p.Notes {
			if strings.Contains(n, "after --start-at") {
				t.Errorf("shard %d ramped in time but says: %s", i, n)
			}
		}
	}
	lo, hi := parts[0].Config.SendStartedAt, parts[1].Config.SendStartedAt
	if hi.Before(lo) {
		lo, hi = hi, lo
	}
	if !m.Config.SendStartedAt.Equal(lo) || m.Config.SendStartSpreadS != hi.Sub(lo).Seconds() || m.Config.SendStartSpreadS > 0.25 {
		t.Errorf("merged: started %v, spread %v s; shards started %v and %v", m.Config.SendStartedAt, m.Config.SendStartSpreadS, lo, hi)
	}
	if !strings.Contains(strings.Join(m.Notes, "\n"), "the 2 merged parts (shards or workers) started sending within") {
		t.Errorf("merged notes do not give the spread: %q", m.Notes)
	}
	if m.Summary.Delivered != m.Summary.Expected || m.Summary.Expected == 0 {
		t.Errorf("merged: delivered %d of %d", m.Summary.Delivered, m.Summary.Expected)
	}
}

// A shard still ramping at --start-at starts sending when its ramp is
// over, and its results say how late.
func TestStartAtLateRampSaysSo(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	addr := startRefServer(t)
	cfg := smallRun("ws://" + addr + "/ws?room={{room}}&user={{user}}")
	cfg.Clients, cfg.Ramp = 20, 40 // half a second of ramp
	cfg.Warmup, cfg.Duration = 0, 300*time.Millisecond
	cfg.StartAt = time.Now().Add(50 * time.Millisecond)
	res := mustRun(t, cfg)
	late := res.Config.SendStartedAt.Sub(cfg.StartAt)
	if late < 300*time.Millisecond {
		t.Errorf("sending started %v after --start-at with a 500 ms ramp; want the ramp's end", late)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "after --start-at") {
		t.Errorf("a late start is not noted: %q", res.Notes)
	}
}

// Worker processes of a --procs run start sending at --start-at too.
func TestStartAtProcs(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts processes")
	}
	addr := startRefServer(t)
	cfg := smallRun("ws://" + addr + "/ws?room={{room}}&user={{user}}")
	cfg.Warmup, cfg.Duration = 0, 300*time.Millisecond
	cfg.StartAt = time.Now().Add(2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := loadgen.RunProcs(ctx, cfg, procsOptions(2))
	if err != nil || !res.Outcome.OK() {
		t.Fatalf("procs: %v %+v", err, res.Outcome)
	}
	if late := res.Config.SendStartedAt.Sub(cfg.StartAt); late < 0 || late > 250*time.Millisecond {
		t.Errorf("workers started sending %v after --start-at; want at it", late)
	}
}
