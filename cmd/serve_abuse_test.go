package cmd

import (
	"bufio"
	"bytes"
	"context"
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
	"syscall"
	"testing"
	"time"

	"github.com/chatbench/chatbench/internal/units"
	"github.com/chatbench/chatbench/server/wstest"
)

// Attacks on the real serve process, from outside, as a hostile client
// would (issue 12). Each measures the figure the issue set as a target.

// serveMetric reads one sample from serve's /metrics: an exact series
// (`name{label="v"}`) or, for a bare name, the sum of its series.
func serveMetric(t *testing.T, addr, sample string) float64 {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || (name != sample && (strings.Contains(sample, "{") || !strings.HasPrefix(name, sample+"{"))) {
			continue
		}
		v, _ := strconv.ParseFloat(value, 64)
		sum += v
	}
	return sum
}

// TestServeFlooderInABusyRoomCostsTheOthersNothing: `chatbench serve` on
// its defaults; 20 clients in a room each send a message every 50 ms while
// one more writes frames as fast as loopback takes them for 3 s (and reads
// its echoes). The room's members must lose no message and no connection;
// the flooder is held to --max-msg-rate, the rest of its frames dropped
// and counted.
func TestServeFlooderInABusyRoomCostsTheOthersNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("floods for 3 s")
	}
	_, addr, _ := startServe(t)
	room, err := wstest.JoinRoom(context.Background(), "ws://"+addr+"/ws?room=busy", 20, 20, 50*time.Millisecond, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	written, err := wstest.Flood(addr, "room=busy&user=flooder", 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	flooded := time.Since(start)
	// Closes the server decided (a write_error is the flooder hanging up
	// with its echoes queued; a member's would show as a failed member).
	var closes, dropped float64
	for _, reason := range []string{"slow_consumer", "flood", "rate_limit", "ping_timeout"} {
		closes += serveMetric(t, addr, `chatbench_disconnects_total{reason="`+reason+`"}`)
	}
	// Frames not delivered to a member (write_error drops are the
	// flooder's own echoes, queued when it hung up).
	for _, reason := range []string{"queue_full", "slow_consumer", "flood"} {
		dropped += serveMetric(t, addr, `chatbench_dropped_total{reason="`+reason+`"}`)
	}
	rejected := serveMetric(t, addr, `chatbench_messages_rejected_total{reason="rate_limit"}`)
	res := room.Stop()
	accepted := serveMetric(t, addr, "chatbench_messages_received_total") - float64(res.Sent)
	// --max-msg-rate 50/s, burst 50: at most 50 × (flood + 1 s of the
	// buffered frames read after it) + 50.
	bound := 50*(flooded.Seconds()+1) + 50
	t.Logf("flooder wrote %d frames in %v: %.0f broadcast (bound %.0f), %.0f rejected; the 20 members: %d messages, %d deliveries missing, %d connections failed, p50 %v p99 %v; server closes %.0f, frames dropped %.0f",
		written, flooded.Round(time.Millisecond), accepted, bound, rejected, res.Sent, res.Lost(), res.Errors,
		res.P(0.5).Round(time.Microsecond), res.P(0.99).Round(time.Microsecond), closes, dropped)
	if res.Lost() != 0 || res.Errors != 0 || closes != 0 || dropped != 0 {
		t.Errorf("the flood cost the room: %d deliveries missing, %d members failed, %.0f closed by the server, %.0f frames dropped; want none",
			res.Lost(), res.Errors, closes, dropped)
	}
	if accepted > bound || rejected < 10*accepted {
		t.Errorf("flooder: %.0f broadcast (bound %.0f), %.0f rejected: not held to the default rate", accepted, bound, rejected)
	}
}

// startServeLimited runs serve under an open-files limit of nofile (soft
// and hard: serve cannot raise it) and returns its address.
func startServeLimited(t *testing.T, nofile int, args ...string) (*exec.Cmd, string) {
	t.Helper()
	sh := exec.Command("/bin/sh", append([]string{"-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, nofile), os.Args[0],
		"serve", "--addr", "127.0.0.1:0"}, args...)...)
	sh.Env = append(os.Environ(), runAsChatbenchEnv+"=1")
	stdout, err := sh.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	sh.Stderr = &stderr
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sh.Process.Kill(); _ = sh.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	const prefix = "chatbench serve: listening on http://"
	if err != nil || !strings.HasPrefix(line, prefix) {
		t.Fatalf("serve under ulimit -n %d: %q %v; stderr: %s", nofile, line, err, stderr.String())
	}
	return sh, strings.Fields(strings.TrimPrefix(line, prefix))[0]
}

// stalledBody sends a request that announces a body it never sends, and
// returns the connection (closed at the end of the test) and the status
// it got (0: none, the connection was closed).
func stalledBody(t *testing.T, addr, path string) (net.Conn, int) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, -1
	}
	t.Cleanup(func() { nc.Close() })
	fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 1\r\n\r\n", path)
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		return nc, 0
	}
	resp.Body.Close()
	return nc, resp.StatusCode
}

