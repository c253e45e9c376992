package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server"
	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testServer is a server on a free loopback port, stopped at the end of
// the test (Run's error is checked).
type testServer struct {
	*server.Server
	t    *testing.T
	base string // http://127.0.0.1:PORT
	stop func() error
}

func startServer(t *testing.T, cfg server.Config) *testServer {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &testServer{Server: srv, t: t, base: "http://" + srv.Addr(), stop: stop}
}

// config is server.DefaultConfig changed by set (nil: the defaults).
func config(set func(c *server.Config)) server.Config {
	c := server.DefaultConfig()
	if set != nil {
		set(&c)
	}
	return c
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (ts *testServer) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(ts.base, "http") + "/ws?" + query
}

// dial opens a WebSocket to the server; it is closed at the end of the test.
func (ts *testServer) dial(query string) *websocket.Conn {
	ts.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, ts.wsURL(query), nil)
	if err != nil {
		ts.t.Fatalf("dial %s: %v (response %v)", query, err, resp)
	}
	c.SetReadLimit(1 << 20)
	ts.t.Cleanup(func() { c.CloseNow() })
	return c
}

// waitMembers waits until room has n local members: joining happens after the
// handshake returns to the client.
func (ts *testServer) waitMembers(room string, n int) {
	ts.t.Helper()
	waitFor(ts.t, fmt.Sprintf("%d members in room %q", n, room), func() bool { return ts.RoomSize(room) == n })
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitForWithin(t, what, 10*time.Second, cond)
}

// waitForWithin is waitFor with its own bound.
func waitForWithin(t *testing.T, what string, bound time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type chatMsg struct {
	User    string `json:"user"`
	Room    string `json:"room"`
	Message string `json:"message"`
}

func readMsg(t *testing.T, c *websocket.Conn) chatMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("got a %v frame, want text", typ)
	}
	var m chatMsg
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("frame %q is not the broadcast JSON: %v", b, err)
	}
	return m
}

func send(t *testing.T, c *websocket.Conn, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(text)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// closeStatus reads until the connection ends and returns the close code.
func closeStatus(t *testing.T, c *websocket.Conn) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("connection still open after 10s")
			}
			return websocket.CloseStatus(err)
		}
	}
}

