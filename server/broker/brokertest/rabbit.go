package brokertest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Rabbit is a RabbitMQ node of the test's own: its own node name, AMQP and
// distribution ports on loopback, and its own data and log directories, so
// stopping it never touches the shared node on 5672.
type Rabbit struct {
	name       string
	port, dist int
	dir        string
	env        []string
}

var _ Process = (*Rabbit)(nil)

// StartRabbit starts a dedicated node (about 3 to 5 s) and stops it, and
// removes its files, when the test ends.
func StartRabbit(t testing.TB) *Rabbit {
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
	plugins := filepath.Join(dir, "enabled_plugins")
	if err := os.WriteFile(plugins, []byte("[].\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		u, err := user.Lookup("rabbitmq")
		if err != nil {
			t.Fatalf("user rabbitmq: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, p := range []string{dir, plugins} {
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	n := &Rabbit{dir: dir, port: FreePort(t), dist: FreePort(t)}
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
		"RABBITMQ_ENABLED_PLUGINS_FILE="+plugins, // no management listener clash
	)
	n.Start(t)
	t.Cleanup(n.stopOrKill)
	return n
}

// URL implements Process.
func (n *Rabbit) URL() string { return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", n.port) }

func (n *Rabbit) ctl(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "rabbitmqctl", append([]string{"-n", n.name, "-q"}, args...)...)
	cmd.Env = n.env
	return cmd.CombinedOutput()
}

// Start implements Process: it boots the node and waits (40 s at most)
// until it has started.
func (n *Rabbit) Start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "rabbitmq-server", "-detached")
	cmd.Env = n.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rabbitmq-server -detached: %v\n%s", err, out)
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
	t.Fatalf("rabbitmq node %s did not start within 40s: %v\n%s\nlog tail:\n%s", n.name, err, out, log)
}

// Stop implements Process: a node stop (20 s at most).
func (n *Rabbit) Stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := n.ctl(ctx, "stop"); err != nil {
		t.Fatalf("rabbitmqctl stop: %v\n%s", err, out)
	}
}

// stopOrKill ends the node at the end of the test, frozen or not.
func (n *Rabbit) stopOrKill() {
	pid, err := n.pid()
	if err == nil {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := n.ctl(ctx, "stop"); err != nil && pid != 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// pid returns the node's Erlang VM process, checking that the pid file's
// process is still this node's (a stale pid may be anyone's by now).
func (n *Rabbit) pid() (int, error) {
	b, err := os.ReadFile(filepath.Join(n.dir, "pid"))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	if err != nil {
		return 0, fmt.Errorf("pid file: %w", err)
	}
	// The node keeps its log and data files, under n.dir, open.
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if strings.HasPrefix(target, n.dir+"/") {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("pid %d has no file of node %s open", pid, n.name)
}

// Freeze implements Process: SIGSTOP to the node's Erlang VM.
func (n *Rabbit) Freeze(t testing.TB) { n.signal(t, syscall.SIGSTOP) }

// Thaw implements Process.
func (n *Rabbit) Thaw(t testing.TB) { n.signal(t, syscall.SIGCONT) }

func (n *Rabbit) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	pid, err := n.pid()
	if err != nil {
		t.Fatalf("rabbitmq node pid: %v", err)
	}
	signal(t, sig, pid)
}

// Kill ends the node's Erlang VM with SIGKILL, a crash: nothing is flushed
// or closed cleanly. It waits (10 s at most) until the process is gone;
// Start brings the node back on the same data directory.
func (n *Rabbit) Kill(t testing.TB) {
	t.Helper()
	pid, err := n.pid()
	if err != nil {
		t.Fatalf("rabbitmq node pid: %v", err)
	}
	signal(t, syscall.SIGKILL, pid)
	// The VM is not the test's child (-detached): there is no exit to
	// wait on, only /proc to watch.
	if !WaitUntil(10*time.Second, func() bool { return gone(pid) }) {
		t.Fatalf("rabbitmq node pid %d still alive 10s after SIGKILL", pid)
	}
}

// CloseConnections closes every client connection from the broker's side
// (rabbitmqctl close_all_connections); the node stays up.
func (n *Rabbit) CloseConnections(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := n.ctl(ctx, "close_all_connections", "chatbench test: connection drop"); err != nil {
		t.Fatalf("rabbitmqctl close_all_connections: %v\n%s", err, out)
	}
}

// gone reports whether process pid has ended: it no longer exists, or is a
// zombie nobody reaped yet (a container's init may not).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}
