package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatbench/chatbench/estimate"
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
