package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server"
	"github.com/chatbench/chatbench/server/wstest"
)

const upgradeHeaders = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

// TestRequestsWithABodyAreRefusedAtOnce: no route takes a body, so a
// request that announces one is answered 400 and closed at once, whether
// the body never comes, trickles, or is chunked; nothing waits for it.
func TestRequestsWithABodyAreRefusedAtOnce(t *testing.T) {
	ts := startServer(t, config(nil))
	reqs := map[string]string{
		"upgrade, body never sent":   "GET /ws?user=b HTTP/1.1\r\nHost: h\r\n" + upgradeHeaders + "Content-Length: 1\r\n\r\n",
		"healthz, body never sent":   "GET /healthz HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n",
		"healthz, body trickled":     "GET /healthz HTTP/1.1\r\nHost: h\r\nContent-Length: 200000\r\n\r\nx",
		"upgrade, chunked, unfinish": "GET /ws?user=c HTTP/1.1\r\nHost: h\r\n" + upgradeHeaders + "Transfer-Encoding: chunked\r\n\r\n1\r\n",
	}
	for name, req := range reqs {
		nc, err := net.Dial("tcp", ts.Addr())
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := io.WriteString(nc, req); err != nil {
			t.Fatal(err)
		}
		_ = nc.SetReadDeadline(start.Add(5 * time.Second))
		br := bufio.NewReader(nc)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		_, eof := br.ReadByte() // the server closes the connection
		took := time.Since(start)
		nc.Close()
		if resp.StatusCode != http.StatusBadRequest || eof == nil || took > time.Second {
			t.Errorf("%s: status %d, then %v, after %v; want 400, the connection closed, within 1 s", name, resp.StatusCode, eof, took)
		}
	}
	if n := counter(t, ts, "chatbench_connections_rejected_total", "reason", "request_body"); n != float64(len(reqs)) {
		t.Errorf("rejected{request_body} = %v, want %d", n, len(reqs))
	}
}

// slowloris opens a connection and sends the start of a request that never
// ends; it is closed at the end of the test.
func slowloris(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if _, err := io.WriteString(nc, "GET /healthz HTTP/1.1\r\nHost: h\r\n"); err != nil {
		t.Fatal(err)
	}
	return nc
}

func healthz(addr string) error {
	c := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// TestPendingBudgetEvictsTheOldestStalledConnection: with MaxPending 8
// taken by connections that stall in their headers (ReadHeaderTimeout is
// long), a real request waits until the oldest has been pending a second,
// which is then closed to make room; a burst of 40 real upgrades, all
// young, waits its turn and none is refused or evicted.
func TestPendingBudgetEvictsTheOldestStalledConnection(t *testing.T) {
	const budget = 8
	ts := startServer(t, config(func(c *server.Config) { c.MaxPending, c.ReadHeaderTimeout = budget, time.Minute }))
	var stalled []net.Conn
	for range budget {
		stalled = append(stalled, slowloris(t, ts.Addr()))
	}
	waitFor(t, "8 pending", func() bool { return counter(t, ts, "chatbench_pending_connections") == budget })
	opened := time.Now()
	if err := healthz(ts.Addr()); err != nil {
		t.Fatalf("real request with the budget taken: %v", err)
	}
	took := time.Since(opened)
	t.Logf("a real request with %d stalled connections pending took %v", budget, took.Round(time.Millisecond))
	if took < 900*time.Millisecond || took > 2500*time.Millisecond {
		t.Errorf("served after %v, want after the oldest was a second old (0.9..2.5 s)", took)
	}
	if n := counter(t, ts, "chatbench_pending_evicted_total"); n != 1 {
		t.Errorf("%v evicted, want 1", n)
	}
	_ = stalled[0].SetReadDeadline(time.Now().Add(time.Second))
	if _, err := stalled[0].Read(make([]byte, 1)); err == nil {
		t.Errorf("the oldest stalled connection is still open")
	}

	// A burst of young upgrades waits for slots; none is turned away.
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, _, err := wstest.Upgrade(&net.Dialer{}, ts.Addr(), fmt.Sprintf("user=burst%d", i))
			if err != nil {
				errs <- err
				return
			}
			nc.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("burst upgrade: %v", err)
	}
	if n := counter(t, ts, "chatbench_pending_evicted_total"); n > budget+1 {
		t.Errorf("%v evicted after the burst: only the stalled ones may be", n)
	}
}

// TestMaxConnsCountsUpgradedConnectionsOnly: requests stalled before their
// upgrade hold no --max-conns slot; with MaxConns 10, 50 concurrent
// upgrades leave exactly 10 open, and each of the other 40 is refused
// (503) or, if it raced past the check, closed with 1013; all 40 counted.
func TestMaxConnsCountsUpgradedConnectionsOnly(t *testing.T) {
	const maxConns, attempts = 10, 50
	ts := startServer(t, config(func(c *server.Config) { c.MaxConns = maxConns }))
	for range 2 * maxConns {
		slowloris(t, ts.Addr())
	}
	var mu sync.Mutex
	outcome := map[string]int{}
	var wg sync.WaitGroup
	for i := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, br, err := wstest.Upgrade(&net.Dialer{}, ts.Addr(), fmt.Sprintf("user=u%d&room=cap", i))
			kind := "open"
			switch {
			case err != nil && strings.Contains(err.Error(), "status 503"):
				kind = "503"
			case err != nil:
				kind = err.Error()
			default:
				t.Cleanup(func() { nc.Close() })
				_ = nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				if f, err := wstest.ReadFrame(br); err == nil {
					kind = fmt.Sprintf("close %d", f.CloseCode())
				}
			}
			mu.Lock()
			outcome[kind]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("%d upgrades with MaxConns %d and %d requests stalled in their headers: %v", attempts, maxConns, 2*maxConns, outcome)
	if outcome["open"] != maxConns || outcome["503"]+outcome["close 1013"] != attempts-maxConns {
		t.Errorf("outcomes %v, want %d open and the rest 503 or close 1013", outcome, maxConns)
	}
	if n := counter(t, ts, "chatbench_connections_rejected_total", "reason", "max_conns"); n != attempts-maxConns {
		t.Errorf("rejected{max_conns} = %v, want %d", n, attempts-maxConns)
	}
}
