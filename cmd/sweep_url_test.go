package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/estimate/sweep/sweeptest"
	"github.com/chatbench/chatbench/loadgen/results"
)

// quickSweep are the flags of a sweep in short steps against a loopback
// target whose held deliveries (3 s) are lost past the grace.
var quickSweep = []string{"--rate", "4/s", "--resolution", "1", "--warmup", "100ms", "--duration", "400ms",
	"--grace", "400ms", "--settle", "0", "--slo-p99", "1s", "--budget", "90s"}

func readSweep(t *testing.T, path string) *results.Sweep {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s results.Sweep
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// The real binary sweeps a running server (this test's target, which
// holds every delivery past 12 users): the knee lands on 12.
func TestSweepURLKnownCapacity(t *testing.T) {
	tg := (&sweeptest.Target{Cap: 12, Delay: 3 * time.Second}).Start()
	defer tg.Stop()
	out := filepath.Join(t.TempDir(), "sweep.json")
	code, stdout, stderr := runChatbench(t, append([]string{"sweep", "--url", tg.URL() + "?user={{user}}", "--hello", "{{user}}",
		"--start", "3", "--max", "48", "--server-name", "the capped target", "--out", out}, quickSweep...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	s := readSweep(t, out)
	se := s.Searches[0]
	if se.Knee != 12 || se.Above != 13 || se.KneeLow != 12 || se.KneeHigh != 12 || se.Mode != "users" ||
		se.Server != "the capped target" || s.Partial {
		t.Fatalf("search %+v partial %v\n%s", se, s.Partial, stderr)
	}
	if !strings.Contains(stderr, "sweep external: 12 clients at 4/s after ") {
		t.Errorf("progress:\n%s", stderr)
	}
}

// A running server that goes away after two steps: the sweep ends, the
// two steps are in --out (partial), one line says why, exit 1.
func TestSweepURLTargetDown(t *testing.T) {
	tg := (&sweeptest.Target{DieAfter: 2}).Start()
	defer tg.Stop()
	out := filepath.Join(t.TempDir(), "sweep.json")
	code, stdout, stderr := runChatbench(t, append([]string{"sweep", "--url", tg.URL(), "--start", "4", "--max", "64", "--out", out}, quickSweep...)...)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if code != ExitFailed || !strings.HasPrefix(last, "chatbench: target "+tg.URL()+" is down: readiness: ") || !strings.HasSuffix(last, "the 2 step(s) before are in "+out+", marked partial") {
		t.Fatalf("exit %d, last line %q\n%s", code, last, stdout)
	}
	s := readSweep(t, out)
	if !s.Partial || len(s.Steps) != 2 || s.Steps[0].Clients != 4 || s.Steps[1].Clients != 8 {
		t.Fatalf("partial %v, steps %d", s.Partial, len(s.Steps))
	}
}

// Bad load flags and workloads: one line naming the flag or the field,
// exit 2, before anything runs.
func TestSweepBadLoad(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("users: 100\nrooms:\n  size: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unknown := filepath.Join(dir, "unknown.yaml")
	if err := os.WriteFile(unknown, []byte("users: 100\ntalkerz: 10%\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badRate := filepath.Join(dir, "rate.yaml")
	if err := os.WriteFile(badRate, []byte("rate: 10/fortnight\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--workload", bad}, "rooms: size and count must be at least 1"},
		{[]string{"--workload", unknown}, `unknown field "talkerz"`},
		{[]string{"--workload", badRate}, `rate: --rate "10/fortnight": want a rate`},
		{[]string{"--senders", "50"}, "--senders 50: a count does not keep the shape"},
		{[]string{"--start", "lots"}, `--start "lots": want a whole number`},
		{[]string{"--max", "2.5k5"}, `--max "2.5k5": want a whole number`},
		{[]string{"--start", "500", "--max", "100"}, "--max 100 is below --start 500"},
		{[]string{"--max-loss", "5"}, `--max-loss "5": want a share`},
		{[]string{"--max-loss", "100%"}, "--max-loss 100%: want a share below 100%"},
		{[]string{"--size", "0B"}, `--size "0B": want a size from 1B`},
		{[]string{"--mode", "room-rate"}, "--mode room-rate: give the room's total rate with --room-rate"},
		{[]string{"--mode", "room-rate", "--room-rate", "20/s", "--room-size", "10"}, "--room-size and --mode room-rate: give one"},
		{[]string{"--mode", "rooms"}, `--mode "rooms": want users or room-rate`},
		{[]string{"--repeat", "0"}, "--repeat 0: want at least 1"},
		{[]string{"--server-pid", "1"}, "--server-pid and --metrics-url are for --url targets"},
		{[]string{"--server-name", "mine"}, "--server-name and --server-backend are for --url targets"},
		{[]string{"--server-backend", "redis"}, "--server-name and --server-backend are for --url targets"},
		{[]string{"--url", "ws://127.0.0.1:1/ws", "--protocol", "mqtt", "--hello", "x"}, "--hello and --message are for the raw protocol"},
		{[]string{"--room-rate", "often"}, `--room-rate "often": want a rate`},
		{[]string{"--out", "/nonexistent/dir/s.json"}, `--out: /nonexistent/dir/s.json: cannot write in /nonexistent/dir`},
	} {
		code, _, errOut := runCLI(append([]string{"sweep"}, c.args...)...)
		if code != ExitUsage || !strings.Contains(errOut, c.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("sweep %v: exit %d %q, want 2 and one line containing %q", c.args, code, errOut, c.want)
		}
	}
}
