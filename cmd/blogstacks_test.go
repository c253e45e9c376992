package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen/results"
	"github.com/coder/websocket"
	amqp "github.com/rabbitmq/amqp091-go"
)

// The blog's three stacks (scripts/blog), run as real Python processes on
// the shared Redis (6379) and RabbitMQ (5672), each test on its own channel
// or exchange, and measured by the real chatbench swarm with the blog's
// protocol (user name first).

const blogPython = "/usr/bin/python3"

var blogScripts = filepath.Join("..", "scripts", "blog")

// requireBlogPython fails, never skips: a machine that cannot run the
// blog's stacks cannot check the blog's claims.
func requireBlogPython(t *testing.T) {
	t.Helper()
	out, err := exec.Command(blogPython, "-c", "import fastapi, uvicorn, redis.asyncio, aio_pika").CombinedOutput()
	if err != nil {
		t.Fatalf("%s cannot import the blog stacks' modules (%v: %s); install the Debian packages python3-fastapi "+
			"python3-uvicorn python3-redis python3-aio-pika", blogPython, err, bytes.TrimSpace(out))
	}
}

// lockedBuffer collects a child's output while exec copies it.
type lockedBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string // the first line, once
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	hadLine := bytes.IndexByte(b.buf.Bytes(), '\n') >= 0
	b.buf.Write(p)
	if i := bytes.IndexByte(b.buf.Bytes(), '\n'); !hadLine && i >= 0 && b.lines != nil {
		b.lines <- b.buf.String()[:i]
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type blogServer struct {
	cmd    *exec.Cmd
	addr   string // host:port from the first stdout line
	stderr *lockedBuffer
	failed bool // exited before listening: already reported
}

// startBlogServer runs scripts/blog/<script> --port 0 and waits for the
// line that says where it listens. At cleanup it sends SIGTERM and expects
// exit 0 without a Python traceback.
func startBlogServer(t *testing.T, script string, args ...string) *blogServer {
	t.Helper()
	path := filepath.Join(blogScripts, script)
	cmd := exec.Command(blogPython, append([]string{path, "--port", "0"}, args...)...)
	stdout := &lockedBuffer{lines: make(chan string, 1)}
	s := &blogServer{cmd: cmd, stderr: &lockedBuffer{}}
	cmd.Stdout, cmd.Stderr = stdout, s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { s.stop(t, exited) })
	var line string
	select {
	case line = <-stdout.lines:
	case err := <-exited:
		s.failed = true
		exited <- err // for stop
		t.Fatalf("%s exited before listening (%v); stderr: %s", script, err, s.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s printed no address in 30 s; stderr: %s", script, s.stderr)
	}
	_, rest, ok := strings.Cut(line, ": listening on http://")
	if !ok {
		t.Fatalf("%s: first stdout line %q, want \"...: listening on http://HOST:PORT ...\"", script, line)
	}
	s.addr = strings.Fields(rest)[0]
	return s
}

func (s *blogServer) stop(t *testing.T, exited chan error) {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		if s.failed {
			return
		}
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-exited
		t.Errorf("%v did not stop 15 s after SIGTERM; stderr:\n%s", s.cmd.Args, s.stderr)
		return
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 || strings.Contains(s.stderr.String(), "Traceback") {
		t.Errorf("%v: exit %d after SIGTERM, want 0 and no traceback; stderr:\n%s", s.cmd.Args, code, s.stderr)
	}
}

func (s *blogServer) url() string { return "ws://" + s.addr + "/ws" }

// blogStack is one of the three designs and how to start one process of it.
type blogStack struct {
	script string
	procs  int                          // processes sharing one broker channel
	args   func(unique string) []string // broker flags
}

var blogStacks = []blogStack{
	{"memory.py", 1, func(string) []string { return nil }},
	{"redis_pubsub.py", 2, func(u string) []string { return []string{"--channel", u} }},
	{"rabbitmq_fanout.py", 2, func(u string) []string { return []string{"--exchange", u} }},
}

// eachBlogStack runs test as a subtest per stack, its processes started.
func eachBlogStack(t *testing.T, test func(t *testing.T, st blogStack, servers []*blogServer)) {
	if testing.Short() {
		t.Skip("starts Python servers; needs Redis and RabbitMQ: skipped with -short")
	}
	requireBlogPython(t)
	for _, st := range blogStacks {
		t.Run(strings.TrimSuffix(st.script, ".py"), func(t *testing.T) { test(t, st, startBlogStack(t, st)) })
	}
}

func startBlogStack(t *testing.T, st blogStack) []*blogServer {
	t.Helper()
	unique := fmt.Sprintf("cbblog-%d-%d", os.Getpid(), time.Now().UnixNano())
	if st.script == "rabbitmq_fanout.py" {
		t.Cleanup(func() { deleteExchange(t, unique) }) // runs after the servers stop
	}
	var servers []*blogServer
	for range st.procs {
		servers = append(servers, startBlogServer(t, st.script, st.args(unique)...))
	}
	return servers
}

// deleteExchange removes a test's fanout exchange from the shared RabbitMQ
// (the blog declares it non-durable but not auto-delete).
func deleteExchange(t *testing.T, name string) {
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		t.Errorf("deleting exchange %s: %v", name, err)
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err == nil {
		err = ch.ExchangeDelete(name, false, false)
	}
	if err != nil {
		t.Errorf("deleting exchange %s: %v", name, err)
	}
}

// Each stack under the real swarm with the blog's protocol: 40 clients
// (spread over two processes for Redis and RabbitMQ, so most deliveries
// cross processes through the broker), one room, 4 senders at 2/s for 3 s.
// Every client connects and every probe reaches all 40, exactly once.
func TestBlogStacksUnderSwarm(t *testing.T) {
	eachBlogStack(t, func(t *testing.T, st blogStack, servers []*blogServer) {
		out := filepath.Join(t.TempDir(), "blog.json")
		args := []string{"swarm", "-n", "40", "--hello", "{{user}}", "--senders", "4", "--rate", "2/s",
			"--warmup", "1s", "--duration", "3s", "--settle", "0", "--out", out}
		for _, s := range servers {
			args = append(args, "--url", s.url(), "--server-pid", fmt.Sprint(s.cmd.Process.Pid))
		}
		code, stdout, stderr := runChatbench(t, args...)
		if code != 0 {
			t.Fatalf("swarm exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		res, err := results.ReadRun(out)
		if err != nil {
			t.Fatal(err)
		}
		s := res.Summary
		t.Logf("%s: p50 %.2f p99 %.2f ms; sent %d expected %d delivered %d; server %s",
			st.script, s.LatencyMs.P50, s.LatencyMs.P99, s.Sent, s.Expected, s.Delivered, results.CostLine(res.Server, "per delivery", "per connection"))
		if s.Connected != 40 || s.ConnectErrors != 0 || s.Disconnected != 0 {
			t.Errorf("connected %d, connect errors %d, lost mid-run %d; want all 40 connected for the whole run",
				s.Connected, s.ConnectErrors, s.Disconnected)
		}
		// 4 senders × 2/s × 3 s steady phase.
		if s.Sent != 24 || s.SendErrors != 0 {
			t.Errorf("sent %d (%d errors), want 24 probes", s.Sent, s.SendErrors)
		}
		if s.Expected != s.Sent*40 || s.Delivered != s.Expected || s.Lost != 0 || s.Duplicated != 0 ||
			s.OutOfOrder != 0 || s.Foreign != 0 || s.Misrouted != 0 || s.Unexpected != 0 {
			t.Errorf("sent %d expected %d delivered %d lost %d duplicated %d out of order %d foreign %d; "+
				"want every probe delivered to all 40 once, in order", s.Sent, s.Expected, s.Delivered, s.Lost,
				s.Duplicated, s.OutOfOrder, s.Foreign)
		}
		if len(res.Server.Processes) != len(servers) || res.Environment.Compression {
			t.Errorf("server cost %+v, compression %v: want every process read from /proc, no compression offered",
				res.Server, res.Environment.Compression)
		}
		for _, p := range res.Server.Processes {
			if p.Source != "proc" || p.Error != "" || p.End == nil {
				t.Errorf("server process %+v: want read from /proc at every sample", p)
			}
		}
	})
}

// dialBlog connects and sends the user name, the blog page's first frame.
// At cleanup the client vanishes without a close frame (CloseNow); the
// server must still let it go, or it would not exit on SIGTERM (stop).
func dialBlog(ctx context.Context, t *testing.T, url, user string, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	if err := c.Write(ctx, websocket.MessageText, []byte(user)); err != nil {
		t.Fatalf("hello %s: %v", user, err)
	}
	return c
}

// readEnvelope reads one frame and decodes the blog's {"user","message"}.
func readEnvelope(ctx context.Context, t *testing.T, c *websocket.Conn) map[string]string {
	t.Helper()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m map[string]string
	if typ != websocket.MessageText || json.Unmarshal(b, &m) != nil {
		t.Fatalf("frame %v %q: want a text frame holding a JSON object of strings", typ, b)
	}
	return m
}

// The wire format the blog's page reads: alice's "hi" arrives at alice and
// at bob (on the other process for Redis and RabbitMQ) as exactly
// {"user": "alice", "message": "hi"}.
func TestBlogStacksEnvelope(t *testing.T) {
	eachBlogStack(t, func(t *testing.T, _ blogStack, servers []*blogServer) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		alice := dialBlog(ctx, t, servers[0].url(), "alice", nil)
		bob := dialBlog(ctx, t, servers[len(servers)-1].url(), "bob", nil)
		if err := alice.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"user": "alice", "message": "hi"}
		for name, c := range map[string]*websocket.Conn{"alice": alice, "bob": bob} {
			if got := readEnvelope(ctx, t, c); !maps.Equal(got, want) {
				t.Errorf("%s received %v, want %v", name, got, want)
			}
		}
	})
}

// --protocol raw is the blog's first endpoint: no name frame, every frame
// broadcast as it came.
func TestBlogStacksMemoryRaw(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Python server")
	}
	requireBlogPython(t)
	srv := startBlogServer(t, "memory.py", "--protocol", "raw")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const want = "AnonymousABC: Hello!"         // what the blog's first page sends
	a := dialBlog(ctx, t, srv.url(), want, nil) // not a name: the first frame is a message too
	if typ, b, err := a.Read(ctx); err != nil || typ != websocket.MessageText || string(b) != want {
		t.Fatalf("read %v %q %v, want text %q", typ, b, err, want)
	}
}