func counter(t *testing.T, ts *testServer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := ts.Registry().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var sum float64
		for _, m := range mf.GetMetric() {
			if !labelsMatch(m, labels) {
				continue
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
		return sum
	}
	return 0
}

func labelsMatch(m *dto.Metric, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == kv[i] && lp.GetValue() == kv[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func TestBroadcastReachesEveryMemberOfTheRoomAndNobodyElse(t *testing.T) {
	ts := startServer(t, config(nil))
	a1, a2, a3 := ts.dial("room=a&user=ann"), ts.dial("room=a&user=bob"), ts.dial("room=a&user=cy")
	b1 := ts.dial("room=b&user=dee")
	ts.waitMembers("a", 3)
	ts.waitMembers("b", 1)

	send(t, a2, `hello "room" a \ é`)
	want := chatMsg{User: "bob", Room: "a", Message: `hello "room" a \ é`}
	for i, c := range []*websocket.Conn{a1, a2, a3} {
		if got := readMsg(t, c); got != want {
			t.Errorf("member %d got %+v, want %+v", i, got, want)
		}
	}
	// Room b hears only its own messages: had room a's leaked, it would
	// arrive first.
	send(t, b1, "only b")
	if got := readMsg(t, b1); got != (chatMsg{User: "dee", Room: "b", Message: "only b"}) {
		t.Errorf("room b member got %+v", got)
	}
}

func TestDefaultRoomAndFirstFrameUserName(t *testing.T) {
	ts := startServer(t, config(nil))
	c := ts.dial("") // no room, no user: room "chat", first frame names the user
	other := ts.dial("user=zed")
	ts.waitMembers("chat", 1) // the unnamed socket is in no room yet
	send(t, other, "before the name")
	if got := readMsg(t, other); got.Message != "before the name" {
		t.Fatalf("got %+v", got)
	}
	send(t, c, "  alice \n")
	send(t, c, "hi all")
	want := chatMsg{User: "alice", Room: "chat", Message: "hi all"}
	if got := readMsg(t, other); got != want {
		t.Fatalf("got %+v, want %+v (the first frame must be taken as the user name)", got, want)
	}
	// The first thing the named socket reads is its own message: what the
	// room said before it was named never reached it.
	if got := readMsg(t, c); got != want {
		t.Fatalf("sender got %+v, want its own message", got)
	}
}

func TestOversizedFrameClosesWith1009(t *testing.T) {
	ts := startServer(t, config(func(c *server.Config) { c.MaxMessageBytes = 1000 }))
	ok := ts.dial("user=ok")
	big := ts.dial("user=big")
	ts.waitMembers("chat", 2)
	send(t, ok, strings.Repeat("x", 1000)) // exactly the limit: fine
	if got := readMsg(t, big); len(got.Message) != 1000 {
		t.Fatalf("a message at the limit was not delivered whole: %d bytes", len(got.Message))
	}
	readMsg(t, ok)
	send(t, big, strings.Repeat("y", 1001))
	if code := closeStatus(t, big); code != websocket.StatusMessageTooBig {
		t.Fatalf("close code %v, want 1009", code)
	}
	// The other client is unaffected.
	send(t, ok, "still here")
	if got := readMsg(t, ok); got.Message != "still here" {
		t.Fatalf("got %+v", got)
	}
	waitFor(t, "disconnect counted", func() bool {
		return counter(t, ts, "chatbench_disconnects_total", "reason", "message_too_big") == 1
	})
}

func TestBinaryAndInvalidUTF8FramesAreRefused(t *testing.T) {
	ts := startServer(t, config(nil))
	bin := ts.dial("user=b")
	ctx := context.Background()
	if err := bin.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if code := closeStatus(t, bin); code != websocket.StatusUnsupportedData {
		t.Fatalf("binary frame: close code %v, want 1003", code)
	}
	bad := ts.dial("user=u")
	if err := bad.Write(ctx, websocket.MessageText, []byte{'a', 0xff, 'b'}); err != nil {
		t.Fatal(err)
	}
	if code := closeStatus(t, bad); code != websocket.StatusInvalidFramePayloadData {
		t.Fatalf("invalid UTF-8: close code %v, want 1007", code)
	}
}

// A client that never reads fills its socket, then its queue; it is cut
// off with 1008 while every other member gets every message.
func TestSlowConsumerIsCutOffAndOthersGetEverything(t *testing.T) {
	const queue, messages, size = 8, 200, 60 << 10
	ts := startServer(t, config(func(c *server.Config) {
		c.SendQueue, c.MaxMessageBytes, c.WriteTimeout, c.MaxMsgRate = queue, 64<<10, 30*time.Second, 0
	}))

	// The slow client: a tiny receive buffer, and nobody reads it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	smallBuf := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	slow, _, err := websocket.Dial(ctx, ts.wsURL("user=slow"), &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: smallBuf.DialContext}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.CloseNow()

	const readers = 5
	conns := make([]*websocket.Conn, readers)
	for i := range conns {
		conns[i] = ts.dial(fmt.Sprintf("user=r%d", i))
	}
	sender := conns[0]
	ts.waitMembers("chat", readers+1)

	// Readers keep pace (lock-step with the sender), so only the slow
	// client falls behind. Once it has overflowed, it starts reading
	// (slowly catching up, as real slow clients do) and must find what the
	// kernel held for it, then the 1008 close.
	slow.SetReadLimit(1 << 20)
	slowCode := make(chan websocket.StatusCode, 1)
	payload := strings.Repeat("m", size)
	overflowed := false
	for i := range messages {
		send(t, sender, payload)
		for j, c := range conns {
			if m := readMsg(t, c); len(m.Message) != size {
				t.Fatalf("reader %d, message %d: %d bytes, want %d", j, i, len(m.Message), size)
			}
		}
		if !overflowed && counter(t, ts, "chatbench_dropped_total", "reason", "slow_consumer") > 0 {
			overflowed = true
			go func() { slowCode <- closeStatus(t, slow) }()
		}
	}
	if !overflowed {
		t.Fatalf("the slow client never overflowed its queue in %d messages", messages)
	}
	if code := <-slowCode; code != websocket.StatusPolicyViolation {
		t.Errorf("slow client close code %v, want 1008", code)
	}
	waitFor(t, "slow consumer disconnect counted", func() bool {
		return counter(t, ts, "chatbench_disconnects_total", "reason", "slow_consumer") == 1
	})
	if n := counter(t, ts, "chatbench_dropped_total", "reason", "slow_consumer"); n < 1 {
		t.Errorf("dropped{slow_consumer} = %v, want > 0", n)
	}
	if n := counter(t, ts, "chatbench_disconnects_total"); n != 1 {
		t.Errorf("%v disconnects, want only the slow client's", n)
	}
}

func TestSlowPolicyDropKeepsTheConnection(t *testing.T) {
	ts := startServer(t, config(func(c *server.Config) {
		c.SendQueue, c.SlowPolicy, c.MaxMessageBytes, c.MaxMsgRate = 4, server.SlowDrop, 64<<10, 0
	}))
	slow := ts.dial("user=slow")
	sender := ts.dial("user=s")
	ts.waitMembers("chat", 2)
	payload := strings.Repeat("d", 16<<10)
	received := 0
	// Send until the slow side has dropped something (bounded).
	for i := 0; i < 2000 && counter(t, ts, "chatbench_dropped_total", "reason", "queue_full") == 0; i++ {
		send(t, sender, payload)
		readMsg(t, sender)
		received++
	}
	if counter(t, ts, "chatbench_dropped_total", "reason", "queue_full") == 0 {
		t.Fatalf("nothing dropped after %d messages", received)
	}
	// The slow client is still connected: it can still send.
	send(t, slow, "alive")
	for {
		m := readMsg(t, sender)
		if m.Message == "alive" {
			break
		}
	}
	if n := counter(t, ts, "chatbench_disconnects_total"); n != 0 {
		t.Fatalf("%v disconnects, want none with --slow-policy drop", n)
	}
}

func TestOriginCheck(t *testing.T) {
	ts := startServer(t, config(func(c *server.Config) { c.AllowOrigins = []string{"*.trusted.test", "https://pinned.test"} }))
	cases := []struct {
		origin string
		want   int
	}{
		{"", http.StatusSwitchingProtocols},        // non-browser client
		{ts.base, http.StatusSwitchingProtocols},   // same origin
		{"http://evil.test", http.StatusForbidden}, // foreign
		{"https://app.trusted.test", http.StatusSwitchingProtocols},
		{"https://pinned.test", http.StatusSwitchingProtocols},
		{"http://pinned.test", http.StatusForbidden}, // scheme pinned
		{"not a url", http.StatusForbidden},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, resp, err := websocket.Dial(ctx, ts.wsURL("user=o"), &websocket.DialOptions{HTTPHeader: h})
		cancel()
		if c != nil {
			c.CloseNow()
		}
		if resp == nil {
			t.Fatalf("origin %q: no response: %v", tc.origin, err)
		}
		if resp.StatusCode != tc.want {
			t.Errorf("origin %q: status %d, want %d", tc.origin, resp.StatusCode, tc.want)
		}
	}
	if n := counter(t, ts, "chatbench_connections_rejected_total", "reason", "origin"); n != 3 {
		t.Errorf("rejected{origin} = %v, want 3", n)
	}
}

func TestToken(t *testing.T) {
	ts := startServer(t, config(func(c *server.Config) { c.Token = "s3cret" }))
	try := func(query string, h http.Header) int {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, ts.wsURL(query), &websocket.DialOptions{HTTPHeader: h})
		if c != nil {
			c.CloseNow()
		}
		if resp == nil {
			t.Fatalf("no response: %v", err)
		}
		return resp.StatusCode
	}
	if got := try("user=a", nil); got != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", got)
	}
	if got := try("user=a&token=wrong", nil); got != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", got)
	}
	if got := try("user=a&token=s3cret", nil); got != http.StatusSwitchingProtocols {
		t.Errorf("query token: %d, want 101", got)
	}
	if got := try("user=a", http.Header{"Authorization": {"Bearer s3cret"}}); got != http.StatusSwitchingProtocols {
		t.Errorf("bearer token: %d, want 101", got)
	}
}

