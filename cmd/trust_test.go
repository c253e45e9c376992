package cmd

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/chatbench/chatbench/loadgen/results"
)

// costLoad is a load whose server CPU per delivery does not depend on how
// it is split: 8 rooms of 100, 20 senders per room at 4/s, so a socket gets
// 80 frames/s, below where serve batches writes (100/s), at 64,000
// deliveries/s: several seconds of CPU, far above the 100 clock ticks a
// figure needs. Under the race detector (every process here is this test
// binary) a quarter of the rate: the same seconds of CPU. The grace ends as
// soon as every expected delivery arrived; its 8 s cap is for -race on a
// busy machine, where deliveries take seconds.
var costLoad = []string{"-n", "800", "--rooms", "8", "--senders", "160", "--rate", costRate(),
	"--warmup", "1s", "--duration", "6s", "--grace", "8s", "--settle", "1s", "--progress", "never", "--max-loss", "1%"}

func costRate() string {
	if raceEnabled {
		return "1/s"
	}
	return "4/s"
}

func cpuPerDelivery(t *testing.T, name string, r *results.Result) float64 {
	t.Helper()
	f := r.Server.CPUPerMessage
	if !f.OK() || !r.Outcome.OK() {
		t.Fatalf("%s: server CPU per delivery %+v, outcome %+v", name, f, r.Outcome)
	}
	t.Logf("%s: %.2f µs per delivery over %d processes, %d received, p99 %.1f ms", name, f.Value, len(r.Server.Processes),
		r.Server.Received, r.Summary.LatencyMs.P99)
	return f.Value
}

