package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server"
	"github.com/chatbench/chatbench/server/wstest"
	"github.com/coder/websocket"
)

// childServer is a server in a process of its own (the test binary
// re-executed, see init in abuse_test.go): its goroutines, RSS and open
// files are its own.
type childServer struct {
	addr  string
	pid   int
	stdin io.Writer
	out   *bufio.Reader
}

// gcRSSKB collects the child's garbage, returns it to the OS and reads its
// RSS.
func (cs *childServer) gcRSSKB(t testing.TB) int64 {
	t.Helper()
	if _, err := io.WriteString(cs.stdin, "gc\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := cs.out.ReadString('\n'); err != nil || strings.TrimSpace(line) != "gc done" {
		t.Fatalf("child gc: %q %v", line, err)
	}
	return cs.rssKB(t)
}

func startChildServer(t testing.TB, cfg server.Config) *childServer {
	t.Helper()
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childAbuseServerEnv+"="+string(js))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("child server: %v", err)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("child server did not stop within 15 s")
		}
	})
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("child server did not print its address: %v", err)
	}
	return &childServer{addr: strings.TrimSpace(line), pid: cmd.Process.Pid, stdin: stdin, out: out}
}

// metric reads one unlabelled sample (or the sum of a labelled one's
// samples matching prefix) from the child's /metrics.
func (cs *childServer) metric(t testing.TB, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + cs.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, l := range strings.Split(string(body), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == name {
			v, _ := strconv.ParseFloat(f[1], 64)
			sum += v
		}
	}
	return sum
}