// TestServeStalledRequestsLeaveRoomForRealClients: the setting, an
// open-files limit of 300 and --max-conns 50, attacked by 400 clients
// sending requests that announce a body and never send it (upgrades and
// /healthz, each sent again once answered, until 1,000 were answered), a
// 200,000-byte body trickled a byte every half second, and 100
// connections stalled in their headers (reopened when closed: they keep
// the pending budget full). Real clients, connecting every 100 ms
// meanwhile, must get their WebSocket and their /healthz within
// --read-header-timeout + 1 s.
func TestServeStalledRequestsLeaveRoomForRealClients(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of attacking connections")
	}
	const (
		headerTimeout = 2 * time.Second
		stalledBodies = 1000
	)
	_, addr := startServeLimited(t, 300, "--max-conns", "50", "--fd-reserve", "32", "--max-pending", "100",
		"--read-header-timeout", headerTimeout.String())
	stop := make(chan struct{})
	var attackers sync.WaitGroup
	loop := func(n int, f func()) {
		for range n {
			attackers.Add(1)
			go func() {
				defer attackers.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					f()
				}
			}()
		}
	}
	loop(100, func() { // stalled in their headers until the server closes them
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		defer nc.Close()
		fmt.Fprintf(nc, "GET /ws HTTP/1.1\r\nHost: h\r\n")
		_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.Copy(io.Discard, nc)
	})
	loop(1, func() { trickleBody(addr, stop) })
	var mu sync.Mutex
	statuses := map[int]int{}
	answered := func() int {
		mu.Lock()
		defer mu.Unlock()
		return statuses[http.StatusBadRequest]
	}
	var i atomicCounter
	attackStart := time.Now()
	loop(400, func() {
		path := "/healthz"
		if i.next()%2 == 0 {
			path = "/ws?user=stalled"
		}
		nc, status := stalledBody(t, addr, path)
		if nc != nil {
			nc.Close()
		}
		mu.Lock()
		statuses[status]++
		mu.Unlock()
	})

	var waits []time.Duration
	var failures []string
	var reals sync.WaitGroup
	for n := 0; answered() < stalledBodies && time.Since(attackStart) < 30*time.Second; n++ {
		reals.Add(1)
		go func() { // one every 100 ms, each on its own
			defer reals.Done()
			begin := time.Now()
			err := realClient(addr, n)
			mu.Lock()
			defer mu.Unlock()
			waits = append(waits, time.Since(begin))
			if err != nil {
				failures = append(failures, err.Error())
			}
		}()
		time.Sleep(100 * time.Millisecond)
	}
	reals.Wait()
	took := time.Since(attackStart)
	close(stop)
	attackers.Wait()
	slices.Sort(waits)
	t.Logf("%d stalled-body requests in %v answered %v; %d real clients meanwhile connected in p50 %v, max %v; pending connections evicted %.0f",
		i.n, took.Round(time.Millisecond), statuses, len(waits), waits[len(waits)/2].Round(time.Millisecond), waits[len(waits)-1].Round(time.Millisecond),
		serveMetric(t, addr, "chatbench_pending_evicted_total"))
	if statuses[http.StatusBadRequest] < stalledBodies || len(statuses) != 1 {
		t.Errorf("stalled-body requests: %v, want at least %d, all answered 400", statuses, stalledBodies)
	}
	if len(failures) > 0 {
		t.Errorf("%d real clients failed: %v", len(failures), failures[:min(len(failures), 3)])
	}
	if worst := waits[len(waits)-1]; worst > headerTimeout+time.Second {
		t.Errorf("a real client took %v to connect, want at most --read-header-timeout + 1 s = %v", worst, headerTimeout+time.Second)
	}
}

// atomicCounter hands out 1, 2, 3...
type atomicCounter struct {
	mu sync.Mutex
	n  int
}