func TestMaxConnsRefusesBeforeUpgrade(t *testing.T) {
	ts := startServer(t, config(func(c *server.Config) { c.MaxConns = 2 }))
	ts.dial("user=a")
	ts.dial("user=b")
	ts.waitMembers("chat", 2) // counted once upgraded: after the client saw its 101
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, ts.wsURL("user=c"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection: err %v, resp %v; want HTTP 503", err, resp)
	}
	if n := counter(t, ts, "chatbench_connections_rejected_total", "reason", "max_conns"); n != 1 {
		t.Errorf("rejected{max_conns} = %v, want 1", n)
	}
}

func TestGracefulShutdownClosesEverySocketWith1001(t *testing.T) {
	ts := startServer(t, config(nil))
	conns := []*websocket.Conn{ts.dial("user=a"), ts.dial("user=b&room=x"), ts.dial("user=c")}
	ts.waitMembers("chat", 2)
	ts.waitMembers("x", 1)
	codes := make(chan websocket.StatusCode, len(conns))
	for _, c := range conns {
		go func() { codes <- closeStatus(t, c) }()
	}
	if err := ts.stop(); err != nil {
		t.Fatalf("Run returned %v after shutdown, want nil", err)
	}
	for range conns {
		if code := <-codes; code != websocket.StatusGoingAway {
			t.Errorf("close code %v, want 1001", code)
		}
	}
	if _, err := http.Get(ts.base + "/healthz"); err == nil {
		t.Errorf("server still accepting after shutdown")
	}
}

