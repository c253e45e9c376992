package cmd

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chatbench/chatbench/loadgen/results"
)

// steadyRun writes a complete run whose steady seconds had the given p99s
// (10,000 deliveries each, nothing lost) and whose whole-run p99 is p99.
func steadyRun(t *testing.T, dir, name string, p99 float64, secP99 ...float64) string {
	t.Helper()
	r := results.NewResult()
	r.Config = results.RunConfig{RunID: name, Backend: "memory", Clients: 1000, Rooms: 1, RoomSize: 1000, Senders: 10,
		RatePerS: 1, SizeBytes: 100, DurationS: float64(len(secP99))}
	r.Outcome.Verdict = results.Complete
	for i, v := range secP99 {
		r.Timeline = append(r.Timeline, results.Second{T: i, Phase: "steady", Connected: 1000, Sends: 10, Deliveries: 10000, P50Ms: v / 2, P99Ms: v})
	}
	r.Summary.Expected, r.Summary.Delivered, r.Summary.SteadyS = int64(10000*len(secP99)), int64(10000*len(secP99)), float64(len(secP99))
	r.Finish()
	r.Summary.LatencyMs = results.Percentiles{Count: r.Summary.Delivered, P50: p99 / 2, P99: p99}
	path := filepath.Join(dir, name+".json")
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// tableRow returns the table line of metric, its fields joined by one space.
func tableRow(out, metric string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, metric+"  ") {
			return strings.Join(strings.Fields(l), " ")
		}
	}
	return ""
}

func TestReportDiffRuns(t *testing.T) {
	dir := t.TempDir()
	a := steadyRun(t, dir, "a", 10, 9.8, 10.2, 10, 9.9, 10.1)
	twice := steadyRun(t, dir, "twice", 20, 19.8, 20.2, 20, 19.9, 20.1)
	wide := steadyRun(t, dir, "wide", 10.5, 2, 18, 6, 14, 10)
	code, out, errOut := runCLI("report", "diff", a, twice)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for metric, want := range map[string]string{
		"latency p99":             "latency p99 10 ms 20 ms +10 ms (+100%)",
		"loss":                    "loss 0% 0% 0% - same",
		"server CPU per delivery": "server CPU per delivery not measured not measured - - not measured",
	} {
		if got := tableRow(out, metric); !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want it to start %q\n%s", metric, got, want, out)
		}
	}
	if got := tableRow(out, "latency p99"); !strings.HasSuffix(got, " change") {
		t.Errorf("2x p99 with tight seconds: %q, want change", got)
	}
	// --json: 5% higher inside a wide spread is noise.
	code, out, errOut = runCLI("report", "diff", a, wide, "--json")
	if code != 0 || errOut != "" {
		t.Fatalf("--json: exit %d, stderr %q", code, errOut)
	}
	var cmp results.Comparison
	if err := json.Unmarshal([]byte(out), &cmp); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out)
	}
	if cmp.Schema != results.DiffSchema || cmp.A.Name != a || cmp.B.Name != wide || len(cmp.Rows) != 8 ||
		cmp.Rows[1].Metric != "latency p99" || cmp.Rows[1].Verdict != results.DiffNoise {
		t.Errorf("comparison %+v", cmp)
	}
}

// Sweeps: the memory knee at 1/s is in [1000, 1249] in one file (2000,
// 1500 and 1250 failed) and [800, 1599] in the other: noise; the other
// file also searched 10/s, which the first did not.
func TestReportDiffSweeps(t *testing.T) {
	code, out, errOut := runCLI("report", "diff", "../estimate/testdata/sweep-memory.json", "../estimate/testdata/sweep-rates.json")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for metric, want := range map[string]string{
		"knee memory at 1/s":  "knee memory at 1/s 1,000 800 -200 (-20%) - noise",
		"knee memory at 10/s": "knee memory at 10/s not measured 300 - - not measured",
	} {
		if got := tableRow(out, metric); got != want {
			t.Errorf("%q, want %q\n%s", got, want, out)
		}
	}
	if !strings.Contains(out, "the capacity lies in [1,000, 1,249] and [800, 1,599]") {
		t.Errorf("no bounds in the basis:\n%s", out)
	}
}

