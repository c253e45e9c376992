package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatbench/chatbench/internal/rlimit"

	"github.com/chatbench/chatbench/server"
	"github.com/chatbench/chatbench/server/wstest"
	"github.com/coder/websocket"
)

// rawUpgrade upgrades a raw connection to addr (see wstest.Upgrade), for
// clients that write or read at the byte level: a flooder, a consumer that
// never reads. It fails the test unless the answer is 101.
func rawUpgrade(t testing.TB, d *net.Dialer, addr, query string) net.Conn {
	t.Helper()
	nc, _, err := wstest.Upgrade(d, addr, query)
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

// TestFlooderIsRateLimitedAndOthersKeepTheirLatency: one client writes
// messages as fast as the socket takes them while 20 normal clients exchange
// probes in the same room. The flooder's accepted messages must match the
// token bucket (rate × time + burst), the excess is counted, and the normal
// clients lose nothing and keep p99 under 100 ms (not checked under -race).
func TestFlooderIsRateLimitedAndOthersKeepTheirLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("floods for 3 s")
	}
	const (
		rate, burst = 100.0, 50
		normals     = 20
		probeEvery  = 50 * time.Millisecond
		floodFor    = 3 * time.Second
		p99Bound    = 100 * time.Millisecond
	)
	// WriteDelay 0, as this test always ran: it measures the flood, not
	// write batching (which adds up to its delay on busy sockets).
	ts := startServer(t, config(func(c *server.Config) { c.MaxMsgRate, c.MaxMsgBurst, c.WriteDelay = rate, burst, 0 }))

	type stats struct {
		lat   []time.Duration
		flood int
		own   int
	}
	st := make([]stats, normals)
	conns := make([]*websocket.Conn, normals)
	for i := range conns {
		conns[i] = ts.dial(fmt.Sprintf("room=flood&user=n%d", i))
	}
	ts.waitMembers("flood", normals)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var readers sync.WaitGroup
	for i, c := range conns {
		readers.Add(1)
		go func() {
			defer readers.Done()
			me := fmt.Sprintf("n%d", i)
			for {
				_, b, err := c.Read(ctx)
				if err != nil {
					return
				}
				var m chatMsg
				if json.Unmarshal(b, &m) != nil {
					continue
				}
				switch {
				case m.User == "flooder":
					st[i].flood++
				case m.User == me:
					sent, _ := strconv.ParseInt(strings.TrimPrefix(m.Message, "p."), 10, 64)
					st[i].lat = append(st[i].lat, time.Since(time.Unix(0, sent)))
					st[i].own++
				}
			}
		}()
	}

	flooder := rawUpgrade(t, &net.Dialer{}, ts.Addr(), "room=flood&user=flooder")
	defer flooder.Close()
	go func() { _, _ = io.Copy(io.Discard, flooder) }() // it reads: only its sending is abusive
	var chunk []byte
	frameLen := len(wstest.Text("flood flood flood flood"))
	for len(chunk) < 64<<10 {
		chunk = append(chunk, wstest.Text("flood flood flood flood")...)
	}

	start := time.Now()
	var senders sync.WaitGroup
	sentPerClient := int(floodFor / probeEvery)
	for _, c := range conns {
		senders.Add(1)
		go func() {
			defer senders.Done()
			tick := time.NewTicker(probeEvery)
			defer tick.Stop()
			for range sentPerClient {
				<-tick.C
				wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
				err := c.Write(wctx, websocket.MessageText, []byte("p."+strconv.FormatInt(time.Now().UnixNano(), 10)))
				wcancel()
				if err != nil {
					t.Errorf("normal client write: %v", err)
					return
				}
			}
		}()
	}
	written := 0
	for time.Since(start) < floodFor {
		// Whole chunks only (no deadline): a torn frame would be a protocol
		// error, and the server reads without pause, so this never blocks long.
		n, err := flooder.Write(chunk)
		written += n
		if err != nil {
			t.Fatalf("flood write: %v", err)
		}
	}
	floodEnd := time.Since(start)
	senders.Wait()
	// The server still reads what the kernel buffered; wait until it has.
	rejected := func() float64 {
		return counter(t, ts, "chatbench_messages_rejected_total", "reason", "rate_limit")
	}
	prev := -1.0
	waitForWithin(t, "the flood's buffered bytes read", raceSlowdown*10*time.Second, func() bool {
		time.Sleep(200 * time.Millisecond)
		cur := rejected()
		done := cur == prev
		prev = cur
		return done
	})
	settled := time.Since(start) - 200*time.Millisecond
	time.Sleep(300 * time.Millisecond) // last deliveries in flight
	if got := counter(t, ts, "chatbench_disconnects_total"); got != 0 {
		t.Errorf("%v disconnects under policy drop, want 0", got)
	}
	cancel()
	readers.Wait()

	accepted := st[0].flood
	var all []time.Duration
	for i := range st {
		if st[i].own != sentPerClient {
			t.Errorf("client n%d got %d of its %d probes back", i, st[i].own, sentPerClient)
		}
		if st[i].flood != accepted {
			t.Errorf("client n%d got %d flood messages, n0 got %d: fan-out lost some", i, st[i].flood, accepted)
		}
		all = append(all, st[i].lat...)
	}
	slices.Sort(all)
	p99 := all[len(all)*99/100]
	nRejected := rejected()
	low := int(rate*floodEnd.Seconds()*0.9) + burst
	high := int(rate*settled.Seconds()) + burst + 1
	t.Logf("flooder wrote %d frames in %v (%.0f/s); server accepted %d (bounds %d..%d: rate %.0f/s × %.2f..%.2f s + burst %d), rejected %.0f; "+
		"normal clients: %d probes, p50 %v p99 %v max %v",
		written/frameLen, floodEnd.Round(time.Millisecond), float64(written/frameLen)/floodEnd.Seconds(),
		accepted, low, high, rate, floodEnd.Seconds(), settled.Seconds(), burst, nRejected,
		len(all), all[len(all)/2].Round(time.Microsecond), p99.Round(time.Microsecond), all[len(all)-1].Round(time.Microsecond))
	if accepted < low || accepted > high {
		t.Errorf("flooder got %d messages through, want rate × time + burst: %d..%d", accepted, low, high)
	}
	if frames := written / frameLen; int(nRejected)+accepted != frames {
		t.Errorf("accepted %d + rejected %.0f != %d frames flooded: some were neither broadcast nor counted", accepted, nRejected, frames)
	}
	if nRejected < 10*float64(accepted) {
		t.Errorf("only %.0f messages rejected for %d accepted: the flood did not flood", nRejected, accepted)
	}
	switch {
	case raceEnabled:
		t.Logf("p99 bound not checked under -race, which slows the server several times over on a shared machine")
	case p99 >= p99Bound:
		t.Errorf("normal clients' p99 %v while one floods, want < %v", p99, p99Bound)
	}
}

