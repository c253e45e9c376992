package loadgen_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/results"
	"github.com/chatbench/chatbench/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// procsWorkerEnv makes the test binary act as a `swarm --procs` worker.
const procsWorkerEnv = "LOADGEN_TEST_PROCS_WORKER"

func procsWorker() {
	if err := loadgen.Worker(context.Background(), os.Stdin, os.Stdout, nil); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(2)
	}
	os.Exit(0)
}

func procsOptions(k int) loadgen.ProcsOptions {
	return loadgen.ProcsOptions{Procs: k, Command: func() *exec.Cmd {
		c := exec.Command(os.Args[0], "-test.run=^$")
		c.Env = append(os.Environ(), procsWorkerEnv+"=1")
		return c
	}}
}

func startRefServer(t *testing.T) string {
	t.Helper()
	scfg := server.DefaultConfig()
	scfg.Addr = "127.0.0.1:0"
	srv, err := server.New(scfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv.Addr()
}

// 200 clients over 2 worker processes give the totals of one process: the
// rooms (5, so each has members in both workers) hold members of both, so
// probes cross processes; they count for delivery, and only same-process
// deliveries are timed.
func TestProcsMatchOneProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts processes")
	}
	addr := startRefServer(t)
	cfg := smallRun("ws://" + addr + "/ws?room={{room}}&user={{user}}")
	cfg.Clients, cfg.Rooms, cfg.Senders, cfg.Rate = 200, 5, 20, 5
	cfg.MetricsURLs = []string{"http://" + addr + "/metrics"}
	one := mustRun(t, cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var last loadgen.Status
	cfg.Progress = func(s loadgen.Status) { last = s } // called by RunProcs's own goroutine
	two, err := loadgen.RunProcs(ctx, cfg, procsOptions(2))
	if err != nil {
		t.Fatalf("procs: %v\n%+v", err, two.Summary)
	}
	a, b := one.Summary, two.Summary
	t.Logf("one process: sent %d expected %d delivered %d; two: sent %d expected %d delivered %d timed %d, p99 %.2f ms",
		a.Sent, a.Expected, a.Delivered, b.Sent, b.Expected, b.Delivered, two.Histograms.LatencyDue.TotalCount(), b.LatencyMs.P99)
	if b.Connected != 200 || b.Sent != a.Sent || b.Expected != a.Expected || b.Expected != b.Sent*40 {
		t.Errorf("two processes: connected %d sent %d expected %d; one process: sent %d expected %d (40 receivers per probe)",
			b.Connected, b.Sent, b.Expected, a.Sent, a.Expected)
	}
	if b.Delivered != b.Expected || b.Lost != 0 || b.Duplicated != 0 || b.OutOfOrder != 0 {
		t.Errorf("delivered %d of %d, lost %d, dup %d, ooo %d", b.Delivered, b.Expected, b.Lost, b.Duplicated, b.OutOfOrder)
	}
	// Half of each room is in the other process: those deliveries count, untimed.
	timed := two.Histograms.LatencyDue.TotalCount()
	if timed <= b.Delivered/4 || timed >= b.Delivered*3/4 {
		t.Errorf("%d of %d deliveries timed, want about half (same-process ones)", timed, b.Delivered)
	}
	if two.Config.Clients != 200 || two.Config.Senders != 20 || two.Config.Procs != 2 || two.Runs != 1 || !two.Outcome.OK() {
		t.Errorf("config %+v runs %d outcome %+v", two.Config, two.Runs, two.Outcome)
	}
	// Swarm's cost is both workers' (two processes), divided by every
	// message they received, in every phase: at least the deliveries.
	if sw := two.Swarm; len(sw.Processes) != 2 || sw.Received < b.Delivered || sw.Received != b.Received {
		t.Errorf("swarm cost: %d processes, received %d (summary %d, delivered %d)", len(sw.Processes), sw.Received, b.Received, b.Delivered)
	}
	// The server is read once, by the parent, at every sample.
	if srv := two.Server; len(srv.Processes) != 1 || srv.Processes[0].Error != "" || srv.Processes[0].End == nil || srv.Conns != 200 {
		t.Errorf("server cost not read by the parent: %+v", srv)
	}
	if last.Clients != 200 || last.Connected != 200 || (last.Phase != "grace" && last.Phase != "steady") || last.Elapsed < cfg.Warmup {
		t.Errorf("last progress status %+v, want the sum over both workers: 200 clients connected, at the end", last)
	}
}

// Shards 0/2 and 1/2 (whole rooms each) merge to the totals of one run.
func TestShardsMergeToOneRun(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	addr := startRefServer(t)
	cfg := smallRun("ws://" + addr + "/ws?room={{room}}&user={{user}}")
	cfg.Clients, cfg.Rooms, cfg.Senders, cfg.Rate = 60, 3, 9, 5
	one := mustRun(t, cfg)
	var parts []*results.Result
	for i := 0; i < 2; i++ {
		c := cfg
		c.ShardIndex, c.ShardCount = i, 2
		parts = append(parts, roundTrip(t, mustRun(t, c)))
	}
	if parts[0].Config.Shard != "0/2" || parts[0].Config.Clients != 40 || parts[1].Config.Clients != 20 {
		t.Errorf("shard configs %+v / %+v", parts[0].Config, parts[1].Config)
	}
	m, err := results.Merge(parts...)
	if err != nil {
		t.Fatal(err)
	}
	a, b := one.Summary, m.Summary
	if b.Connected != a.Connected || b.Sent != a.Sent || b.Expected != a.Expected || b.Delivered != a.Delivered ||
		b.Lost != 0 || b.Foreign != 0 || m.Config.Clients != 60 || m.Config.Senders != 9 || m.Config.Shard != "" {
		t.Errorf("merged shards %+v %+v; one run %+v", b, m.Config, a)
	}
	if m.Histograms.LatencyDue.TotalCount() != parts[0].Histograms.LatencyDue.TotalCount()+parts[1].Histograms.LatencyDue.TotalCount() {
		t.Error("merged histogram does not hold both shards' values")
	}
}