// uvicorn accepts permessage-deflate when the client offers it (the blog's
// default: browsers offer it); --no-deflate refuses it. Messages arrive
// either way.
func TestBlogStacksDeflate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Python servers")
	}
	requireBlogPython(t)
	for _, tc := range []struct {
		args []string
		want bool
	}{{nil, true}, {[]string{"--no-deflate"}, false}} {
		t.Run(fmt.Sprintf("deflate=%v", tc.want), func(t *testing.T) {
			srv := startBlogServer(t, "memory.py", tc.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, srv.url(), &websocket.DialOptions{CompressionMode: websocket.CompressionContextTakeover})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			ext := resp.Header.Get("Sec-WebSocket-Extensions")
			if got := strings.Contains(ext, "permessage-deflate"); got != tc.want {
				t.Errorf("Sec-WebSocket-Extensions %q: negotiated %v, want %v", ext, got, tc.want)
			}
			for _, frame := range []string{"carol", strings.Repeat("compressible ", 100)} {
				if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
					t.Fatal(err)
				}
			}
			if got := readEnvelope(ctx, t, c); got["user"] != "carol" || got["message"] != strings.Repeat("compressible ", 100) {
				t.Errorf("received %.80v", got)
			}
		})
	}
}

// closedPort is a loopback port nothing listens on: it was free a moment ago.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// runBlogScript runs a script (after python's own flags pyFlags) to its end
// and returns exit code and output.
func runBlogScript(t *testing.T, pyFlags []string, script string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	argv := append(append(append([]string{}, pyFlags...), filepath.Join(blogScripts, script)), args...)
	cmd := exec.Command(blogPython, argv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = time.Second
	timer := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("%s %v: %v", script, args, err)
		}
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// A broker that cannot be reached, and bad flags: one line naming the
// problem on stderr, nothing on stdout (it never said it listens), exit 2.
func TestBlogStacksBadInputIsExit2(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Python processes")
	}
	requireBlogPython(t)
	port := closedPort(t)
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	inUse := fmt.Sprint(held.Addr().(*net.TCPAddr).Port)
	redisURL := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	amqpURL := fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", port)
	for _, tc := range []struct {
		py     []string // python's own flags
		script string
		args   []string
		want   string
	}{
		// -S: no site-packages, so no fastapi: as on a machine without python3-fastapi.
		{[]string{"-S"}, "memory.py", nil, "Python module fastapi is missing (No module named 'fastapi'); install the Debian package python3-fastapi"},
		{nil, "redis_pubsub.py", []string{"--redis-url", redisURL}, "cannot reach Redis at " + redisURL},
		{nil, "redis_pubsub.py", []string{"--redis-url", "nonsense"}, "cannot reach Redis at nonsense"},
		{nil, "rabbitmq_fanout.py", []string{"--amqp-url", amqpURL}, "cannot reach RabbitMQ at " + amqpURL},
		{nil, "memory.py", []string{"--host", "0.0.0.0"}, "--host '0.0.0.0': want a loopback address"},
		{nil, "memory.py", []string{"--port", "70000"}, "--port 70000: want 0..65535"},
		{nil, "memory.py", []string{"--port", inUse}, "cannot listen on 127.0.0.1:" + inUse + ": Address already in use"},
		{nil, "memory.py", []string{"--protocol", "xml"}, "argument --protocol: invalid choice: 'xml'"},
		{nil, "memory.py", []string{"--bogus"}, "unrecognized arguments: --bogus"},
	} {
		code, stdout, stderr := runBlogScript(t, tc.py, tc.script, append([]string{"--port", "0"}, tc.args...)...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v %s %v: exit %d, stdout %q, stderr %q; want exit 2, no stdout, one stderr line containing %q",
				tc.py, tc.script, tc.args, code, stdout, stderr, tc.want)
		}
	}
}

