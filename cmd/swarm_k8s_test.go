package cmd

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen/results"
)

// Bad cluster input: one line naming the problem, exit 2, before any
// socket is opened.
func TestSwarmClusterFlagsBadInputIsExit2(t *testing.T) {
	base := []string{"swarm", "-n", "40", "--rooms", "4", "--url", "ws://127.0.0.1:1/ws"}
	for _, tc := range []struct {
		env  string // JOB_COMPLETION_INDEX; "-": unset
		args []string
		want string
	}{
		{"-", []string{"--shard", "$(JOB_COMPLETION_INDEX)/4"}, `--shard "$(JOB_COMPLETION_INDEX)/4": JOB_COMPLETION_INDEX is not set: run swarm as a pod of an Indexed Job`},
		{"", []string{"--shard", "$(JOB_COMPLETION_INDEX)/4"}, `JOB_COMPLETION_INDEX is not set`},
		{"4", []string{"--shard", "$(JOB_COMPLETION_INDEX)/4"}, `--shard "$(JOB_COMPLETION_INDEX)/4": JOB_COMPLETION_INDEX=4 is out of range for 4 shards: the Job's completions must equal K`},
		{"two", []string{"--shard", "$(JOB_COMPLETION_INDEX)/4"}, `JOB_COMPLETION_INDEX="two" is not a shard index`},
		{"-", []string{"--shard", "4/4"}, `--shard "4/4": want i/K with 0 ≤ i < K`},
		{"-", []string{"--start-at", "2001-02-03T04:05:06Z"}, `--start-at 2001-02-03T04:05:06Z is `},
		{"-", []string{"--start-at", "in two minutes"}, `--start-at "in two minutes": want an RFC 3339 time such as 2030-01-02T15:04:05Z`},
		{"-", []string{"--start-at", "$(START_AT)"}, `--start-at "$(START_AT)": a variable that was not expanded`},
		{"-", []string{"--junit", "/nonexistent-dir/junit.xml"}, `--junit: `},
	} {
		if tc.env == "-" {
			t.Setenv(jobIndexVar, "")
			os.Unsetenv(jobIndexVar)
		} else {
			t.Setenv(jobIndexVar, tc.env)
		}
		code, _, stderr := runCLI(append(append([]string{}, base...), tc.args...)...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v (JOB_COMPLETION_INDEX %q): exit %d, stderr %q; want exit 2, one line containing %q", tc.args, tc.env, code, stderr, tc.want)
		}
	}
	if code, _, stderr := runCLI(append(base, "--start-at", "2001-02-03T04:05:06Z")...); !strings.Contains(stderr, "in the past") {
		t.Errorf("exit %d, stderr %q: want it to say the time is in the past", code, stderr)
	}
}

// $(JOB_COMPLETION_INDEX) in --shard is this pod's index; --start-at in
// the future is taken.
func TestClusterOptionsExpand(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	k := &clusterOptions{startAt: "2030-01-02T03:04:06.5Z", now: func() time.Time { return now },
		lookupEnv: func(name string) (string, bool) {
			return map[string]string{jobIndexVar: "3"}[name], name == jobIndexVar
		}}
	o := &swarmOptions{}
	o.part.shardFlag = "$(JOB_COMPLETION_INDEX)/4"
	if err := k.validate(o); err != nil {
		t.Fatal(err)
	}
	if o.part.shardFlag != "3/4" || !o.cfg.StartAt.Equal(now.Add(1500*time.Millisecond)) {
		t.Errorf("shard %q start %v; want 3/4 and 1.5 s after now", o.part.shardFlag, o.cfg.StartAt)
	}
	k.startAt = "2030-01-02T03:04:05Z" // now: not in the future
	if err := k.validate(o); err == nil || !strings.Contains(err.Error(), "0s in the past") {
		t.Errorf("a start at now: %v", err)
	}
}

// swarm --out - prints its results as the last stdout line, and --junit
// writes a failing case for the broken clause and the outcome.
func TestSwarmJUnitAndResultsLine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	path := filepath.Join(t.TempDir(), "junit.xml")
	code, stdout, stderr := runChatbench(t, "swarm", "-n", "5", "--rate", "10/s", "--warmup", "100ms",
		"--duration", "500ms", "--slo", "p99<1us,connect-errors=0", "--junit", path, "--out", "-")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1 (SLO broken)\n%s\n%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	rs, err := results.ReadLines("stdout", strings.NewReader(stdout))
	if err != nil || len(rs) != 1 || !strings.HasPrefix(lines[len(lines)-1], `{"schema":"`) {
		t.Fatalf("results line: %v (%d results); last line %.80q", err, len(rs), lines[len(lines)-1])
	}
	if r := rs[0]; r.Summary.Connected != 5 || r.Outcome.Verdict != results.Overloaded || len(r.Outcome.Clauses) != 2 {
		t.Errorf("results line: connected %d, outcome %+v", r.Summary.Connected, r.Outcome)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Failures int `xml:"failures,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
		} `xml:"testsuite>testcase"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Failures != 2 || len(doc.Cases) != 3 || doc.Cases[0].Name != "slo: p99<1us" || doc.Cases[0].Failure == nil ||
		!strings.HasPrefix(doc.Cases[0].Failure.Message, "p99<1us broken: p99 = ") || doc.Cases[1].Failure != nil ||
		doc.Cases[2].Failure == nil || !strings.HasPrefix(doc.Cases[2].Failure.Message, "overloaded: SLO p99<1us broken") {
		t.Errorf("junit:\n%s", b)
	}
}
