package cmd

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen/results"
)

// TestSwarmNoticesAFrozenServer: a serve process frozen with SIGSTOP mid-run
// keeps its sockets open (the kernel ACKs) and answers nothing. swarm must
// not hang (its senders keep sending into the kernel's buffers): its pings go unanswered, every socket is closed and counted as
// ping_timeout within --ping-interval + --ping-timeout, the run exits 1 and
// writes its (partial) results.
func TestSwarmNoticesAFrozenServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve and swarm processes")
	}
	srv, addr, _ := startServe(t)
	out := filepath.Join(t.TempDir(), "frozen.json")
	swarm := chatbench("swarm", "-n", "20", "--rate", "2/s", "--warmup", "500ms", "--duration", "4s", "--grace", "1s", "--settle", "0",
		"--ping-interval", "300ms", "--ping-timeout", "500ms", "--metrics-url", "none",
		"--url", "ws://"+addr+"/ws?room=r&user={{user}}", "--out", out)
	var stderr strings.Builder
	swarm.Stderr = &stderr
	if err := swarm.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- swarm.Wait() }()
	time.Sleep(1500 * time.Millisecond) // connected, several pings answered
	if err := srv.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Signal(syscall.SIGCONT) }()
	start := time.Now()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = swarm.Process.Kill()
		t.Fatal("swarm still running 30 s after its server froze")
	}
	took := time.Since(start)
	if code := swarm.ProcessState.ExitCode(); code != ExitFailed {
		t.Fatalf("swarm exit %d, want %d; stderr: %s", code, ExitFailed, stderr.String())
	}
	res, err := results.ReadRun(out)
	if err != nil {
		t.Fatalf("no results written: %v", err)
	}
	if res.Summary.Connected != 20 || res.Errors.Disconnect["ping_timeout"] != 20 {
		t.Fatalf("connected %d, disconnects %v; want all 20 lost as ping_timeout; stderr: %s",
			res.Summary.Connected, res.Errors.Disconnect, stderr.String())
	}
	if res.Outcome.Verdict != results.Overloaded {
		t.Errorf("outcome %+v, want overloaded", res.Outcome)
	}
	if !strings.Contains(stderr.String(), "ping_timeout 20: the server stopped answering") {
		t.Errorf("stderr does not name the cause: %s", stderr.String())
	}
	t.Logf("swarm exited %v after the freeze (the rest of its 4.5 s of sending, 1 s grace); stderr: %s", took.Round(time.Millisecond), strings.TrimSpace(stderr.String()))
}
