package cmd

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/chatbench/chatbench/loadgen/results"
)

// The Job's workload, made small for this machine by an overlay as a user
// would make it larger: 400 users in 20 rooms of 20 (5 rooms a shard), 40
// talkers at 5/s, a 1 s steady phase.
const jobTestWorkload = `users: 400
rooms:
  size: 20
talkers: 10%
rate: 5/s
ramp: 2000
warmup: 300ms
duration: 1s
grace: 1s
seed: 7
`

// The Indexed Job, run here: kustomize renders the base under an overlay
// (this run's START_AT, the local server's URL, a small workload), and the
// Job's container runs as K processes with the args and env Kubernetes
// would give pod i (JOB_COMPLETION_INDEX=i), started 300 ms apart as pods
// are. Their logs, concatenated as 'kubectl logs -l ...' prints them, go
// through 'report merge -'. The merge equals one run of the whole load in
// one process against the same server (which loses nothing): connected,
// sent, expected, delivered and lost, and every histogram's count; each
// merged histogram is exactly the sum of the shards'. The shards started
// sending at START_AT, within a bound of each other, and the results say so.
func TestK8sJobMergesToOneRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	_, addr, _ := startServe(t, "--max-conns", "0")
	url := "ws://" + addr + "/ws?room={{room}}&user={{user}}"
	startAt := time.Now().Add(4 * time.Second).UTC().Truncate(time.Millisecond)
	overlay := writeOverlay(t, k8sBase, fmt.Sprintf(`configMapGenerator:
  - name: chatbench
    behavior: merge
    literals:
      - CHATBENCH_URL=%s
      - CHATBENCH_SLO=p99<5s,lost=0,connect-errors=0
  - name: chatbench-run
    behavior: replace
    literals:
      - START_AT=%s
  - name: chatbench-workload
    behavior: replace
    files:
      - workload.yaml
`, url, startAt.Format(time.RFC3339Nano)), map[string]string{"workload.yaml": jobTestWorkload})
	m := renderStrict(t, overlay)
	job := m.jobs["chatbench-swarm"]
	spec, c := job.Spec.Template.Spec, job.Spec.Template.Spec.Containers[0]
	k := int(*job.Spec.Completions)
	sb := m.sandbox(t, spec, c)

	// The pods: K processes, each one's stdout and stderr in its log.
	logs := make([]*bytes.Buffer, k)
	cmds := make([]*exec.Cmd, k)
	for i := range cmds {
		env := m.containerEnv(t, c, map[string]string{jobIndexVar: strconv.Itoa(i)})
		cmds[i] = chatbench(sb.args(c, env)...)
		cmds[i].Env = append(cmds[i].Env, envList(env)...)
		logs[i] = &bytes.Buffer{}
		cmds[i].Stdout, cmds[i].Stderr = logs[i], logs[i]
		if i > 0 {
			time.Sleep(300 * time.Millisecond) // pods start apart: the load's shape, not a wait for a signal
		}
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	// Meanwhile, one run of the whole load in one process: the same args
	// without --shard and --start-at.
	env := m.containerEnv(t, c, map[string]string{jobIndexVar: "0"})
	var whole []string
	for _, a := range sb.args(c, env) {
		if !strings.HasPrefix(a, "--shard=") && !strings.HasPrefix(a, "--start-at=") {
			whole = append(whole, a)
		}
	}
	var all bytes.Buffer
	for i, cmd := range cmds {
		if err := waitTimeout(cmd, 60*time.Second); err != nil {
			t.Fatalf("pod %d: %v\n%s", i, err, logs[i])
		}
		all.Write(logs[i].Bytes())
	}
	one := runWhole(t, whole)

	dir := t.TempDir()
	merged, junit := filepath.Join(dir, "merged.json"), filepath.Join(dir, "merged.xml")
	merge := chatbench("report", "merge", "-", "-o", merged, "--junit", junit)
	merge.Stdin = bytes.NewReader(all.Bytes())
	if out, err := merge.CombinedOutput(); err != nil {
		t.Fatalf("report merge -: %v\n%s", err, out)
	}
	mr, err := results.ReadRun(merged)
	if err != nil {
		t.Fatal(err)
	}
	shards, err := results.ReadLines("logs", bytes.NewReader(all.Bytes()))
	if err != nil || len(shards) != k {
		t.Fatalf("%d results lines in the logs (%v), want %d", len(shards), err, k)
	}
	checkJobTotals(t, mr, one, k)
	checkHistogramsExact(t, mr, shards)
	checkStarts(t, mr, shards, startAt)
	if x, err := os.ReadFile(junit); err != nil || !strings.Contains(string(x), `failures="0" errors="0"`) || !strings.Contains(string(x), "slo: lost=0") {
		t.Errorf("merged --junit: %v\n%s", err, x)
	}
}

// runWhole runs the whole load in one process and returns its results.
func runWhole(t *testing.T, args []string) *results.Result {
	t.Helper()
	code, stdout, stderr := runChatbench(t, args...)
	if code != 0 {
		t.Fatalf("one run of the whole load: exit %d\n%s\n%s", code, stdout, stderr)
	}
	rs, err := results.ReadLines("stdout", strings.NewReader(stdout))
	if err != nil || len(rs) != 1 {
		t.Fatalf("one run: %v", err)
	}
	return rs[0]
}

