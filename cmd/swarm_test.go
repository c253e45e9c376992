package cmd

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatbench/chatbench/internal/rlimit"
	"github.com/chatbench/chatbench/loadgen/results"
)

func TestSwarmBadInputIsExit2(t *testing.T) {
	// Client counts past this host's open-files limit (20,000 where
	// chatbench was built), whatever the limit is.
	_, hard, err := rlimit.Raise()
	if err != nil {
		t.Fatal(err)
	}
	tooMany, farTooMany := fmt.Sprint(hard+10_000), fmt.Sprint(3*hard)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--slo", "p98<100ms"}, `unknown metric "p98"`},
		{[]string{"--slo", "p99<soon"}, `bad duration "soon"`},
		{[]string{"--rate", "fast"}, `--rate "fast"`},
		{[]string{"--read-limit", "lots"}, `--read-limit "lots": want a size`},
		{[]string{"--rate", "10/fortnight"}, `--rate "10/fortnight": want a rate`},
		{[]string{"-n", "0"}, `want at least 1 client`},
		{[]string{"--message", "hello"}, `must contain {{probe}}`},
		{[]string{"--url", "ftp://example.com/ws"}, `want ws://host:port/path or wss://host:port/path`},
		{[]string{"--ca", "ca.pem", "--insecure"}, `--ca and --insecure: give one`},
		{[]string{"--ca", "/nonexistent/ca.pem"}, `--ca: CA file: open /nonexistent/ca.pem`},
		{[]string{"--source-ips", "127.0.0.9-127.0.0.1"}, `is empty`},
		{[]string{"--header", "nocolon"}, `want 'Name: value'`},
		{[]string{"--progress", "sometimes"}, `want auto, always or never`},
		{[]string{"--procs", "many"}, `--procs "many": want a number of processes`},
		{[]string{"--procs", "auto", "-n", farTooMany}, `-n ` + farTooMany + `: the one server swarm starts without --url cannot hold`},
		{[]string{"--shard", "2/2"}, `--shard "2/2": want i/K with 0 ≤ i < K`},
		{[]string{"--shard", "0/2", "--url", "ws://127.0.0.1:1/ws"}, `1 room(s) cannot be split over 2 machines`},
		{[]string{"-n", tooMany, "--url", "ws://127.0.0.1:1/ws"}, tooMany + ` clients do not fit`},
		{[]string{"--slo", "p99=100"}, `a latency takes < or <=`},
		{[]string{"--slo", "loss<-5%"}, `never below 0: the clause can never hold`},
		{[]string{"--slo", "loss<150%"}, `a share of at most 100%`},
		{[]string{"--size", "1XB"}, `--size "1XB": want a size`},
		{[]string{"--size", "0B"}, `--size "0B": want a size from 1B`},
		{[]string{"--max-loss", "200%"}, `--max-loss "200%": want a share`},
		{[]string{"--max-disconnected", "lots"}, `--max-disconnected "lots": want a share`},
		{[]string{"--churn", "1%/min"}, `--churn "1%/min": want a share per second like 1%/s or 0.01`},
		{[]string{"--senders", "ten"}, `--senders "ten": want a count like 500 or a share like 10%`},
		{[]string{"-n", "100", "--senders", "500"}, `--senders 500: more than the 100 users`},
		{[]string{"--read-limit", "huge"}, `--read-limit "huge": want a size`},
		{[]string{"--warmup", "-1s"}, `--warmup, --grace and --settle not negative`},
		{[]string{"--out", "/nonexistent/dir/r.json"}, `--out: /nonexistent/dir/r.json: cannot write in /nonexistent/dir`},
		{[]string{"--out", os.TempDir()}, `is a directory, not a file`},
		{[]string{"--hgrm", "/proc/version"}, `--hgrm: /proc/version`},
		{[]string{"--metrics-url", "ftp://x/metrics"}, `--metrics-url "ftp://x/metrics": want http://host:port/metrics`},
		{[]string{"--protocol", "xmpp"}, `unknown protocol "xmpp" (known: centrifuge, mqtt, socketio, stomp)`},
		{[]string{"--protocol-opt", "topic=chat/{{room}}"}, `need a --protocol`},
		{[]string{"--protocol", "raw", "--protocol-opt", "qos=1"}, `need a --protocol`},
		{[]string{"--protocol", "mqtt", "--message", "hi {{probe}}"}, `--hello and --message are for the raw protocol`},
		{[]string{"--protocol", "stomp", "--protocol-opt", "destinaton=/topic/a"}, `--protocol stomp: unknown option "destinaton" (known: login,`},
		{[]string{"--protocol", "mqtt", "--protocol-opt", "topic="}, `--protocol mqtt: --protocol-opt topic="": empty`},
		{[]string{"--protocol", "centrifuge", "--protocol-opt", "channel={{rom}}"}, `unknown placeholder {{rom}}`},
		{[]string{"--protocol", "socketio", "--protocol-opt", "data={{probe}}"}, `not JSON once {{probe}} is in`},
		{[]string{"--protocol", "mqtt", "--protocol-opt", "qos=2"}, `want a number from 0 to 1`},
		{[]string{"--protocol", "stomp", "--protocol-opt", "body=no probe"}, `must contain {{probe}} once`},
	} {
		code, _, errOut := runCLI(append([]string{"swarm"}, tc.args...)...)
		if code != ExitUsage || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("swarm %v: exit %d, stderr %q; want exit 2 and one line containing %q", tc.args, code, errOut, tc.want)
		}
	}
}