func (c *atomicCounter) next() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return c.n
}

// trickleBody announces a 200,000-byte body and sends a byte of it every
// half second, until stopped or closed.
func trickleBody(addr string, stop <-chan struct{}) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer nc.Close()
	fmt.Fprintf(nc, "GET /healthz HTTP/1.1\r\nHost: h\r\nContent-Length: 200000\r\n\r\n")
	for {
		select {
		case <-stop:
			return
		case <-time.After(500 * time.Millisecond):
		}
		if _, err := nc.Write([]byte("x")); err != nil {
			return
		}
	}
}

// realClient opens a WebSocket (and closes it) and gets /healthz.
func realClient(addr string, i int) error {
	nc, _, err := wstest.Upgrade(&net.Dialer{Timeout: 10 * time.Second}, addr, fmt.Sprintf("user=real%d", i))
	if err != nil {
		return fmt.Errorf("websocket: %w", err)
	}
	nc.Close()
	c := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		return fmt.Errorf("healthz: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("healthz: %d", resp.StatusCode)
	}
	return nil
}

// TestServeSIGTERMExitsWithinTheShutdownTimeoutUnderEveryAttack: under each
// attack of issue 12, alone and all at once, `chatbench serve
// --shutdown-timeout 1s` exits 0 within 2 s of SIGTERM.
func TestServeSIGTERMExitsWithinTheShutdownTimeoutUnderEveryAttack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 8 serve processes")
	}
	const timeout = time.Second
	noRaceExitSleep(t)
	attacks := map[string]func(t *testing.T, addr string){
		"stalled bodies":    func(t *testing.T, addr string) { holdN(t, 200, func() { stalledBody(t, addr, "/ws?user=s") }) },
		"stalled headers":   func(t *testing.T, addr string) { holdN(t, 100, func() { headersStalled(t, addr) }) },
		"unanswered closes": func(t *testing.T, addr string) { holdN(t, 50, func() { rawWS(t, addr, "user=mute") }) },
		"unnamed sockets":   func(t *testing.T, addr string) { holdN(t, 50, func() { rawWS(t, addr, "") }) },
		"message flood": func(t *testing.T, addr string) {
			background(t, func() { _, _ = wstest.Flood(addr, "user=flooder", 10*time.Second) })
		},
		"ping flood":     func(t *testing.T, addr string) { f := wstest.StartPingFlooder(addr); t.Cleanup(func() { f.Stop() }) },
		"blocked writer": blockedWriter,
		"trickled 200 KB body": func(t *testing.T, addr string) {
			stop := make(chan struct{})
			background(t, func() { trickleBody(addr, stop) })
			t.Cleanup(func() { close(stop) })
		},
	}
	names := make([]string, 0, len(attacks))
	for name := range attacks {
		names = append(names, name)
	}
	slices.Sort(names)
	all := func(t *testing.T, addr string) {
		for _, name := range names {
			attacks[name](t, addr)
		}
	}
	for _, name := range append(names, "all at once") {
		t.Run(name, func(t *testing.T) {
			attack := attacks[name]
			if attack == nil {
				attack = all
			}
			cmd, addr, stderr := startServe(t, "--shutdown-timeout", timeout.String(), "--log-level", "warn")
			attack(t, addr)
			time.Sleep(300 * time.Millisecond) // the attack under way
			done := make(chan error, 1)
			start := time.Now()
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				took := time.Since(start)
				t.Logf("%s: exited %v after SIGTERM (--shutdown-timeout %v)", name, took.Round(time.Millisecond), timeout)
				if err != nil || took > timeout+time.Second {
					t.Errorf("%s: exit %v after %v, want 0 within %v; stderr:\n%s", name, err, took, timeout+time.Second, stderr.String())
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("%s: serve still running 30 s after SIGTERM", name)
			}
		})
	}
}

// noRaceExitSleep keeps the race detector of a child built with -race from
// sleeping a second at exit (GORACE atexit_sleep_ms, 1000 by default),
// which would count as shutdown time.
func noRaceExitSleep(t *testing.T) {
	t.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
}

// holdN runs open n times, 32 at a time.
func holdN(t *testing.T, n int, open func()) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() { defer func() { <-sem; wg.Done() }(); open() }()
	}
	wg.Wait()
}

// background runs f in a goroutine that the test waits for at its end.
func background(t *testing.T, f func()) {
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	t.Cleanup(func() { <-done })
}

