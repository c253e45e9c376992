package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
)

// Broker is a redis-server or rabbitmq-server this package started, in its
// own process group (killed, stopped and continued as one), on its own
// loopback port and directory.
type Broker struct {
	Kind string // Redis or RabbitMQ
	Port int
	bin  string
	dir  string
	env  []string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
	// epmd is RabbitMQ's port mapper, started by us on a port of its own
	// so that the user's epmd (and RabbitMQ) is never touched.
	epmd *exec.Cmd
}

// brokerBinaries finds the broker's server binary on PATH (for RabbitMQ:
// the script that runs the server as the calling user, beside Debian's
// wrapper that switches to the rabbitmq user) and, for RabbitMQ, epmd.
func brokerBinaries(kind string) (bin, epmd string, err error) {
	switch kind {
	case Redis:
		bin, err = exec.LookPath("redis-server")
		if err != nil {
			return "", "", &MissingError{Binary: "redis-server", Install: "apt-get install redis-server"}
		}
		return bin, "", nil
	case RabbitMQ:
		bin, err = exec.LookPath("rabbitmq-server")
		if err != nil {
			return "", "", &MissingError{Binary: "rabbitmq-server", Install: "apt-get install rabbitmq-server"}
		}
		// Debian's rabbitmq-server (a link to rabbitmq-script-wrapper)
		// switches to the rabbitmq user, who cannot write our directory,
		// and re-runs itself under that name: run the server script it
		// wraps, and never the wrapper.
		if lib := filepath.Join(filepath.Dir(bin), "..", "lib", "rabbitmq", "bin", "rabbitmq-server"); fileExists(lib) {
			bin = filepath.Clean(lib)
		}
		if real, _ := filepath.EvalSymlinks(bin); filepath.Base(real) == "rabbitmq-script-wrapper" {
			return "", "", &MissingError{Binary: "rabbitmq-server (the server script, not Debian's wrapper " + bin + ")", Install: "apt-get install rabbitmq-server"}
		}
		epmd, err = exec.LookPath("epmd")
		if err != nil {
			return "", "", &MissingError{Binary: "epmd", Install: "apt-get install erlang-base"}
		}
		return bin, epmd, nil
	}
	return "", "", fmt.Errorf("no broker for backend %q", kind)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// MissingError is a broker binary not found: a usage problem.
type MissingError struct{ Binary, Install string }

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s not found on PATH: chaos starts its own broker (%s)", e.Binary, e.Install)
}

// StartBroker starts a broker of kind in dir (which it owns until Stop).
func StartBroker(ctx context.Context, kind, dir string) (*Broker, error) {
	bin, epmd, err := brokerBinaries(kind)
	if err != nil {
		return nil, err
	}
	b := &Broker{Kind: kind, bin: bin, dir: dir}
	if b.Port, err = freePort(); err != nil {
		return nil, err
	}
	switch kind {
	case Redis:
		b.args = []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(b.Port), "--save", "", "--appendonly", "no",
			"--dir", dir, "--logfile", filepath.Join(dir, "redis.log")}
	case RabbitMQ:
		if err := b.rabbitEnv(epmd); err != nil {
			return nil, err
		}
	}
	if err := b.start(ctx); err != nil {
		b.Stop()
		return nil, err
	}
	return b, nil
}

// rabbitEnv sets up a RabbitMQ node of its own: name, ports, directories
// and an epmd on a port of its own, started here.
func (b *Broker) rabbitEnv(epmdBin string) error {
	dist, err := freePort()
	if err != nil {
		return err
	}
	epmdPort, err := freePort()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.dir, "enabled_plugins"), []byte("[].\n"), 0o644); err != nil {
		return err
	}
	b.env = append(os.Environ(), "HOME="+b.dir, "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1", "RABBITMQ_NODE_PORT="+strconv.Itoa(b.Port),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(dist), "ERL_EPMD_PORT="+strconv.Itoa(epmdPort), "ERL_EPMD_ADDRESS=127.0.0.1",
		fmt.Sprintf("RABBITMQ_NODENAME=chaos%d@localhost", b.Port), "RABBITMQ_MNESIA_BASE="+filepath.Join(b.dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(b.dir, "log"), "RABBITMQ_CONFIG_FILE="+filepath.Join(b.dir, "rabbitmq"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(b.dir, "enabled_plugins"), "RABBITMQ_PID_FILE="+filepath.Join(b.dir, "pid"),
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}")
	b.epmd = exec.Command(epmdBin, "-port", strconv.Itoa(epmdPort), "-address", "127.0.0.1")
	b.epmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := b.epmd.Start(); err != nil {
		b.epmd = nil
		return fmt.Errorf("start epmd: %w", err)
	}
	return nil
}

// URL is the broker's URL for serve (--redis-url or --amqp-url) at addr
// (host:port: the broker's own or a proxy's in front of it).
func (b *Broker) URL(addr string) string {
	if b.Kind == Redis {
		return "redis://" + addr + "/0"
	}
	return "amqp://guest:guest@" + addr + "/"
}

// Addr is the broker's own address.
func (b *Broker) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port)) }