// swarm without --url starts chatbench serve as a child, runs, writes the
// results and the hgrm, passes its SLO and stops the server.
func TestSwarmOwnServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	out, hgrm := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.hgrm")
	code, stdout, stderr := runChatbench(t, "swarm", "-n", "20", "--rate", "10/s", "--warmup", "200ms",
		"--duration", "1s", "--grace", "1s", "--out", out, "--hgrm", hgrm, "--slo", "p99<1s,loss<0.1%,connect-errors=0")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"chatbench swarm: COMPLETE", "20 connected, 0 connect errors", "from due time", "server cost", "/metrics)", "p99<1s: ok ("} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	res, err := results.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Outcome.OK() || res.Outcome.SLO != "p99<1s,loss<0.1%,connect-errors=0" || len(res.Outcome.Clauses) != 3 ||
		res.Config.Backend != "memory" || res.Summary.Sent == 0 || res.Summary.Delivered != res.Summary.Expected ||
		res.Histograms.LatencyDue.TotalCount() != res.Summary.Delivered {
		t.Errorf("results: %+v %+v", res.Outcome, res.Summary)
	}
	h, err := os.ReadFile(hgrm)
	if err != nil || !strings.Contains(string(h), "Value     Percentile TotalCount 1/(1-Percentile)") {
		t.Errorf("hgrm: %v %.200s", err, h)
	}
}

func TestSwarmSLOBrokenIsExit1(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	code, _, stderr := runChatbench(t, "swarm", "-n", "5", "--rate", "10/s", "--warmup", "100ms",
		"--duration", "500ms", "--slo", "p99<1us,connect-errors=0")
	if code != ExitFailed || !strings.Contains(stderr, "p99<1us broken: p99 = ") || strings.Contains(stderr, "connect-errors=0 broken") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// Ctrl-C: swarm stops, writes partial results and exits 1; its server is stopped.
func TestSwarmInterruptWritesPartial(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	out := filepath.Join(t.TempDir(), "r.json")
	cmd := chatbench("swarm", "-n", "10", "--rate", "10/s", "--warmup", "100ms", "--duration", "60s", "--out", out, "--progress", "always")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	// The progress display says when the steady phase runs.
	br := bufio.NewReader(stderr)
	var seen []byte
	for !strings.Contains(string(seen), "steady") {
		b, err := br.ReadByte()
		if err != nil {
			t.Fatalf("no progress display: %v; got %q", err, seen)
		}
		seen = append(seen, b)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { _, _ = br.WriteTo(nopWriter{}); done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("swarm did not stop 20 s after SIGINT")
	}
	if code := cmd.ProcessState.ExitCode(); code != ExitFailed {
		t.Errorf("exit %d, want 1", code)
	}
	res, err := results.ReadRun(out)
	if err != nil || res.Outcome.Verdict != results.Partial || len(res.Errors.Run) == 0 || !strings.Contains(res.Outcome.Reasons[0], "interrupted") {
		t.Errorf("results: %v %+v", err, res.Outcome)
	}
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
