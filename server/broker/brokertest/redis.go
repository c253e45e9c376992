package brokertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a redis-server process of the test's own on a loopback port.
type Redis struct {
	port int
	dir  string
	args []string
	cmd  *exec.Cmd
}

var _ Process = (*Redis)(nil)

// StartRedis starts a dedicated redis-server on a free port with extra
// arguments, waits until it answers, and kills it when the test ends.
func StartRedis(t testing.TB, extra ...string) *Redis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server not installed: %v; install it with scripts/services.sh start (apt-get install redis-server)", err)
	}
	s := &Redis{port: FreePort(t), dir: t.TempDir(), args: extra}
	s.Start(t)
	t.Cleanup(func() { s.Stop(t) }) // SIGKILL ends a frozen server too
	return s
}

// Addr is the server's host:port.
func (s *Redis) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL implements Process.
func (s *Redis) URL() string { return "redis://" + s.Addr() + "/0" }

// Start implements Process.
func (s *Redis) Start(t testing.TB) {
	t.Helper()
	args := append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port), "--save", "",
		"--appendonly", "no", "--dir", s.dir, "--logfile", filepath.Join(s.dir, "redis.log")}, s.args...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer c.Close()
	var err error
	ok := WaitUntil(10*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		err = c.Ping(ctx).Err()
		return err == nil
	})
	if !ok {
		log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
		t.Fatalf("redis-server on %s did not answer within 10s: %v\n%s", s.Addr(), err, log)
	}
}

// Stop implements Process: SIGKILL, an abrupt loss as in a crash.
func (s *Redis) Stop(testing.TB) {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Freeze implements Process.
func (s *Redis) Freeze(t testing.TB) { signal(t, syscall.SIGSTOP, s.cmd.Process.Pid) }

// Thaw implements Process.
func (s *Redis) Thaw(t testing.TB) { signal(t, syscall.SIGCONT, s.cmd.Process.Pid) }

// RedisCluster is a 3-master Redis Cluster of the test's own; as a Process
// it stops, starts, freezes and thaws all its nodes together.
type RedisCluster struct {
	Nodes []*Redis
}

var _ Process = (*RedisCluster)(nil)

// StartRedisCluster starts a 3-master Redis Cluster on free loopback ports,
// in temporary directories, waits until every node reports it ok, and stops
// it when the test ends.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Fatalf("redis-cli not installed: %v; install redis-server (scripts/services.sh start)", err)
	}
	c := &RedisCluster{}
	for range 3 {
		c.Nodes = append(c.Nodes, StartRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "2000"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append(append([]string{"--cluster", "create"}, c.Addrs()...), "--cluster-yes")
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.awaitOK(t)
	return c
}

// Addrs are the nodes' host:port, the broker's seed addresses.
func (c *RedisCluster) Addrs() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, n.Addr())
	}
	return out
}

// awaitOK waits until every node agrees the cluster is ok.
func (c *RedisCluster) awaitOK(t testing.TB) {
	t.Helper()
	for _, a := range c.Addrs() {
		rc := redis.NewClient(&redis.Options{Addr: a})
		ok := WaitUntil(15*time.Second, func() bool {
			info, err := rc.ClusterInfo(context.Background()).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok")
		})
		rc.Close()
		if !ok {
			t.Fatalf("cluster node %s not ok within 15s", a)
		}
	}
}

// URL implements Process; the cluster has no URL: brokers take Addrs.
func (c *RedisCluster) URL() string { return "redis://" + c.Nodes[0].Addr() }

// each calls f(n, t) for every node.
func (c *RedisCluster) each(t testing.TB, f func(*Redis, testing.TB)) {
	for _, n := range c.Nodes {
		f(n, t)
	}
}

// Stop implements Process.
func (c *RedisCluster) Stop(t testing.TB) { c.each(t, (*Redis).Stop) }

// Start implements Process: the nodes restart from their nodes.conf and
// form the same cluster again.
func (c *RedisCluster) Start(t testing.TB) {
	c.each(t, (*Redis).Start)
	c.awaitOK(t)
}

// Freeze implements Process.
func (c *RedisCluster) Freeze(t testing.TB) { c.each(t, (*Redis).Freeze) }

// Thaw implements Process.
func (c *RedisCluster) Thaw(t testing.TB) { c.each(t, (*Redis).Thaw) }
