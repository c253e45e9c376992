package results_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/chatbench/chatbench/loadgen/results"
)

func shardRun(id, shard string, delivered int64) *results.Result {
	r := resultWith([]int64{1000, 2000, 3000}, delivered)
	r.Config.RunID, r.Config.Shard = id, shard
	r.Finish()
	return r
}

// Results lines are picked out of a log stream (summaries, stderr lines,
// CRLF endings) and merge as the files would.
func TestResultsLinesInLogs(t *testing.T) {
	var logs bytes.Buffer
	logs.WriteString("chatbench swarm: 40 clients in 4 rooms ...\nrun complete: 40 connected\n")
	if err := shardRun("a", "0/2", 100).WriteLine(&logs); err != nil {
		t.Fatal(err)
	}
	logs.WriteString("chatbench swarm: metrics on http://:9464/metrics\r\n")
	var second bytes.Buffer
	if err := shardRun("b", "1/2", 50).WriteLine(&second); err != nil {
		t.Fatal(err)
	}
	if strings.Count(second.String(), "\n") != 1 {
		t.Fatalf("a results line spans %d lines", strings.Count(second.String(), "\n"))
	}
	logs.WriteString(strings.TrimSuffix(second.String(), "\n") + "\r\n")

	m, err := results.MergeFrom(strings.NewReader(logs.String()), "-")
	if err != nil {
		t.Fatal(err)
	}
	if m.Runs != 2 || m.Summary.Delivered != 150 || m.Histograms.LatencyDue.TotalCount() != 6 || m.Config.Shard != "" {
		t.Errorf("merged: runs %d delivered %d timed %d shard %q; want 2, 150, 6, none",
			m.Runs, m.Summary.Delivered, m.Histograms.LatencyDue.TotalCount(), m.Config.Shard)
	}

	cut := logs.String()[:strings.LastIndex(logs.String(), `"histograms"`)] + "\n"
	for _, tc := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"no line", "just a summary\n", []string{"-"}, "stdin: no results line (swarm --out - prints one"},
		{"cut short", cut, []string{"-"}, "stdin line 5: not a results file"},
		{"twice", logs.String(), []string{"-", "-"}, "- (stdin) given twice"},
		{"same run twice", logs.String() + second.String(), []string{"-"}, "stdin and stdin both hold run b"},
	} {
		_, err := results.MergeFrom(strings.NewReader(tc.stdin), tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// Shards of one load with one missing do not merge: their sum is not the
// load's.
func TestMergeRefusesMissingShard(t *testing.T) {
	var logs bytes.Buffer
	for _, r := range []*results.Result{shardRun("a", "0/4", 1), shardRun("b", "1/4", 1), shardRun("d", "3/4", 1)} {
		if err := r.WriteLine(&logs); err != nil {
			t.Fatal(err)
		}
	}
	_, err := results.MergeFrom(&logs, "-")
	if err == nil || !strings.Contains(err.Error(), "stdin hold 3 of the 4 shards of one load; missing: 2/4") {
		t.Errorf("3 of 4 shards: %v", err)
	}
	// Runs that are not the shards of one load merge as before.
	var other bytes.Buffer
	for _, r := range []*results.Result{shardRun("a", "0/4", 1), shardRun("x", "", 1)} {
		if err := r.WriteLine(&other); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := results.MergeFrom(&other, "-"); err != nil {
		t.Errorf("a shard and a whole run: %v", err)
	}
}
