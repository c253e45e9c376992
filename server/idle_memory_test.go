package server_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chatbench/chatbench/internal/rlimit"
	"github.com/chatbench/chatbench/server"
	"github.com/coder/websocket"
)

// The idle-memory benchmark runs the server in another process (startChildServer):
// one process cannot hold both ends of 10,000 sockets under a 20,000
// open-files limit.

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
	if _, _, err := rlimit.Raise(); err != nil {
		b.Fatal(err)
	}
	cs := startChildServer(b, config(func(c *server.Config) { c.PingInterval, c.TrimMemoryAfter = time.Hour, trimAfter() }))
	addr := cs.addr

	// Baseline: one connection made and closed, so the HTTP and WebSocket
	// code paths are warm.
	warm, _, err := websocket.Dial(context.Background(), "ws://"+addr+"/ws?user=warm", nil)
	if err != nil {
		b.Fatal(err)
	}
	warm.Close(websocket.StatusNormalClosure, "")
	waitConnections(b, cs, 0)
	rss0, heap0, stack0 := cs.rssKB(b), cs.metric(b, "go_memstats_heap_inuse_bytes"), cs.metric(b, "go_memstats_stack_inuse_bytes")

	conns := openIdle(b, addr, n)
	defer closeAll(conns)
	waitConnections(b, cs, n)
	// Let the server's runtime settle (GC, scavenger) as a long-running
	// server would.
	time.Sleep(3 * time.Second)
	rss1, heap1, stack1 := cs.rssKB(b), cs.metric(b, "go_memstats_heap_inuse_bytes"), cs.metric(b, "go_memstats_stack_inuse_bytes")
	b.ReportMetric(float64(rss1-rss0)/float64(n), "KB/conn")
	b.ReportMetric((heap1-heap0)/1024/float64(n), "heapKB/conn")
	b.ReportMetric((stack1-stack0)/1024/float64(n), "stackKB/conn")
	b.Logf("%d idle connections: server RSS %d -> %d KB, heap in use %.0f -> %.0f KB", n, rss0, rss1, heap0/1024, heap1/1024)
}

// openIdle opens n WebSockets to addr (64 at a time) in 100 rooms.
func openIdle(t testing.TB, addr string, n int) []*websocket.Conn {
	t.Helper()
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
	if dialErr != nil {
		closeAll(conns)
		t.Fatalf("dial: %v", dialErr)
	}
	return conns
}

func closeAll(conns []*websocket.Conn) {
	for _, c := range conns {
		if c != nil {
			c.CloseNow()
		}
	}
}

// waitConnections waits (bounded) until the child server has n connections.
func waitConnections(b testing.TB, cs *childServer, n int) {
	b.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for int(cs.metric(b, "chatbench_connections")) != n {
		if time.Now().After(deadline) {
			b.Fatalf("server has %v connections, want %d", cs.metric(b, "chatbench_connections"), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