func waitTimeout(cmd *exec.Cmd, d time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("did not finish in %v", d)
	}
}

// checkJobTotals compares the merged shards with the one run, and both
// with the counts the workload implies: 40 talkers × 5/s × 1 s = 200
// probes, each for the 20 members of its room.
func checkJobTotals(t *testing.T, mr, one *results.Result, k int) {
	t.Helper()
	a, b := mr.Summary, one.Summary
	const sent, expected = 40 * 5, 40 * 5 * 20
	if a.Connected != 400 || a.Sent != sent || a.Expected != expected || a.Delivered != expected || a.Lost != 0 {
		t.Errorf("merged: connected %d sent %d expected %d delivered %d lost %d; want 400, %d, %d, %d, 0",
			a.Connected, a.Sent, a.Expected, a.Delivered, a.Lost, sent, expected, expected)
	}
	if a.Connected != b.Connected || a.Sent != b.Sent || a.Expected != b.Expected || a.Delivered != b.Delivered || a.Lost != b.Lost {
		t.Errorf("merged %+v\none run %+v", a, b)
	}
	ha, hb := mr.Histograms, one.Histograms
	for name, n := range map[string][2]int64{
		"latency_due":  {ha.LatencyDue.TotalCount(), hb.LatencyDue.TotalCount()},
		"latency_send": {ha.LatencySend.TotalCount(), hb.LatencySend.TotalCount()},
		"connect":      {ha.Connect.TotalCount(), hb.Connect.TotalCount()},
		"fanout_first": {ha.FanoutFirst.TotalCount(), hb.FanoutFirst.TotalCount()},
		"fanout_last":  {ha.FanoutLast.TotalCount(), hb.FanoutLast.TotalCount()},
	} {
		if n[0] != n[1] {
			t.Errorf("histogram %s: %d values merged, %d in one run", name, n[0], n[1])
		}
	}
	if ha.LatencyDue.TotalCount() != expected || ha.FanoutFirst.TotalCount() != sent || ha.Connect.TotalCount() != 400 {
		t.Errorf("histogram counts: latency %d fan-out %d connect %d; want every delivery (%d), probe (%d) and connect timed",
			ha.LatencyDue.TotalCount(), ha.FanoutFirst.TotalCount(), ha.Connect.TotalCount(), expected, sent)
	}
	if mr.Runs != k || mr.Config.Clients != 400 || mr.Config.Senders != 40 || !mr.Outcome.OK() {
		t.Errorf("merged: runs %d clients %d senders %d outcome %+v", mr.Runs, mr.Config.Clients, mr.Config.Senders, mr.Outcome)
	}
}

// checkHistogramsExact: each merged histogram (read back from the merged
// file) holds exactly the shards' counts, bucket by bucket.
func checkHistogramsExact(t *testing.T, mr *results.Result, shards []*results.Result) {
	t.Helper()
	get := []func(*results.Result) *hdr.Histogram{
		func(r *results.Result) *hdr.Histogram { return r.Histograms.LatencyDue },
		func(r *results.Result) *hdr.Histogram { return r.Histograms.Connect },
		func(r *results.Result) *hdr.Histogram { return r.Histograms.FanoutLast },
	}
	for i, h := range get {
		sum := make([]int64, len(h(mr).Export().Counts))
		for _, s := range shards {
			for j, n := range h(s).Export().Counts {
				sum[j] += n
			}
		}
		if !slices.Equal(h(mr).Export().Counts, sum) || h(mr).Max() != maxOf(shards, h) {
			t.Errorf("histogram %d: the merge is not the bucket-wise sum of the shards'", i)
		}
	}
}

func maxOf(rs []*results.Result, h func(*results.Result) *hdr.Histogram) int64 {
	var m int64
	for _, r := range rs {
		m = max(m, h(r).Max())
	}
	return m
}

// checkStarts: every shard began sending at START_AT (its pod started up
// to a second before), and the merge says how far apart.
func checkStarts(t *testing.T, mr *results.Result, shards []*results.Result, startAt time.Time) {
	t.Helper()
	var seen []string
	for _, s := range shards {
		late := s.Config.SendStartedAt.Sub(startAt)
		if late < 0 || late > 500*time.Millisecond || !s.Config.StartAt.Equal(startAt) {
			t.Errorf("shard %s began sending %v after START_AT %v", s.Config.Shard, late, startAt)
		}
		seen = append(seen, s.Config.Shard)
	}
	slices.Sort(seen)
	if !slices.Equal(seen, []string{"0/4", "1/4", "2/4", "3/4"}) {
		t.Errorf("shards %v, want 0/4 to 3/4", seen)
	}
	if s := mr.Config.SendStartSpreadS; s < 0 || s > 0.5 || !strings.Contains(strings.Join(mr.Notes, "\n"), "started sending within") {
		t.Errorf("merged: spread %v s, notes %q", s, mr.Notes)
	}
	t.Logf("4 pods started 300 ms apart began sending within %.1f ms of each other", mr.Config.SendStartSpreadS*1e3)
}
