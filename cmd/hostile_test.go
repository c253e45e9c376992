package cmd

import (
	"bufio"
	"bytes"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen/results"
)

// The server process is SIGKILLed mid-run: swarm exits 1 (not a crash),
// prints why, and still writes --out, marked partial, with the lost sockets
// counted by kind.
func TestSwarmServerKilledMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	serve, addr, _ := startServe(t)
	out := filepath.Join(t.TempDir(), "r.json")
	swarm := chatbench("swarm", "-n", "20", "--rate", "20/s", "--warmup", "200ms", "--duration", "3s", "--grace", "500ms",
		"--settle", "0", "--url", "ws://"+addr+"/ws?room={{room}}&user={{user}}", "--out", out)
	var stdout, stderr bytes.Buffer
	swarm.Stdout, swarm.Stderr = &stdout, &stderr
	if err := swarm.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- swarm.Wait() }()
	defer func() { _ = swarm.Process.Kill() }()

	// Kill the server once swarm's messages flow (100 received).
	deadline := time.Now().Add(20 * time.Second)
	for received(addr) < 100 {
		if time.Now().After(deadline) {
			t.Fatalf("no messages reached the server in 20 s; swarm stderr: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := serve.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("swarm did not finish 30 s after the server was killed")
	}
	code := swarm.ProcessState.ExitCode()
	if code != ExitFailed || strings.Contains(stderr.String(), "panic") || strings.Contains(stderr.String(), "goroutine ") {
		t.Fatalf("exit %d, want 1 without a panic\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "lost mid-run") || !strings.Contains(stdout.String(), "20 lost mid-run (") {
		t.Errorf("stdout/stderr do not say the sockets were lost, by kind:\n%s\n%s", stdout.String(), stderr.String())
	}
	r, err := results.ReadRun(out)
	if err != nil {
		t.Fatalf("--out not readable: %v", err)
	}
	var kinds int64
	for _, v := range r.Errors.Disconnect {
		kinds += v
	}
	if r.Outcome.Verdict != results.Overloaded || r.Summary.Connected != 20 || r.Summary.Disconnected != 20 || kinds != 20 {
		t.Errorf("results: outcome %+v, %+v, disconnect %v; want overloaded, all 20 lost by kind", r.Outcome, r.Summary, r.Errors.Disconnect)
	}
	if r.Summary.Delivered == 0 {
		t.Errorf("nothing delivered before the kill was counted: %+v", r.Summary)
	}
}

// received reads chatbench_messages_received_total from the server (0 when
// it cannot).
func received(addr string) float64 {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "chatbench_messages_received_total "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
