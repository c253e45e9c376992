// Package prototest holds what the protocol adapters' integration tests
// share: a small run through loadgen.Run, the exact-accounting and
// connect-error assertions, and starting a real server process that says
// when it listens.
package prototest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	neturl "net/url"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/errkind"
	"github.com/chatbench/chatbench/loadgen/results"
	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// Config is a run of clients in rooms through protocol with options for
// dur of steady sending: half the clients send (the other half only
// listen, so their session lives on heart-beats alone), 10 probes/s each.
func Config(url, protocol string, options map[string]string, clients, rooms int, dur time.Duration) loadgen.Config {
	cfg := loadgen.DefaultConfig()
	cfg.URLs, cfg.Protocol, cfg.ProtocolOptions = []string{url}, protocol, options
	cfg.Clients, cfg.Rooms, cfg.Senders, cfg.Rate, cfg.Ramp = clients, rooms, clients/2, 10, 500
	cfg.RoomSize = 0 // rooms given by count
	cfg.Warmup, cfg.Duration, cfg.Grace, cfg.Settle = 500*time.Millisecond, dur, 2*time.Second, 0
	return cfg
}

// Run runs cfg (bounded to two minutes).
func Run(t *testing.T, cfg loadgen.Config) *results.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

// Exact asserts the run's accounting is exact for rooms of members each:
// every client connected and stayed, every probe reached every member of
// its room once (the sender too: these servers echo), nothing else came.
func Exact(t *testing.T, res *results.Result, clients, members int) {
	t.Helper()
	sm := res.Summary
	t.Logf("connected %d, sent %d, expected %d, delivered %d, p99 %.2f ms; errors %+v",
		sm.Connected, sm.Sent, sm.Expected, sm.Delivered, sm.LatencyMs.P99, res.Errors)
	if sm.Connected != int64(clients) || sm.ConnectErrors != 0 || sm.Disconnected != 0 {
		t.Errorf("connected %d of %d, connect errors %d, lost mid-run %d (%v %v %v); want all, none lost",
			sm.Connected, clients, sm.ConnectErrors, sm.Disconnected, res.Errors.Connect, res.Errors.Disconnect, res.Errors.Reasons)
	}
	if sm.Sent == 0 || sm.Expected != sm.Sent*int64(members) || sm.Delivered != sm.Expected || sm.Lost != 0 {
		t.Errorf("sent %d, expected %d (want sent × %d), delivered %d, lost %d", sm.Sent, sm.Expected, members, sm.Delivered, sm.Lost)
	}
	if sm.Duplicated != 0 || sm.Misrouted != 0 || sm.Unexpected != 0 || sm.SendErrors != 0 || len(res.Errors.Frames) != 0 {
		t.Errorf("duplicated %d, misrouted %d, unexpected %d, send errors %d, frames %v; want none",
			sm.Duplicated, sm.Misrouted, sm.Unexpected, sm.SendErrors, res.Errors.Frames)
	}
}

// ConnectErrors asserts every one of clients failed to connect with kind,
// and the server's reason for it contains reason.
func ConnectErrors(t *testing.T, res *results.Result, clients int, kind errkind.Kind, reason string) {
	t.Helper()
	e := res.Errors
	if res.Summary.Connected != 0 || e.Connect[kind] != int64(clients) || len(e.Connect) != 1 {
		t.Errorf("connected %d, connect errors %v; want all %d as %s", res.Summary.Connected, e.Connect, clients, kind)
	}
	if !strings.Contains(e.Reasons[kind], reason) {
		t.Errorf("reason for %s: %q, want it to contain the server's %q (all reasons %v)", kind, e.Reasons[kind], reason, e.Reasons)
	}
}

// ErrorRun is a short run of clients whose connects are all expected to
// fail.
func ErrorRun(url, protocol string, options map[string]string, clients int) loadgen.Config {
	cfg := Config(url, protocol, options, clients, 1, 500*time.Millisecond)
	cfg.Warmup, cfg.Grace = 0, 0
	return cfg
}

// Listening is the line the test servers print when ready.
const Listening = `listening (\d+)`

// Start starts cmd, waits (up to 20 s) for a line matching ready on its
// stdout or stderr, and returns the match's first group (e.g. Listening's
// port); its output is printed with -v. The process is stopped (SIGTERM,
// then waited for) when the test ends.
func Start(t *testing.T, cmd *exec.Cmd, ready string) string {
	t.Helper()
	re := regexp.MustCompile(ready)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	exited := make(chan error, 1)
	go func() { err := cmd.Wait(); pw.Close(); exited <- err }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case port <- m[len(m)-1]:
				default:
				}
			}
			if testing.Verbose() {
				fmt.Println(cmd.Args[0] + ": " + sc.Text())
			}
		}
		close(port)
	}()
	select {
	case p, ok := <-port:
		if !ok {
			t.Fatalf("%s exited before it listened", strings.Join(cmd.Args, " "))
		}
		return p
	case <-time.After(20 * time.Second):
		t.Fatalf("%s was not ready in 20 s", strings.Join(cmd.Args, " "))
	}
	return ""
}

// SilentSessionDropped opens one session of p at url and then keeps it
// silent: it never sends the protocol's keepalives and never hands the
// server's messages to the session, so the server's heart-beat pings go
// unanswered (WebSocket pings are still answered). It asserts the server
// drops that socket within `within`: the control showing that a run
// through loadgen.Run, which keeps its sockets that long, survives only by
// the adapter's heart-beats.
func SilentSessionDropped(t *testing.T, p loadgen.Protocol, url string, within time.Duration) {
	t.Helper()
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	var sub string
	if sp, ok := p.(interface{ Subprotocol() string }); ok {
		sub = sp.Subprotocol()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, err := wsclient.Dial(ctx, u, wsclient.DialOptions{ReadBuffer: 4096, Subprotocol: sub})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	defer ws.NetConn().Close()
	if _, err := p.Open(ctx, loadgen.Setup{Conn: ws, User: "u0", RoomID: "room0", Deadline: time.Now().Add(10 * time.Second)}); err != nil {
		t.Fatalf("open: %v", err)
	}
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- ws.ReadLoop(func([]byte) error { return nil }) }()
	select {
	case err := <-done:
		t.Logf("the server dropped a silent session after %v: %v", time.Since(start).Round(10*time.Millisecond), err)
	case <-time.After(within):
		t.Errorf("the server kept a silent session for %v: heart-beats are not what keeps the test's sessions", within)
		ws.NetConn().Close()
		<-done
	}
}

// FreePort is a loopback TCP port free a moment ago, for servers that
// cannot report the port they chose.
func FreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