func swarmRun(t *testing.T, out string, args ...string) *results.Result {
	t.Helper()
	code, stdout, stderr := runChatbench(t, append(append([]string{"swarm", "--out", out}, costLoad...), args...)...)
	if code != 0 {
		t.Fatalf("swarm %v: exit %d\n%s\n%s", args, code, stdout, stderr)
	}
	r, err := results.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The server's CPU per delivery is one figure whichever way the load is
// run: one swarm process reading the node's /proc, two worker processes
// (--procs 2), /metrics of the node, two nodes each carrying half the rooms
// (both read and added up), and two shards against one node merged with
// report merge (the node counted once). Each is within a factor
// costTolerance of one process's figure (the mean of a run before and one
// after the others): every defect this guards against (one node's CPU
// divided by all nodes' deliveries, CPU of warmup and grace divided by
// steady deliveries, a shared server counted K times) is off by 2× or more,
// while on a 2-core machine shared with other work, runs a minute apart and
// with more processes sharing the cores differ by up to 1.5× (a swarm that
// reads late lets serve coalesce more frames per write: a real saving, not
// an accounting error). The 15% agreement needs a quiet machine to
// show; on this shared one repeated runs of the same path spread ±25%.
const costTolerance = 1.6

func TestServerCostAgreesAcrossPaths(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve and swarm processes for about a minute")
	}
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	node, addr, _ := startServe(t, "--log-level", "warn")
	url := "ws://" + addr + "/ws?room={{room}}&user={{user}}"
	pid := strconv.Itoa(node.Process.Pid)

	base1 := cpuPerDelivery(t, "one process, --server-pid", swarmRun(t, p("one.json"), "--url", url, "--server-pid", pid))
	type figure struct {
		name string
		v    float64
	}
	var figs []figure
	within := func(name string, v float64) { figs = append(figs, figure{name, v}) }
	check := func() {
		base2 := cpuPerDelivery(t, "one process again, --server-pid", swarmRun(t, p("one-after.json"), "--url", url, "--server-pid", pid))
		base := (base1 + base2) / 2
		for _, f := range figs {
			if f.v < base/costTolerance || f.v > base*costTolerance {
				t.Errorf("%s: %.2f µs per delivery, want within %g× of one process's %.2f µs (%.2f, %.2f)",
					f.name, f.v, costTolerance, base, base1, base2)
			}
		}
	}
	within("--procs 2", cpuPerDelivery(t, "--procs 2", swarmRun(t, p("procs.json"), "--url", url, "--server-pid", pid, "--procs", "2")))
	within("/metrics", cpuPerDelivery(t, "/metrics", swarmRun(t, p("metrics.json"), "--url", url)))

	// Two nodes: client i uses URL i%2 and room i%8, so each room lives on one node.
	_, addrB, _ := startServe(t, "--log-level", "warn")
	urlB := "ws://" + addrB + "/ws?room={{room}}&user={{user}}"
	two := swarmRun(t, p("two.json"), "--url", url, "--url", urlB)
	if len(two.Server.Processes) != 2 {
		t.Fatalf("two nodes: %d processes read, want both", len(two.Server.Processes))
	}
	within("two nodes", cpuPerDelivery(t, "two nodes", two))

	// Two shards at once against the node, merged.
	shard := func(i int, done chan<- error) {
		code, stdout, stderr := runChatbench(t, append(append([]string{"swarm", "--out", p(fmt.Sprintf("shard%d.json", i))}, costLoad...),
			"--url", url, "--server-pid", pid, "--shard", fmt.Sprintf("%d/2", i))...)
		if code != 0 {
			done <- fmt.Errorf("shard %d: exit %d\n%s\n%s", i, code, stdout, stderr)
			return
		}
		done <- nil
	}
	done := make(chan error, 2)
	go shard(0, done)
	go shard(1, done)
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := runChatbench(t, "report", "merge", p("shard0.json"), p("shard1.json"), "-o", p("merged.json"))
	if code != 0 {
		t.Fatalf("report merge: exit %d\n%s\n%s", code, stdout, stderr)
	}
	merged, err := results.ReadRun(p("merged.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(merged.Server.Processes) != 1 {
		t.Fatalf("merged shards hold %d server processes, want the one node once", len(merged.Server.Processes))
	}
	within("two shards merged", cpuPerDelivery(t, "two shards merged", merged))
	check()

	// report merge of one file reproduces its numbers.
	if code, _, stderr := runChatbench(t, "report", "merge", p("one.json"), "-o", p("one-again.json")); code != 0 {
		t.Fatalf("report merge of one file: %s", stderr)
	}
	again, err := results.ReadRun(p("one-again.json"))
	if err != nil {
		t.Fatal(err)
	}
	one, _ := results.ReadRun(p("one.json"))
	if again.Summary != one.Summary || again.Server.CPUPerMessage != one.Server.CPUPerMessage ||
		again.Server.MemoryPerConn != one.Server.MemoryPerConn || again.Swarm.CPUPerMessage != one.Swarm.CPUPerMessage ||
		again.Outcome.Verdict != one.Outcome.Verdict {
		t.Errorf("report merge of one file changed it:\n%+v %+v\n%+v %+v", one.Summary, one.Server.CPUPerMessage, again.Summary, again.Server.CPUPerMessage)
	}
}

// sinkServer accepts WebSockets and reads everything, broadcasting nothing.
func sinkServer(t *testing.T) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			if _, _, err := c.Read(context.Background()); err != nil {
				return
			}
		}
	}))
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws?room={{room}}&user={{user}}"
}