func (cs *childServer) rssKB(t testing.TB) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cs.pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// settledGoroutines waits until the child's goroutine count is at most
// limit (bounded), and returns the last count seen.
func (cs *childServer) settledGoroutines(t testing.TB, limit float64, within time.Duration) float64 {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		g := cs.metric(t, "go_goroutines")
		if g <= limit || time.Now().After(deadline) {
			return g
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startRealClients joins n real clients to room (see wstest.Room); they are
// closed at the end of the test.
func startRealClients(t *testing.T, addr, room string, n, senders int, period time.Duration, pad int) *wstest.Room {
	t.Helper()
	r, err := wstest.JoinRoom(context.Background(), fmt.Sprintf("ws://%s/ws?room=%s", addr, room), n, senders, period, pad)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// checkRoom stops the real clients, verifies every member got every
// message and that their p99 latency is under p99Bound, and returns what
// they measured.
func checkRoom(t *testing.T, r *wstest.Room, p99Bound time.Duration) wstest.RoomResult {
	t.Helper()
	res := r.Stop()
	for i, got := range res.Got {
		if got != res.Sent {
			t.Errorf("real client %d got %d of %d messages", i, got, res.Sent)
		}
	}
	if res.Errors != 0 {
		t.Errorf("%d real clients failed", res.Errors)
	}
	if len(res.Latencies) == 0 {
		t.Fatal("no message delivered to the real clients")
	}
	p99 := res.P(0.99)
	t.Logf("real clients: %d messages × %d members, latency p50 %v p99 %v max %v", res.Sent, len(res.Got),
		res.P(0.5).Round(time.Microsecond), p99.Round(time.Microsecond), res.P(1).Round(time.Microsecond))
	if p99 >= p99Bound {
		t.Errorf("real clients' p99 %v, want < %v", p99, p99Bound)
	}
	return res
}

// TestConnectionStormOfMalformedUpgrades: 4,000 malformed upgrade requests
// (no Upgrade header, bad Sec-WebSocket-Key, wrong version, oversized
// headers) each get a 4xx, 200 slowloris requests trickling their headers
// are cut off by ReadHeaderTimeout, the real clients in a room meanwhile get
// every message with p99 < 250 ms (2.5 s under -race), and afterwards the
// server's goroutines return to the baseline (+5; measured before any
// client) and its RSS, after a GC, to within 16 MB of it (not checked under
// -race, whose shadow memory stays).
func TestConnectionStormOfMalformedUpgrades(t *testing.T) {
	if testing.Short() {
		t.Skip("storm of 4,200 connections")
	}
	const (
		perKind       = 1000
		slowloris     = 200
		headerTimeout = 500 * time.Millisecond
		goroutineSlop = 5
		rssSlopKB     = 16 << 10
	)
	cs := startChildServer(t, config(func(c *server.Config) { c.ReadHeaderTimeout, c.PingInterval = headerTimeout, time.Hour }))
	// Baseline: the server warmed by one connection, before any client.
	warm, _, err := websocket.Dial(context.Background(), "ws://"+cs.addr+"/ws?user=warm", nil)
	if err != nil {
		t.Fatal(err)
	}
	warm.Close(websocket.StatusNormalClosure, "")
	g0 := cs.settledGoroutines(t, 0, 300*time.Millisecond)
	rss0 := cs.gcRSSKB(t)
	real := startRealClients(t, cs.addr, "real", 5, 1, 20*time.Millisecond, 0)
	// The storm's peak, sampled while it runs.
	var peak atomic.Int64
	stopPeak := make(chan struct{})
	peakDone := make(chan struct{})
	go func() {
		defer close(peakDone)
		for {
			if g := int64(cs.metric(t, "go_goroutines")); g > peak.Load() {
				peak.Store(g)
			}
			select {
			case <-stopPeak:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()

	key := "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	upg := "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	kinds := map[string]string{
		"no_upgrade":    "GET /ws HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Version: 13\r\n" + key + "\r\n",
		"bad_key":       "GET /ws HTTP/1.1\r\nHost: h\r\n" + upg + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: not-base64-16\r\n\r\n",
		"wrong_version": "GET /ws HTTP/1.1\r\nHost: h\r\n" + upg + "Sec-WebSocket-Version: 8\r\n" + key + "\r\n",
		"huge_headers":  "GET /ws HTTP/1.1\r\nHost: h\r\n" + upg + "Sec-WebSocket-Version: 13\r\n" + key + "X-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n",
	}
	var mu sync.Mutex
	statuses := map[string]map[int]int{} // kind -> status -> count
	var bad []string
	record := func(kind string, status int, err error) {
		mu.Lock()
		defer mu.Unlock()
		if statuses[kind] == nil {
			statuses[kind] = map[int]int{}
		}
		statuses[kind][status]++
		if err != nil && len(bad) < 5 {
			bad = append(bad, fmt.Sprintf("%s: %v", kind, err))
		}
	}

	var wg sync.WaitGroup
	// Slowloris: headers trickled one short line every 100 ms, never ended.
	slowCut := make(chan time.Duration, slowloris)
	for range slowloris {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Timed from before the dial: the server's timer starts at
			// accept, so the cut can never come sooner than this measures
			// (a start taken after Dial could be late by a descheduling).
			start := time.Now()
			nc, err := net.Dial("tcp", cs.addr)
			if err != nil {
				record("slowloris", -1, err)
				return
			}
			defer nc.Close()
			_ = nc.SetDeadline(start.Add(10 * time.Second))
			if _, err := io.WriteString(nc, "GET /ws HTTP/1.1\r\nHost: h\r\n"); err != nil {
				record("slowloris", -1, err)
				return
			}
			closed := make(chan struct{})
			go func() {
				defer close(closed)
				_, _ = io.Copy(io.Discard, nc) // ends when the server closes
			}()
			for i := 0; ; i++ {
				select {
				case <-closed:
					slowCut <- time.Since(start)
					record("slowloris", 0, nil)
					return
				case <-time.After(100 * time.Millisecond):
				}
				if _, err := fmt.Fprintf(nc, "X-%d: y\r\n", i); err != nil {
					<-closed
					slowCut <- time.Since(start)
					record("slowloris", 0, nil)
					return
				}
			}
		}()
	}
	// The malformed requests, 32 at a time.
	sem := make(chan struct{}, 32)
	for kind, req := range kinds {
		for range perKind {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				nc, err := net.Dial("tcp", cs.addr)
				if err != nil {
					record(kind, -1, err)
					return
				}
				defer nc.Close()
				_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.WriteString(nc, req); err != nil && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
					record(kind, -1, err)
					return
				}
				resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
				if err != nil {
					record(kind, -1, err)
					return
				}
				resp.Body.Close()
				record(kind, resp.StatusCode, nil)
			}()
		}
	}
	wg.Wait()
	close(stopPeak)
	<-peakDone
	close(slowCut)
	checkRoom(t, real, raceSlowdown*250*time.Millisecond)

	for kind := range kinds {
		for status, n := range statuses[kind] {
			if status < 400 || status > 499 {
				t.Errorf("%s: %d requests answered %d, want 4xx", kind, n, status)
			}
		}
	}
	var cuts []time.Duration
	for d := range slowCut {
		cuts = append(cuts, d)
	}
	slices.Sort(cuts)
	if len(cuts) != slowloris {
		t.Errorf("%d of %d slowloris connections cut off", len(cuts), slowloris)
	} else if cuts[0] < headerTimeout || cuts[len(cuts)-1] > headerTimeout+raceSlowdown*time.Second {
		t.Errorf("slowloris cut off after %v..%v, want about ReadHeaderTimeout %v", cuts[0], cuts[len(cuts)-1], headerTimeout)
	}
	if len(bad) > 0 {
		t.Errorf("failed requests: %v", bad)
	}
	g1 := cs.settledGoroutines(t, g0+goroutineSlop, 10*time.Second)
	rss1 := cs.gcRSSKB(t)
	t.Logf("statuses %v; slowloris cut after %v..%v; goroutines %v, peak %d in the storm, %v after (slop %d); RSS %d -> %d KB (slop %d KB)",
		statuses, cuts[0].Round(time.Millisecond), cuts[len(cuts)-1].Round(time.Millisecond), g0, peak.Load(), g1, goroutineSlop, rss0, rss1, rssSlopKB)
	if peak.Load() < int64(g0)+slowloris/2 {
		t.Errorf("goroutine peak %d during the storm, baseline %v: the storm did not reach the server", peak.Load(), g0)
	}
	if g1 > g0+goroutineSlop {
		t.Errorf("goroutines %v after the storm, baseline %v: leaked", g1, g0)
	}
	if raceEnabled {
		t.Logf("RSS bound not checked: the race detector's shadow memory is not returned")
	} else if rss1 > rss0+rssSlopKB {
		t.Errorf("RSS %d KB after the storm, baseline %d KB: more than %d KB above", rss1, rss0, rssSlopKB)
	}
}