func TestReportDiffBadInputIsExit2(t *testing.T) {
	dir := t.TempDir()
	run := steadyRun(t, dir, "run", 10, 10, 10, 10)
	checkUsageErrors(t, []usageCase{
		{[]string{"report", "diff"}, "give two results files, A and B (got 0)"},
		{[]string{"report", "diff", run}, "(got 1)"},
		{[]string{"report", "diff", run, run, run}, "(got 3)"},
		{[]string{"report", "diff", run, filepath.Join(dir, "missing.json")}, "missing.json: no such file"},
		{[]string{"report", "diff", "../estimate/testdata/not-json.json", run}, "not-json.json: not a results file"},
		{[]string{"report", "diff", run, "../estimate/testdata/bad-schema.json"}, "bad-schema.json: schema"},
		{[]string{"report", "diff", run, "../estimate/testdata/sweep-memory.json"}, "run.json is a swarm result and ../estimate/testdata/sweep-memory.json a sweep result: give two swarm runs or two sweeps"},
		{[]string{"report", "diff", run, run, "--jsn"}, "unknown flag: --jsn"},
	})
}

// A real run (serve and swarm as processes) compared with itself: every
// measured figure is the same; and its CSV timeline is its timeline.
func TestReportDiffAndCSVRealRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	_, addr, _ := startServe(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "run.json")
	code, stdout, stderr := runChatbench(t, "swarm", "--url", "ws://"+addr+"/ws?room={{room}}&user={{user}}", "-n", "50",
		"--rooms", "2", "--senders", "10", "--rate", "5/s", "--warmup", "500ms", "--duration", "3s", "--out", path)
	if code != 0 {
		t.Fatalf("swarm: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, out, errOut := runChatbench(t, "report", "diff", path, path, "--json")
	if code != 0 {
		t.Fatalf("report diff: exit %d\n%s", code, errOut)
	}
	var cmp results.Comparison
	if err := json.Unmarshal([]byte(out), &cmp); err != nil {
		t.Fatal(err)
	}
	for _, r := range cmp.Rows {
		if r.Verdict != results.DiffSame && r.Verdict != results.DiffNotMeasured {
			t.Errorf("%s: %s comparing a run with itself", r.Metric, r.Verdict)
		}
	}
	if v := cmp.Rows[1]; v.Metric != "latency p99" || v.Verdict != results.DiffSame {
		t.Errorf("p99 row %+v: a run of 500 deliveries/s times its deliveries", v)
	}
	code, csvOut, errOut := runChatbench(t, "report", "csv", path)
	if code != 0 {
		t.Fatalf("report csv: exit %d\n%s", code, errOut)
	}
	r, err := results.ReadRun(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(csvOut, "\n"), "\n")
	if len(lines) != 1+len(r.Timeline) || !strings.HasPrefix(lines[0], "file,step,run_id,t_s") {
		t.Fatalf("%d CSV lines for %d seconds:\n%s", len(lines), len(r.Timeline), csvOut)
	}
	for i, s := range r.Timeline {
		if f := strings.Split(lines[1+i], ","); f[0] != path || f[2] != r.Config.RunID || f[4] != s.Phase || f[7] != strconv.FormatInt(s.Deliveries, 10) {
			t.Errorf("line %d %q for second %+v", 1+i, lines[1+i], s)
		}
	}
}

type usageCase struct {
	args []string
	want string
}

// checkUsageErrors runs each case in-process: exit 2, one line on stderr
// containing want, nothing on stdout.
func checkUsageErrors(t *testing.T, cases []usageCase) {
	t.Helper()
	for _, tc := range cases {
		code, out, errOut := runCLI(tc.args...)
		if code != ExitUsage || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line containing %q", tc.args, code, out, errOut, tc.want)
		}
	}
}
