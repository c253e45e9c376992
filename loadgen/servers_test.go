package loadgen_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/results"
	"github.com/chatbench/chatbench/server"
)

// Against the reference server, in process: no loss, cost scraped from /metrics.
func TestReferenceServer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	scfg := server.DefaultConfig()
	scfg.Addr = "127.0.0.1:0"
	srv, err := server.New(scfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	cfg := smallRun("ws://" + srv.Addr() + "/ws?room={{room}}&user={{user}}")
	cfg.Clients, cfg.Rooms = 40, 2
	cfg.MetricsURLs = []string{"http://" + srv.Addr() + "/metrics"}
	res := mustRun(t, cfg)
	sm := res.Summary
	t.Logf("p50 %.2f p99 %.2f ms, expected %d delivered %d, server %+v", sm.LatencyMs.P50, sm.LatencyMs.P99, sm.Expected, sm.Delivered, res.Server)
	if sm.Lost != 0 || sm.Expected != sm.Sent*20 || sm.Duplicated != 0 || sm.OutOfOrder != 0 {
		t.Errorf("sent %d expected %d lost %d dup %d ooo %d; want 20 receivers per probe, no loss", sm.Sent, sm.Expected, sm.Lost, sm.Duplicated, sm.OutOfOrder)
	}
	// The server shares this test's process, so its figures are not
	// asserted; that it was scraped at every sample is.
	if p := res.Server.Processes; len(p) != 1 || p[0].Source != "prometheus" || p[0].Error != "" || p[0].End == nil || p[0].Identity == "" {
		t.Errorf("server cost not scraped: %+v", res.Server)
	}
}

// The blog's own Python server (FastAPI + uvicorn), unchanged: user name as
// the first frame, raw text broadcast. Its cost is read from /proc.
func TestBlogServer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import fastapi, uvicorn").Run(); err != nil {
		t.Fatalf("/usr/bin/python3 with fastapi and uvicorn is needed (Debian python3-fastapi python3-uvicorn; make test installs them): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command("/usr/bin/python3", "testdata/blog_server.py", "--fd", "3")
	cmd.ExtraFiles = []*os.File{lf}
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lf.Close()
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	// uvicorn says when the app is up.
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "Application startup complete") {
				ready <- true
				signalled = true
			}
		}
		if !signalled {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("uvicorn exited before startup")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("uvicorn did not start in 30 s")
	}
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compression=%v", compress), func(t *testing.T) {
			cfg := smallRun("ws://" + addr + "/ws")
			cfg.Clients, cfg.Rate = 10, 5
			cfg.Hello = "{{user}}"
			cfg.Message = "hi from {{user}}: {{probe}} (end)"
			cfg.ServerPIDs = []int{cmd.Process.Pid}
			cfg.Compression = compress
			res := mustRun(t, cfg)
			sm := res.Summary
			t.Logf("blog server: p50 %.2f p99 %.2f ms; expected %d delivered %d; compression %v; server %s",
				sm.LatencyMs.P50, sm.LatencyMs.P99, sm.Expected, sm.Delivered, res.Environment.Compression, results.CostLine(res.Server, "per delivery", "per connection"))
			if sm.Lost != 0 || sm.Delivered == 0 || sm.Expected != sm.Sent*10 {
				t.Errorf("sent %d expected %d delivered %d lost %d", sm.Sent, sm.Expected, sm.Delivered, sm.Lost)
			}
			if res.Environment.Compression != compress {
				t.Errorf("compression negotiated %v, offered %v (uvicorn accepts permessage-deflate)", res.Environment.Compression, compress)
			}
			if p := res.Server.Processes; len(p) != 1 || p[0].Source != "proc" || p[0].Error != "" || p[0].End == nil {
				t.Errorf("server cost: %+v, want /proc of the python process read at every sample", res.Server)
			}
		})
	}
}

// fakeServeEnv makes the test binary act as `chatbench serve` (the real
// server package) so StartChild can be tested without building chatbench.
const fakeServeEnv = "LOADGEN_TEST_FAKE_SERVE"

func fakeServe() {
	scfg := server.DefaultConfig()
	scfg.Addr = "127.0.0.1:0"
	srv, err := server.New(scfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("chatbench serve: listening on http://%s (backend memory)\n", srv.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := srv.Run(ctx); err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

func TestStartChild(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeServeEnv, "1")
	child, err := loadgen.StartChild(context.Background(), exe, []string{"-test.run=^$"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg := smallRun(child.WSURL("?room={{room}}&user={{user}}"))
	cfg.Clients = 10
	cfg.MetricsURLs = []string{child.BaseURL + "/metrics"}
	res := mustRun(t, cfg)
	if err := child.Stop(); err != nil {
		t.Errorf("child exit: %v", err)
	}
	// 10 connections are too few to divide memory by: not measured, and why.
	sm, mem := res.Summary, res.Server.MemoryPerConn
	if sm.Lost != 0 || len(res.Server.Processes) != 1 || mem.OK() || !strings.Contains(mem.Why, "only 10 connections") {
		t.Errorf("lost %d, server %+v", sm.Lost, res.Server)
	}
}

// Idle sockets answer the reference server's pings and are not dropped as
// half-open.
func TestPingsAnswered(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	scfg := server.DefaultConfig()
	// Pings every 100 ms over a 2 s run, each to be answered within 500 ms:
	// a client that never answers is dropped within the run, and a busy
	// machine (CI runs test packages side by side) has slack for the pong.
	scfg.Addr, scfg.PingInterval, scfg.PingTimeout = "127.0.0.1:0", 100*time.Millisecond, 500*time.Millisecond
	srv, err := server.New(scfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	cfg := smallRun("ws://" + srv.Addr() + "/ws?room={{room}}&user={{user}}")
	cfg.Clients, cfg.Rate, cfg.Duration = 10, 0, 2*time.Second
	res := mustRun(t, cfg)
	if res.Summary.Disconnected != 0 || res.Summary.Connected != 10 {
		t.Fatalf("connected %d, lost %d (%v)", res.Summary.Connected, res.Summary.Disconnected, res.Errors.Disconnect)
	}
}