func TestHalfOpenPeerIsDroppedAfterPingTimeout(t *testing.T) {
	// A timeout long enough that the reading client's pongs are never late,
	// even on a loaded machine.
	ts := startServer(t, config(func(c *server.Config) { c.PingInterval, c.PingTimeout = 200*time.Millisecond, time.Second }))
	// alive reads, so its library answers pings; mute never reads, so its
	// pongs never go out: to the server it is a half-open peer.
	alive := ts.dial("user=alive")
	mute := ts.dial("user=mute")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readErr := make(chan error, 1)
	go func() {
		_, _, err := alive.Read(ctx)
		readErr <- err
	}()
	_ = mute
	waitFor(t, "mute peer dropped", func() bool {
		return counter(t, ts, "chatbench_disconnects_total", "reason", "ping_timeout") == 1
	})
	// The reading client survived several ping rounds.
	if n := ts.RoomSize("chat"); n != 1 {
		t.Fatalf("%d members left, want the one that answers pings", n)
	}
	cancel()
	<-readErr
}

func TestPagesHealthReadyAndLintedMetrics(t *testing.T) {
	ts := startServer(t, config(nil))
	get := func(path string) (int, string) {
		resp, err := http.Get(ts.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/"); code != 200 || !strings.Contains(body, "new WebSocket(") || strings.Contains(body, "http://") && strings.Contains(body, "<script src") {
		t.Errorf("/: %d, page without same-origin WebSocket or with external scripts", code)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if code, body := get("/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}

	a, b := ts.dial("user=a"), ts.dial("user=b")
	ts.waitMembers("chat", 2)
	for i := range 3 {
		send(t, a, fmt.Sprintf("m%d", i))
	}
	for range 3 {
		readMsg(t, a)
		readMsg(t, b)
	}
	waitFor(t, "6 deliveries counted", func() bool { return counter(t, ts, "chatbench_deliveries_total") == 6 })
	checks := map[string]float64{
		"chatbench_messages_received_total":    3,
		"chatbench_received_bytes_total":       6,
		"chatbench_connections":                2,
		"chatbench_connections_accepted_total": 2,
		"chatbench_rooms":                      1,
		"chatbench_broadcast_seconds":          3, // sample count
	}
	for name, want := range checks {
		if got := counter(t, ts, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	_, text := get("/metrics")
	for _, name := range []string{"chatbench_deliveries_total 6", "process_resident_memory_bytes", "process_cpu_seconds_total", "go_goroutines"} {
		if !strings.Contains(text, name) {
			t.Errorf("/metrics lacks %q", name)
		}
	}
	problems, err := testutil.GatherAndLint(ts.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "chatbench_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
}

// A client may send its first frame in the same packet as its handshake;
// those bytes sit in net/http's buffer at hijack time and must not be lost.
func TestFrameSentWithTheHandshakeIsKept(t *testing.T) {
	ts := startServer(t, config(nil))
	watcher := ts.dial("user=w")
	ts.waitMembers("chat", 1)
	nc, err := net.Dial("tcp", strings.TrimPrefix(ts.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := "GET /ws?user=raw HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	// A masked text frame "hey" (mask key 0: payload unchanged).
	frame := []byte{0x81, 0x80 | 3, 0, 0, 0, 0, 'h', 'e', 'y'}
	if _, err := nc.Write(append([]byte(req), frame...)); err != nil {
		t.Fatal(err)
	}
	if got := readMsg(t, watcher); got != (chatMsg{User: "raw", Room: "chat", Message: "hey"}) {
		t.Fatalf("got %+v", got)
	}
}

// With a write delay, a quiet socket is written at once and a busy one has
// its frames batched into one write.
func TestWriteDelayBatchesBusySocketsOnly(t *testing.T) {
	const delay = 300 * time.Millisecond
	ts := startServer(t, config(func(c *server.Config) { c.WriteDelay = delay }))
	c := ts.dial("user=a")
	ts.waitMembers("chat", 1)

	start := time.Now()
	send(t, c, "first")
	readMsg(t, c)
	if took := time.Since(start); took >= delay {
		t.Errorf("a quiet socket's frame took %v, want it written at once (< %v)", took, delay)
	}
	// Now the socket is busy (written to less than a delay ago): a burst
	// waits out the delay and goes in one write.
	for i := range 5 {
		send(t, c, fmt.Sprintf("burst %d", i))
	}
	for range 5 {
		readMsg(t, c)
	}
	waitFor(t, "6 deliveries", func() bool { return counter(t, ts, "chatbench_deliveries_total") == 6 })
	if batches := counter(t, ts, "chatbench_write_batch_frames"); batches != 2 {
		t.Errorf("%v writes for 6 frames, want 2 (one, then the burst of 5 together)", batches)
	}
}

// A client that stops taking bytes is cut off by the write timeout even when
// its queue never fills (a large --send-queue), and the others carry on.
func TestWriteTimeoutDropsAStuckClient(t *testing.T) {
	ts := startServer(t, config(func(c *server.Config) {
		c.SendQueue, c.WriteTimeout, c.MaxMessageBytes, c.MaxMsgRate = 1<<20, 300*time.Millisecond, 64<<10, 0
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	smallBuf := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	stuck, _, err := websocket.Dial(ctx, ts.wsURL("user=stuck"), &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: smallBuf.DialContext}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.CloseNow()
	sender := ts.dial("user=s")
	ts.waitMembers("chat", 2)
	payload := strings.Repeat("w", 60<<10)
	// Bounded: the socket buffers hold a few MB; 400 × 60 KB is more.
	for i := 0; i < 400 && counter(t, ts, "chatbench_disconnects_total", "reason", "write_error") == 0; i++ {
		send(t, sender, payload)
		readMsg(t, sender)
	}
	waitFor(t, "the stuck client to be cut off by the write timeout", func() bool {
		return counter(t, ts, "chatbench_disconnects_total", "reason", "write_error") == 1
	})
	if n := counter(t, ts, "chatbench_disconnects_total", "reason", "slow_consumer"); n != 0 {
		t.Errorf("%v slow-consumer disconnects, want the write timeout to act (queue never full)", n)
	}
	send(t, sender, "still here")
	if m := readMsg(t, sender); m.Message != "still here" {
		t.Errorf("sender got %+v after the stuck client was dropped", m)
	}
}