// start runs the broker and waits until it answers (Redis PING, an AMQP
// connection), at most a minute.
func (b *Broker) start(ctx context.Context) error {
	cmd := exec.Command(b.bin, b.args...)
	cmd.Dir, cmd.Env = b.dir, b.env
	// Its own process group: kill -9, SIGSTOP and SIGCONT reach the whole
	// broker (RabbitMQ's script, beam and helpers); and it dies with us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if log, err := os.OpenFile(filepath.Join(b.dir, "broker.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
		cmd.Stdout, cmd.Stderr = log, log
		defer log.Close()
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", b.bin, err)
	}
	b.cmd, b.done = cmd, make(chan struct{})
	done := b.done
	go func() { _ = cmd.Wait(); close(done) }()
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		err := b.ping(wctx)
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("%s exited while starting: %s", b.Kind, b.outTail())
		case <-wctx.Done():
			return fmt.Errorf("%s did not answer on %s within a minute: %w (its output: %s)", b.Kind, b.Addr(), err, b.outTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// outTail is the end of the broker's output, for an error (its directory
// is removed when the experiment ends).
func (b *Broker) outTail() string {
	out, _ := os.ReadFile(filepath.Join(b.dir, "broker.out"))
	out = bytes.TrimSpace(out)
	if len(out) > 600 {
		out = out[len(out)-600:]
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

// ping checks the broker answers.
func (b *Broker) ping(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if b.Kind == Redis {
		c := redis.NewClient(&redis.Options{Addr: b.Addr(), MaxRetries: -1})
		defer c.Close()
		return c.Ping(pctx).Err()
	}
	conn, err := amqp.DialConfig(b.URL(b.Addr()), amqp.Config{Dial: func(network, addr string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(pctx, network, addr)
	}})
	if err != nil {
		return err
	}
	return conn.Close()
}

// signal sends sig to the broker's process group.
func (b *Broker) signal(sig syscall.Signal) error {
	if b.cmd == nil {
		return errors.New("broker not running")
	}
	return syscall.Kill(-b.cmd.Process.Pid, sig)
}

// Kill kills the broker with SIGKILL (every process of its group) and
// waits for it; when it returns the broker is gone, so the caller stamps
// the fault after it. The processes under the one we started go first, so
// that it (RabbitMQ's script waits for its beam) reaps them: killed
// together, they would be left to init, which here does not reap them.
// Only then is there something to wait for: a broker with no process
// under it (redis-server) is the one we started and is killed at once.
func (b *Broker) Kill() error {
	if b.cmd == nil {
		return errors.New("broker not running")
	}
	leader := b.cmd.Process.Pid
	children := 0
	for _, pid := range groupMembers(leader) {
		if pid != leader && syscall.Kill(pid, syscall.SIGKILL) == nil {
			children++
		}
	}
	if children > 0 {
		select {
		case <-b.done:
		case <-time.After(2 * time.Second):
		}
	}
	if err := b.signal(syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	<-b.done
	b.cmd = nil
	return nil
}

// groupMembers lists the processes of process group pgid (from /proc).
func groupMembers(pgid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err == nil && g == pgid {
			out = append(out, pid)
		}
	}
	return out
}

// Restart starts the killed broker again on its port and directory.
func (b *Broker) Restart(ctx context.Context) error { return b.start(ctx) }

// Pause stops the broker (SIGSTOP); Resume continues it.
func (b *Broker) Pause() error  { return b.signal(syscall.SIGSTOP) }
func (b *Broker) Resume() error { return b.signal(syscall.SIGCONT) }

// Stop kills the broker and its epmd and waits for both. The caller
// removes the directory.
func (b *Broker) Stop() {
	if b.cmd != nil {
		_ = b.signal(syscall.SIGCONT) // a paused broker dies too
		_ = b.Kill()
	}
	if b.epmd != nil {
		_ = syscall.Kill(-b.epmd.Process.Pid, syscall.SIGKILL)
		_ = b.epmd.Wait()
		b.epmd = nil
	}
}

// freePort returns a loopback TCP port free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