func TestRateLimitPolicyCloseClosesWith1008(t *testing.T) {
	ts := startServer(t, config(func(c *server.Config) { c.MaxMsgRate, c.MaxMsgBurst, c.RateLimitPolicy = 10, 5, server.RateLimitClose }))
	c := ts.dial("user=flooder")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for range 20 {
		if err := c.Write(ctx, websocket.MessageText, []byte("x")); err != nil {
			break // closed under us
		}
	}
	if code := closeStatus(t, c); code != websocket.StatusPolicyViolation {
		t.Fatalf("close status %v, want 1008", code)
	}
	waitFor(t, "disconnect counted", func() bool {
		return counter(t, ts, "chatbench_disconnects_total", "reason", "rate_limit") == 1
	})
	// The 5 of the burst went through before the close.
	if got := counter(t, ts, "chatbench_messages_received_total"); got != 5 {
		t.Fatalf("%v messages broadcast, want the burst of 5", got)
	}
}

// childClientEnv makes the test binary a WebSocket client process (see
// init): it connects to the URL in the variable, prints "connected" and
// reads (so its library answers pings) until the connection ends. A test
// freezes it with SIGSTOP to make a half-open peer.
const childClientEnv = "CHATBENCH_TEST_CHILD_CLIENT"

// childAbuseServerEnv makes the test binary a server process configured by
// the JSON server.Config in the variable (see init); it prints its address
// and serves until stdin closes. A line "gc" on stdin runs a GC and returns
// free memory to the OS, then prints "gc done".
const childAbuseServerEnv = "CHATBENCH_TEST_CHILD_ABUSE_SERVER"

