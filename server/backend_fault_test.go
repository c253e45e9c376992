package server_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server"
	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/redisbroker"
	"github.com/coder/websocket"
)

// startRedis runs a redis-server of the test's own on a free loopback port
// (the shared one on 6379 must not be disturbed) and returns its port and a
// function that kills it.
func startRedis(t *testing.T, port int) (kill func()) {
	t.Helper()
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server (apt-get install redis-server, or scripts/services.sh start): %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	kill = func() {
		_ = cmd.Process.Kill()
		<-done
	}
	t.Cleanup(kill)
	waitFor(t, "redis-server to listen", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return kill
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// A node whose Redis goes away stays up, keeps serving its local members,
// says so on /readyz and counts what it could not publish; when Redis is
// back it reconnects by itself.
func TestNodeSurvivesLosingRedis(t *testing.T) {
	integration(t)
	port := freePort(t)
	kill := startRedis(t, port)
	reg := server.NewRegistry() // shared, as chatbench serve does: /metrics has both
	b, err := redisbroker.New(redisbroker.Config{
		URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), Registerer: reg,
		Lifecycle: broker.Lifecycle{ReconnectMax: 200 * time.Millisecond, HealthInterval: 200 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, config(func(c *server.Config) { c.Broker, c.Registry = b, reg }))
	a, z := ts.dial("room=r&user=a"), ts.dial("room=r&user=z")
	ts.waitMembers("r", 2)
	ready := func() (int, string) {
		resp, err := http.Get(ts.base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := ready(); code != 200 {
		t.Fatalf("/readyz %d %q with Redis up", code, body)
	}

	kill()
	waitFor(t, "/readyz to report Redis down", func() bool { code, _ := ready(); return code == 503 })
	if _, body := ready(); !strings.Contains(body, "redis") {
		t.Errorf("/readyz body %q does not name the backend", body)
	}
	send(t, a, "while redis is down")
	for _, c := range []string{"a", "z"} {
		conn := map[string]*websocket.Conn{"a": a, "z": z}[c]
		if m := readMsg(t, conn); m.Message != "while redis is down" {
			t.Errorf("%s got %+v", c, m)
		}
	}
	waitFor(t, "the lost publish to be counted", func() bool {
		return counter(t, ts, "chatbench_publish_errors_total") >= 1
	})

	startRedis(t, port)
	waitFor(t, "/readyz to recover", func() bool { code, _ := ready(); return code == 200 })
	if d := counter(t, ts, "chatbench_backend_down_seconds_total"); d <= 0 {
		t.Errorf("chatbench_backend_down_seconds_total = %v after an outage, want > 0", d)
	}
	if n := counter(t, ts, "chatbench_backend_reconnects_total"); n < 1 {
		t.Errorf("chatbench_backend_reconnects_total = %v, want ≥ 1", n)
	}
}