func TestShardNeedsRooms(t *testing.T) {
	cfg := smallRun("ws://127.0.0.1:1/ws")
	cfg.ShardIndex, cfg.ShardCount = 0, 2
	_, err := loadgen.Run(context.Background(), cfg)
	var ce *loadgen.ConfigError
	if err == nil || !errors.As(err, &ce) {
		t.Fatalf("one room over two shards: %v, want a ConfigError", err)
	}
}

// Loss across processes: a server that drops every 10th delivery loses 10%
// of what both workers expected, wherever sender and receiver run.
func TestProcsCountLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts processes")
	}
	s := startBcast(t, &bcastServer{dropEvery: 10})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := loadgen.RunProcs(ctx, smallRun(s.url), procsOptions(2))
	if err != nil {
		t.Fatalf("procs: %v", err)
	}
	sm := res.Summary
	t.Logf("sent %d expected %d delivered %d lost %d (%.2f%%); server dropped %d of %d",
		sm.Sent, sm.Expected, sm.Delivered, sm.Lost, sm.LossRatio*100, s.dropped.Load(), s.deliveries.Load())
	if sm.Expected != sm.Sent*20 || sm.Lost > s.dropped.Load() || sm.Duplicated != 0 {
		t.Errorf("sent %d expected %d delivered %d lost %d dup %d; want 20 receivers per probe, no more lost than the server dropped (%d)",
			sm.Sent, sm.Expected, sm.Delivered, sm.Lost, sm.Duplicated, s.dropped.Load())
	}
	if sm.LossRatio < 0.095 || sm.LossRatio > 0.105 {
		t.Errorf("loss %.3f%%, want 10%%", sm.LossRatio*100)
	}
}

// Interrupted in the steady phase, a --procs run stops every worker and
// still returns their merged, partial results.
func TestProcsInterruptIsPartial(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts processes")
	}
	s := startBcast(t, &bcastServer{})
	cfg := smallRun(s.url)
	cfg.Duration = 30 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg.Progress = func(st loadgen.Status) {
		if st.Phase == "steady" && st.Elapsed > cfg.Warmup+300*time.Millisecond {
			cancel()
		}
	}
	start := time.Now()
	res, err := loadgen.RunProcs(ctx, cfg, procsOptions(2))
	if err == nil || res.Outcome.Verdict != results.Partial || res.Summary.Connected != 20 || res.Summary.Sent == 0 {
		t.Fatalf("err %v, outcome %+v, summary %+v", err, res.Outcome, res.Summary)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v to stop", d)
	}
	if res.Summary.Delivered == 0 || res.Summary.Expected < res.Summary.Delivered {
		t.Errorf("expected %d, delivered %d: probes up to the interruption count", res.Summary.Expected, res.Summary.Delivered)
	}
}

// A --procs parent serves swarm's metrics as the sum of its workers'.
func TestProcsServeSummedMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts processes")
	}
	addr := startRefServer(t)
	cfg := smallRun("ws://" + addr + "/ws?room={{room}}&user={{user}}")
	cfg.Clients, cfg.Rooms, cfg.Senders, cfg.Rate = 120, 4, 12, 5
	reg := prometheus.NewRegistry()
	cfg.Metrics = reg
	var maxConns, clients, sends, deliveries, timed float64
	cfg.Progress = func(loadgen.Status) { // RunProcs's goroutine, after storing the worker's snapshot
		mfs, err := reg.Gather()
		if err != nil {
			t.Errorf("gather: %v", err)
			return
		}
		for _, mf := range mfs {
			m := mf.GetMetric()[0]
			switch mf.GetName() {
			case "chatbench_swarm_connections":
				maxConns = max(maxConns, m.GetGauge().GetValue())
			case "chatbench_swarm_clients":
				clients = m.GetGauge().GetValue()
			case "chatbench_swarm_sends_total":
				sends = m.GetCounter().GetValue()
			case "chatbench_swarm_deliveries_total":
				deliveries = m.GetCounter().GetValue()
			case "chatbench_swarm_latency_seconds":
				timed = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := loadgen.RunProcs(ctx, cfg, procsOptions(2))
	if err != nil {
		t.Fatalf("procs: %v", err)
	}
	if maxConns != 120 || clients != 120 {
		t.Errorf("chatbench_swarm_connections peaked at %v, chatbench_swarm_clients %v; want 120 each (both workers' parts of -n 120)", maxConns, clients)
	}
	if sends <= 0 || deliveries <= sends || timed <= 0 || timed > deliveries {
		t.Errorf("sends %v, deliveries %v, timed %v: want the workers' traffic summed", sends, deliveries, timed)
	}
	if res.Summary.Lost != 0 {
		t.Errorf("lost %d", res.Summary.Lost)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
