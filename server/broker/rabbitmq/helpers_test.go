package rabbitmq

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// sharedURL returns the URL of the shared test RabbitMQ (CHATBENCH_AMQP_URL
// or the default). Under -short it skips; otherwise an unreachable server
// fails the test with how to start it.
func sharedURL(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs rabbitmq-server (skipped with -short)")
	}
	u := os.Getenv("CHATBENCH_AMQP_URL")
	if u == "" {
		u = DefaultURL
	}
	c, err := amqp.DialConfig(u, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
	if err != nil {
		t.Fatalf("rabbitmq not reachable at %s: %v\nstart it with: scripts/services.sh start (or rabbitmq-server)", u, err)
	}
	_ = c.Close()
	return u
}

func unique(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// testExchange returns a unique exchange name and deletes the exchange on
// u when the test ends (exchanges are durable).
func testExchange(t *testing.T, u string) string {
	name := unique("chatbench-test-")
	t.Cleanup(func() {
		c, err := amqp.DialConfig(u, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
		if err != nil {
			return // the server may be one the test stopped
		}
		defer c.Close()
		if ch, err := c.Channel(); err == nil {
			_ = ch.ExchangeDelete(name, false, false)
		}
	})
	return name
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// rabbitNode is a RabbitMQ node of the test's own: its own node name, AMQP
// and distribution ports on loopback, and its own data and log directories,
// so stopping it never touches the shared node on 5672.
type rabbitNode struct {
	t          *testing.T
	name       string
	port, dist int
	dir        string
	env        []string
}

func (n *rabbitNode) url() string { return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", n.port) }

// startRabbitNode starts a dedicated node and stops it (and removes its
// files) when the test ends.
func startRabbitNode(t *testing.T) *rabbitNode {
	t.Helper()
	if _, err := exec.LookPath("rabbitmq-server"); err != nil {
		t.Fatalf("rabbitmq-server not installed: %v; install it with scripts/services.sh start", err)
	}
	// The Debian wrapper runs the node as the rabbitmq user when started by
	// root, so its directory must belong to that user (t.TempDir's parent
	// is private to root).
	dir, err := os.MkdirTemp("", "cbfault-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "enabled_plugins"), []byte("[].\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		u, err := user.Lookup("rabbitmq")
		if err != nil {
			t.Fatalf("user rabbitmq: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, p := range []string{dir, filepath.Join(dir, "enabled_plugins")} {
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	n := &rabbitNode{t: t, dir: dir, port: freePort(t), dist: freePort(t)}
	n.name = fmt.Sprintf("cbfault-%d-%d@localhost", os.Getpid(), n.port)
	n.env = append(os.Environ(),
		"RABBITMQ_NODENAME="+n.name,
		"RABBITMQ_NODE_PORT="+strconv.Itoa(n.port),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(n.dist),
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"ERL_EPMD_ADDRESS=127.0.0.1",
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}",
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_PID_FILE="+filepath.Join(dir, "pid"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"), // no management listener clash
	)
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *rabbitNode) ctl(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "rabbitmqctl", append([]string{"-n", n.name, "-q"}, args...)...)
	cmd.Env = n.env
	return cmd.CombinedOutput()
}

// start boots the node and waits until it has started (bounded).
func (n *rabbitNode) start() {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "rabbitmq-server", "-detached")
	cmd.Env = n.env
	if out, err := cmd.CombinedOutput(); err != nil {
		n.t.Fatalf("rabbitmq-server -detached: %v\n%s", err, out)
	}
	// await_startup fails (rc 69) while the node is not yet up; poll it.
	var out []byte
	var err error
	for i := 0; i < 120 && ctx.Err() == nil; i++ {
		actx, acancel := context.WithTimeout(ctx, 10*time.Second)
		out, err = n.ctl(actx, "await_startup", "--timeout", "5")
		acancel()
		if err == nil {
			return
		}
		time.Sleep(250 * time.Millisecond) // nothing to wait on but the node itself
	}
	log, _ := os.ReadFile(filepath.Join(n.dir, "log", n.name+".log"))
	if len(log) > 4000 {
		log = log[len(log)-4000:]
	}
	n.t.Fatalf("rabbitmq node %s did not start within 40s: %v\n%s\nlog tail:\n%s", n.name, err, out, log)
}

// stop stops the node (bounded); a node that does not stop is killed by pid.
func (n *rabbitNode) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := n.ctl(ctx, "stop"); err == nil {
		return
	}
	if b, err := os.ReadFile(filepath.Join(n.dir, "pid")); err == nil {
		if pid, err := strconv.Atoi(string(trimSpace(b))); err == nil && pid > 0 {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		}
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return cond()
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