// A run that measured nothing fails without an SLO: every probe lost is
// not "complete".
func TestSwarmWithEveryDeliveryLostFails(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	code, stdout, stderr := runChatbench(t, "swarm", "-n", "10", "--senders", "100%", "--rate", "5/s", "--warmup", "0", "--duration", "1s",
		"--grace", "500ms", "--url", sinkServer(t), "--metrics-url", "none", "--slo", "p99<100ms")
	if code != ExitFailed || !strings.HasPrefix(stdout, "chatbench swarm: INVALID\n  - none of the 50 probes sent came back") ||
		!strings.Contains(stdout, "p99<100ms: BROKEN: p99 not measured: no sample") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// A server that cuts its clients off as slow consumers (1008) makes an
// overloaded run that says what 1008 means and what to change.
func TestSwarmExplainsSlowConsumerCloses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	_, addr, _ := startServe(t, "--send-queue", "1", "--write-delay", "0", "--log-level", "warn")
	code, stdout, stderr := runChatbench(t, "swarm", "-n", "40", "--senders", "100%", "--rate", "50/s", "--warmup", "500ms", "--duration", "2s",
		"--url", "ws://"+addr+"/ws?room=r&user={{user}}", "--metrics-url", "none")
	if code != ExitFailed || !strings.HasPrefix(stdout, "chatbench swarm: OVERLOADED") ||
		!strings.Contains(stdout, "close_1008") || !strings.Contains(stdout, "raise serve's --send-queue") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// report FILE prints the summary swarm printed, from the file alone.
func TestReportShowsSavedRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runChatbench(t, "swarm", "-n", "20", "--rate", "5/s", "--warmup", "0", "--duration", "1s", "--out", out)
	if code != 0 {
		t.Fatalf("swarm: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, args := range [][]string{{"report", out}, {"report", "show", out}} {
		c, again, errOut := runChatbench(t, args...)
		if c != 0 || again != stdout {
			t.Errorf("%v: exit %d %s\nprinted:\n%s\nswarm printed:\n%s", args, c, errOut, again, stdout)
		}
	}
	if c, _, errOut := runChatbench(t, "report"); c != ExitUsage || !strings.Contains(errOut, "give a results file") {
		t.Errorf("report without a file: exit %d %q", c, errOut)
	}
}

// Flags mean what they say: --warmup 0 counts from the first probe, --size
// takes units, --grace 0 does not wait.
func TestSwarmFlagsMeanWhatTheySay(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runChatbench(t, "swarm", "-n", "10", "--senders", "100%", "--rate", "10/s", "--warmup", "0", "--duration", "1s",
		"--grace", "0", "--max-loss", "100%", "--size", "1KB", "--out", out)
	if code != 0 {
		t.Fatalf("swarm: exit %d\n%s\n%s", code, stdout, stderr)
	}
	r, err := results.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	// 10 senders × 10/s × 1 s, every one counted: no warmup took any.
	if c := r.Config; c.WarmupS != 0 || c.GraceS != 0 || c.SizeBytes != 1000 || r.Summary.Sent != 100 {
		t.Errorf("config %+v, sent %d; want warmup 0, grace 0, 1000-byte probes, 100 sent", c, r.Summary.Sent)
	}
	if !strings.Contains(stderr, "chatbench swarm: 10 clients in 1 room(s) of 10, 10 talking at 10/s (constant): 1000 deliveries/s") {
		t.Errorf("stderr does not give the requested load:\n%s", stderr)
	}
}

// The server swarm starts for itself dies with swarm, even when swarm is
// killed (SIGKILL) and cannot stop it.
func TestEmbeddedServerDiesWithSwarm(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	swarm := chatbench("swarm", "-n", "10", "--rate", "2/s", "--duration", "60s", "--progress", "always")
	errPipe, err := swarm.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := swarm.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = swarm.Process.Kill(); _ = swarm.Wait() })
	br := bufio.NewReader(errPipe)
	for { // the progress display runs once the server is up
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("swarm ended before its progress showed: %v", err)
		}
		if strings.Contains(line, "connections") || strings.Contains(line, "warmup") || strings.Contains(line, "steady") {
			break
		}
	}
	go func() { _, _ = br.WriteTo(nopWriter{}) }()
	child := childOf(t, swarm.Process.Pid)
	if err := swarm.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for alive(child) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("serve (pid %d) still running 15 s after swarm was killed", child)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// childOf returns the one child process of pid.
func childOf(t *testing.T, pid int) int {
	t.Helper()
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(s); err == nil {
				return c
			}
		}
	}
	t.Fatalf("process %d has no child", pid)
	return 0
}

// alive reports whether pid runs (a zombie waiting for its reaper does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}
