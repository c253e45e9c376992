package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server"
	"github.com/coder/websocket"
)

// childServerEnv makes the test binary act as a plain server process (see
// TestMain): the idle-memory benchmark needs the server in a process of its
// own, since one process cannot hold both ends of 10,000 sockets under a
// 20,000 open-files limit.
const childServerEnv = "CHATBENCH_TEST_CHILD_SERVER"

// runChildServer serves until stdin closes (the parent exits or is done).
func runChildServer() {
	if _, err := server.RaiseOpenFilesLimit(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", PingInterval: time.Hour, TrimMemoryAfter: trimAfter()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println(srv.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// trimAfter is the child's TrimMemoryAfter: 1s, or
// CHATBENCH_IDLE_TRIM (0 to compare without trimming).
func trimAfter() time.Duration {
	d := time.Second
	if v := os.Getenv("CHATBENCH_IDLE_TRIM"); v != "" {
		d, _ = time.ParseDuration(v)
	}
	return d
}

// BenchmarkIdleConnectionMemory opens CHATBENCH_IDLE_CONNS (default 10,000)
// idle WebSockets to a server in another process and reports its RSS growth
// per connection (KB/conn; the target is at most 10) and Go heap in use per
// connection.
func BenchmarkIdleConnectionMemory(b *testing.B) {
	n := 10_000
	if v := os.Getenv("CHATBENCH_IDLE_CONNS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("CHATBENCH_IDLE_CONNS=%q: %v", v, err)
		}
	}
	if _, err := server.RaiseOpenFilesLimit(); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), childServerEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			b.Errorf("child server: %v", err)
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("child server did not print its address: %v", err)
	}
	addr := strings.TrimSpace(line)
	pid := cmd.Process.Pid

	// Baseline: one connection made and closed, so the HTTP and WebSocket
	// code paths are warm.
	warm, _, err := websocket.Dial(context.Background(), "ws://"+addr+"/ws?user=warm", nil)
	if err != nil {
		b.Fatal(err)
	}
	warm.Close(websocket.StatusNormalClosure, "")
	waitConnections(b, addr, 0)
	rss0, heap0, stack0 := rssKB(b, pid), metric(b, addr, "go_memstats_heap_inuse_bytes"), metric(b, addr, "go_memstats_stack_inuse_bytes")

	conns := make([]*websocket.Conn, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var dialErr error
	sem := make(chan struct{}, 64)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(ctx, fmt.Sprintf("ws://%s/ws?user=u%d&room=r%d", addr, i, i%100), nil)
			if err != nil {
				mu.Lock()
				dialErr = err
				mu.Unlock()
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.CloseNow()
			}
		}
	}()
	if dialErr != nil {
		b.Fatalf("dial: %v", dialErr)
	}
	waitConnections(b, addr, n)
	// Let the server's runtime settle (GC, scavenger) as a long-running
	// server would.
	time.Sleep(3 * time.Second)
	rss1, heap1, stack1 := rssKB(b, pid), metric(b, addr, "go_memstats_heap_inuse_bytes"), metric(b, addr, "go_memstats_stack_inuse_bytes")
	b.ReportMetric(float64(rss1-rss0)/float64(n), "KB/conn")
	b.ReportMetric((heap1-heap0)/1024/float64(n), "heapKB/conn")
	b.ReportMetric((stack1-stack0)/1024/float64(n), "stackKB/conn")
	b.Logf("%d idle connections: server RSS %d -> %d KB, heap in use %.0f -> %.0f KB", n, rss0, rss1, heap0/1024, heap1/1024)
}

func rssKB(b *testing.B, pid int) int64 {
	b.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

func metric(b *testing.B, addr, name string) float64 {
	b.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(body), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == name {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	b.Fatalf("metric %s not found", name)
	return 0
}

func waitConnections(b *testing.B, addr string, n int) {
	b.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for int(metric(b, addr, "chatbench_connections")) != n {
		if time.Now().After(deadline) {
			b.Fatalf("server has %v connections, want %d", metric(b, addr, "chatbench_connections"), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