func headersStalled(t *testing.T, addr string) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	t.Cleanup(func() { nc.Close() })
	fmt.Fprintf(nc, "GET /ws HTTP/1.1\r\nHost: h\r\n")
}

// rawWS upgrades and then neither reads nor writes.
func rawWS(t *testing.T, addr, query string) {
	nc, _, err := wstest.Upgrade(&net.Dialer{}, addr, query)
	if err == nil {
		t.Cleanup(func() { nc.Close() })
	}
}

// blockedWriter: a member that never reads, with a small receive buffer,
// while another sends it 60 KB messages until the server's writer for it
// blocks.
func blockedWriter(t *testing.T, addr string) {
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	stuck, _, err := wstest.Upgrade(d, addr, "room=blocked&user=stuck")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stuck.Close() })
	sender, br, err := wstest.Upgrade(&net.Dialer{}, addr, "room=blocked&user=sender")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sender.Close() })
	go func() { _, _ = io.Copy(io.Discard, br) }()
	big := wstest.Frame(wstest.OpText, bytes.Repeat([]byte("w"), 16<<10-100))
	for range 40 { // under --max-msg-rate's burst
		_ = sender.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := sender.Write(big); err != nil {
			return
		}
	}
}

// TestMeasureFlooderCostByRateLimit is the measurement behind the default
// --max-msg-rate (docs/serve.md). A room of 200 members, 10 of them
// sending a timestamped message every 100 ms; one more member sends at
// exactly L messages a second, the most --max-msg-rate L lets through;
// then the same member floods as fast as loopback takes it and the server
// holds it to L. For each L it reports the members' latency and loss and
// the server's deliveries and CPU. It asserts nothing beyond the runs
// completing, and takes about two minutes: set CHATBENCH_MEASURE=1.
func TestMeasureFlooderCostByRateLimit(t *testing.T) {
	if os.Getenv("CHATBENCH_MEASURE") == "" {
		t.Skip("a measurement, not a check: set CHATBENCH_MEASURE=1 to run it")
	}
	const (
		members = 200
		senders = 10
		period  = 100 * time.Millisecond
		phase   = 5 * time.Second
	)
	for _, rate := range []float64{0, 20, 50, 100, 200, 500} {
		for _, mode := range []string{"paced", "flood"} {
			if rate == 0 && mode == "flood" {
				continue
			}
			_, addr, _ := startServe(t, "--log-level", "warn", "--max-msg-rate", units.FormatRate(rate))
			room, err := wstest.JoinRoom(context.Background(), "ws://"+addr+"/ws?room=big", members, senders, period, 100)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			cpu0, del0 := serveMetric(t, addr, "process_cpu_seconds_total"), serveMetric(t, addr, "chatbench_deliveries_total")
			start := time.Now()
			switch {
			case rate == 0:
				time.Sleep(phase)
			case mode == "paced":
				if err := pacedSender(addr, rate, phase); err != nil {
					t.Fatal(err)
				}
			default:
				if _, err := wstest.Flood(addr, "room=big&user=flooder", phase); err != nil {
					t.Fatal(err)
				}
			}
			secs := time.Since(start).Seconds()
			cpu, del := serveMetric(t, addr, "process_cpu_seconds_total")-cpu0, serveMetric(t, addr, "chatbench_deliveries_total")-del0
			res := room.Stop()
			label := units.FormatRate(rate) + " " + mode
			if rate == 0 {
				label = "no sender at L"
			}
			t.Logf("%-14s room of %d: members' p50 %6.1f ms p99 %6.1f ms, %d deliveries missing; server %6.0f deliveries/s, %.2f cores",
				label, members, ms(res.P(0.5)), ms(res.P(0.99)), res.Lost(), del/secs, cpu/secs)
		}
	}
}

// pacedSender joins room big and sends rate messages a second for d.
func pacedSender(addr string, rate float64, d time.Duration) error {
	nc, br, err := wstest.Upgrade(&net.Dialer{}, addr, "room=big&user=paced")
	if err != nil {
		return err
	}
	defer nc.Close()
	go func() { _, _ = io.Copy(io.Discard, br) }()
	frame := wstest.Text("paced paced paced paced")
	interval := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	for end := next.Add(d); time.Now().Before(end); {
		if _, err := nc.Write(frame); err != nil {
			return err
		}
		next = next.Add(interval)
		time.Sleep(time.Until(next))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
