package brokertest

import (
	"cmp"
	"context"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// Process is a backend server of the test's own, on its own loopback port:
// the fault suite stops, restarts, freezes and thaws it. The shared servers
// (Redis on 6379, RabbitMQ on 5672) are never touched.
type Process interface {
	// URL is what a broker connects to.
	URL() string
	// Stop ends the server (Redis: SIGKILL, a crash; RabbitMQ: a node
	// stop, which closes the connections) and waits until it is gone.
	Stop(t testing.TB)
	// Start starts it again on the same address and waits until it answers.
	Start(t testing.TB)
	// Freeze stops the server's process with SIGSTOP: its connections stay
	// open but nothing answers, as in a network partition.
	Freeze(t testing.TB)
	// Thaw resumes a frozen server (SIGCONT).
	Thaw(t testing.TB)
}

// signal sends sig to each pid, failing the test on an error.
func signal(t testing.TB, sig syscall.Signal, pids ...int) {
	t.Helper()
	for _, pid := range pids {
		p, err := os.FindProcess(pid)
		if err == nil {
			err = p.Signal(sig)
		}
		if err != nil {
			t.Fatalf("signal %v to pid %d: %v", sig, pid, err)
		}
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitUntil polls cond every 10 ms until it holds or d passes, and reports
// whether it held. For states that give no signal of their own.
func WaitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return cond()
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// SharedURL returns the URL of a shared test backend: $env, or def. Under
// -short it skips the test; a backend that does not answer ping within 2 s
// fails it, with how to start it.
func SharedURL(t *testing.T, env, def string, ping func(ctx context.Context, url string) error) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs the shared backend (skipped with -short)")
	}
	u := cmp.Or(os.Getenv(env), def)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := ping(ctx, u); err != nil {
		t.Fatalf("backend not reachable at %s ($%s): %v\nstart it with: scripts/services.sh start", u, env, err)
	}
	return u
}