// The blog's broadcast awaits each socket in turn: a client that stops
// reading holds back every client after it in the list. Here S (first in
// the list, a small receive buffer) does not read while W sends more than
// the socket buffers between the server and S can hold; R (after S) gets
// only some of the frames until S reads again, then all of them.
func TestBlogStacksMemorySlowSocketDelaysOthers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Python server")
	}
	requireBlogPython(t)
	srv := startBlogServer(t, "memory.py")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const size = 256 << 10
	// The server's send buffer grows to tcp_wmem's maximum at most; S's
	// receive buffer is fixed at 64 KiB (no autotuning) and uvicorn holds
	// 64 KiB before it stops writing. Four times that is sure to stall.
	frames := int(4*(tcpWmemMax(t)+(256<<10))/size) + 1
	slow := dialBlog(ctx, t, srv.url(), "slow", smallRcvbuf(t, 64<<10))
	reader := dialBlog(ctx, t, srv.url(), "reader", nil)
	writer := dialBlog(ctx, t, srv.url(), "writer", nil)
	got := make(chan int, frames) // R's running count of frames received
	for _, c := range []*websocket.Conn{slow, reader, writer} {
		c.SetReadLimit(2 * size)
	}
	go drain(ctx, writer, nil)
	go drain(ctx, reader, got)
	wrote := make(chan error, 1)
	go func() { // W's frames back up too once the server stops reading them
		for range frames {
			if err := writer.Write(ctx, websocket.MessageText, bytes.Repeat([]byte("x"), size)); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}()
	seen := 0
	stalled := time.After(2 * time.Second)
held:
	for seen < frames {
		select {
		case seen = <-got:
		case <-stalled:
			break held
		}
	}
	if seen >= frames {
		t.Fatalf("reader got all %d frames while the first socket read nothing; want the broadcast held back", frames)
	}
	t.Logf("reader had %d of %d frames while the first socket was not reading", seen, frames)
	go drain(ctx, slow, nil)
	for seen < frames {
		select {
		case seen = <-got:
		case <-ctx.Done():
			t.Fatalf("reader got %d of %d frames after the slow socket resumed reading", seen, frames)
		}
	}
	if err := <-wrote; err != nil {
		t.Fatalf("writer: %v", err)
	}
}

// tcpWmemMax is the largest send buffer TCP autotuning gives a socket.
func tcpWmemMax(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_wmem")
	f := strings.Fields(string(b))
	if err != nil || len(f) != 3 {
		t.Fatalf("tcp_wmem: %v %q", err, b)
	}
	n, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// smallRcvbuf dials with a fixed receive buffer, which turns autotuning off.
func smallRcvbuf(t *testing.T, bytes int) *websocket.DialOptions {
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, bytes)
		}); err != nil {
			return err
		}
		return serr
	}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}}
}

// drain reads frames until the connection ends, sending the running count.
func drain(ctx context.Context, c *websocket.Conn, count chan<- int) {
	for n := 1; ; n++ {
		if _, _, err := c.Read(ctx); err != nil {
			return
		}
		if count != nil {
			count <- n
		}
	}
}
