package redisbroker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// sharedURL returns the URL of the shared test Redis (CHATBENCH_REDIS_URL or
// the default). Under -short it skips; otherwise an unreachable server fails
// the test with how to start it.
func sharedURL(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs redis-server (skipped with -short)")
	}
	u := os.Getenv("CHATBENCH_REDIS_URL")
	if u == "" {
		u = DefaultURL
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("CHATBENCH_REDIS_URL %q: %v", u, err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis not reachable at %s: %v\nstart it with: scripts/services.sh start (or redis-server --bind 127.0.0.1 --port 6379)", u, err)
	}
	return u
}

func uniquePrefix(t *testing.T) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "chatbench-test-" + hex.EncodeToString(b[:]) + ":"
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// redisServer is a redis-server process of the test's own on a loopback port.
type redisServer struct {
	t    *testing.T
	port int
	dir  string
	args []string
	cmd  *exec.Cmd
}

// startRedis starts a dedicated redis-server on port (0: a free one) with
// extra arguments, waits until it answers, and stops it when the test ends.
func startRedis(t *testing.T, port int, extra ...string) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server not installed: %v; install it with scripts/services.sh start (apt-get install redis-server)", err)
	}
	if port == 0 {
		port = freePort(t)
	}
	s := &redisServer{t: t, port: port, dir: t.TempDir(), args: extra}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }
func (s *redisServer) url() string  { return "redis://" + s.addr() + "/0" }

func (s *redisServer) start() {
	s.t.Helper()
	args := append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port), "--save", "",
		"--appendonly", "no", "--dir", s.dir, "--logfile", filepath.Join(s.dir, "redis.log")}, s.args...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; i < 400; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.t.Fatalf("redis-server on %s did not answer within 10s: %v\n%s", s.addr(), err, log)
		}
		time.Sleep(25 * time.Millisecond) // polling a process with no readiness signal
	}
}

// stop kills the server (SIGKILL: an abrupt loss, as in a crash) and reaps it.
func (s *redisServer) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// waitUntil polls cond every 10 ms until it holds or d passes.
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

func fmtStats(s Stats) string { return fmt.Sprintf("%+v", s) }