func init() {
	if u := os.Getenv(childClientEnv); u != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, _, err := websocket.Dial(ctx, u, nil)
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, "child client:", err)
			os.Exit(2)
		}
		fmt.Println("connected")
		for {
			if _, _, err := c.Read(context.Background()); err != nil {
				os.Exit(0)
			}
		}
	}
	if js := os.Getenv(childAbuseServerEnv); js != "" {
		var cfg server.Config
		if err := json.Unmarshal([]byte(js), &cfg); err != nil {
			fmt.Fprintln(os.Stderr, "child server config:", err)
			os.Exit(2)
		}
		if _, _, err := rlimit.Raise(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		cfg.Addr = "127.0.0.1:0"
		srv, err := server.New(cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println(srv.Addr())
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			// "gc" on stdin: collect and return free memory to the OS, so
			// that RSS is compared without garbage; EOF: stop.
			sc := bufio.NewScanner(os.Stdin)
			for sc.Scan() {
				if sc.Text() == "gc" {
					runtime.GC()
					debug.FreeOSMemory()
					fmt.Println("gc done")
				}
			}
			cancel()
		}()
		if err := srv.Run(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// TestFrozenClientProcessIsDroppedAfterPingTimeout: a real client process,
// frozen with SIGSTOP, keeps its socket open (the kernel still ACKs) but
// answers no ping: the server drops it after PingInterval + PingTimeout and
// counts ping_timeout. While it runs, it survives several ping rounds.
func TestFrozenClientProcessIsDroppedAfterPingTimeout(t *testing.T) {
	// Under -race on a busy machine the live child can take longer than
	// 300 ms to answer; make test runs this package again without -race.
	interval, timeout := 200*time.Millisecond, 300*time.Millisecond
	if raceEnabled {
		timeout = 1500 * time.Millisecond
	}
	ts := startServer(t, config(func(c *server.Config) { c.PingInterval, c.PingTimeout = interval, timeout }))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childClientEnv+"="+ts.wsURL("user=frozen"))
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "connected" {
		t.Fatalf("child client: %q %v", line, err)
	}
	ts.waitMembers("chat", 1)
	time.Sleep(3 * (interval + timeout)) // three ping rounds, answered
	if n := counter(t, ts, "chatbench_disconnects_total", "reason", "ping_timeout"); n != 0 || ts.RoomSize("chat") != 1 {
		t.Fatalf("a live client process was dropped (ping_timeout %v)", n)
	}

	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	waitFor(t, "frozen client dropped", func() bool {
		return counter(t, ts, "chatbench_disconnects_total", "reason", "ping_timeout") == 1
	})
	took := time.Since(frozen)
	// Silent from at most one interval before the freeze (its last pong):
	// dropped between interval+timeout-interval and interval+timeout plus
	// the scan tick (min/2) and scheduling.
	t.Logf("frozen client dropped %v after SIGSTOP (ping interval %v + timeout %v)", took.Round(time.Millisecond), interval, timeout)
	if took < timeout || took > interval+timeout+time.Second {
		t.Fatalf("frozen client dropped after %v, want between %v and %v", took, timeout, interval+timeout+time.Second)
	}
	ts.waitMembers("chat", 0)
	_ = cmd.Process.Signal(syscall.SIGCONT)
}
