package cmd

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatbench/chatbench/estimate"
	"github.com/chatbench/chatbench/loadgen/chaos"
	"github.com/chatbench/chatbench/loadgen/results"
)

// A real short sweep through the CLI: sweep starts "serve" children (this
// test binary acting as chatbench), every step passes far below the knee,
// and estimate reads the file it wrote, with the server's cost measured
// from the child's /proc.
func TestSweepCLIShort(t *testing.T) {
	if testing.Short() {
		t.Skip("real sweep")
	}
	out := filepath.Join(t.TempDir(), "sweep.json")
	junit := filepath.Join(t.TempDir(), "sweep.xml")
	code, stdout, stderr := runChatbench(t, "sweep", "--start", "100", "--max", "200", "--rate", "1/s",
		"--warmup", "200ms", "--duration", "1s", "--grace", "300ms", "--slo-p99", "2s", "--budget", "40s", "--out", out, "--junit", junit)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	// --junit: the clauses at the knee (200 clients) and the knee, all passing.
	if x, err := os.ReadFile(junit); err != nil || !strings.Contains(string(x), `<testsuite name="chatbench sweep memory at 1/s" tests="3" failures="0"`) ||
		!strings.Contains(string(x), `<testcase name="slo: p99&lt;2000ms at 200 clients"`) || !strings.Contains(string(x), `<testcase name="knee"`) {
		t.Errorf("--junit: %v\n%s", err, x)
	}
	if !strings.Contains(stdout, "memory   1/s   ≥ 200  2") || !strings.Contains(stderr, "sweep memory: 200 clients at 1/s") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	ev, err := estimate.ReadResultsFiles(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Runs) != 2 || len(ev.Knees) != 1 || ev.Knees[0].Clients != 200 {
		t.Fatalf("runs %+v knees %+v", ev.Runs, ev.Knees)
	}
	for _, r := range ev.Runs {
		if r.Backend != "memory" || r.RSSKBPerConn <= 0 || r.Lost != 0 {
			t.Errorf("run %+v: want memory backend, server memory measured, nothing lost", r)
		}
	}
	code, stdout, _ = runChatbench(t, "estimate", "--from", out)
	if code != 0 || !strings.Contains(stdout, "measured from sweep.json step 2") {
		t.Errorf("estimate --from the sweep: exit %d\n%s", code, stdout)
	}
}

func TestSweepBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "often"}, `chatbench: --rate "often": want a rate like 10/s, 600/min, 1/h or 0.5/s`},
		{[]string{"--backend", "kafka"}, `chatbench: --backend "kafka": want one of memory, redis, rabbitmq`},
		{[]string{"--start", "100", "--max", "10"}, `chatbench: --max 10 is below --start 100`},
		{[]string{"--max", "lots"}, `chatbench: --max "lots": want a whole number like 1000 or 1,000,000`},
	}
	for _, c := range cases {
		code, _, errOut := runCLI(append([]string{"sweep"}, c.args...)...)
		if code != ExitUsage || strings.TrimSpace(errOut) != c.want {
			t.Errorf("%v: exit %d %q, want 2 %q", c.args, code, errOut, c.want)
		}
	}
}

// A backend that cannot start is refused before any step of the backends
// before it runs (review A1): exit 2, no memory step, no results file
// (nothing was measured, so nothing is lost).
func TestSweepUnreachableSecondBackendRefusedFirst(t *testing.T) {
	out := filepath.Join(t.TempDir(), "s.json")
	code, stdout, stderr := runChatbench(t, "sweep", "--backend", "memory,redis", "--redis-url", "redis://127.0.0.1:1/0",
		"--start", "2", "--max", "4", "--duration", "1s", "--out", out)
	if code != ExitUsage || strings.Contains(stderr, "sweep memory:") || !strings.Contains(stderr, "start redis nodes") {
		t.Errorf("exit %d, want 2 before any step\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--out: %v, want no file", err)
	}
}

// A backend that could be started before the sweep but not at its step
// (its broker died meanwhile) ends the sweep with the steps so far kept:
// the results file is written, marked partial, and the exit is 1, not 2
// (review A1). The broker is stopped once memory's first step is reported
// and while its second (several seconds of warmup, run and grace) runs.
func TestSweepBackendLostMidwayKeepsSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("real sweep with a redis-server of its own")
	}
	b, err := chaos.StartBroker(context.Background(), chaos.Redis, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	out := filepath.Join(t.TempDir(), "s.json")
	cmd := chatbench("sweep", "--backend", "memory,redis", "--redis-url", b.URL(b.Addr()), "--start", "2", "--max", "4",
		"--slo-p99", "2s", "--duration", "1s", "--out", out)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	var errText strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		errText.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "sweep memory: 2 clients") {
			b.Stop()
		}
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != ExitFailed || !strings.Contains(errText.String(), "start redis nodes") ||
		!strings.Contains(errText.String(), "marked partial") {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), errText.String())
	}
	f, err := results.ReadFile(out)
	if err != nil || f.Sweep == nil {
		t.Fatalf("--out not written as a sweep: %v", err)
	}
	sw := f.Sweep
	if !sw.Partial || len(sw.Steps) != 2 || sw.Steps[0].Backend != "memory" || sw.Steps[1].Clients != 4 {
		t.Errorf("partial %v steps %+v: want partial, memory's two steps", sw.Partial, sw.Steps)
	}
}
