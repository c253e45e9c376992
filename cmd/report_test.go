package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatbench/chatbench/loadgen/results"
)

type resultTotals struct {
	Partial bool `json:"partial"`
	Runs    int  `json:"runs"`
	Config  struct {
		Clients int    `json:"clients"`
		Senders int    `json:"senders"`
		Procs   int    `json:"procs"`
		Shard   string `json:"shard"`
	} `json:"config"`
	Summary struct {
		Connected, Sent, Expected, Delivered, Lost, Duplicated, ForeignDelivered int64
	} `json:"summary"`
}

func readTotals(t *testing.T, path string) resultTotals {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r resultTotals
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReportMergeBadInputIsExit2(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.json")
	run := filepath.Join(dir, "run.json")
	if err := (&results.Result{Schema: results.Schema, Kind: "swarm", Config: results.RunConfig{RunID: "abc"}}).WriteFile(run); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.json")
	if err := os.WriteFile(other, []byte(`{"schema": "chatbench.results/v9", "kind": "swarm"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "merge"}, "give one or more results files"},
		{[]string{"report", "merge", missing}, "missing.json: no such file"},
		{[]string{"report", "merge", "../estimate/testdata/not-json.json"}, "not-json.json: not a results file: invalid character"},
		{[]string{"report", "merge", other}, `other.json: schema "chatbench.results/v9"`},
		{[]string{"report", "merge", "../estimate/testdata/sweep-memory.json"}, `a sweep result, not a swarm run`},
		{[]string{"report", "merge", run, run}, "both hold run abc: each run may be merged once"},
	} {
		code, _, errOut := runCLI(tc.args...)
		if code != ExitUsage || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line containing %q", tc.args, code, errOut, tc.want)
		}
	}
}

// Two machines' shards, merged by 'report merge', add up to the whole load.
func TestReportMergeShards(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	_, addr, _ := startServe(t)
	dir := t.TempDir()
	url := "ws://" + addr + "/ws?room={{room}}&user={{user}}"
	var parts []string
	for _, shard := range []string{"0/2", "1/2"} {
		out := filepath.Join(dir, strings.Replace(shard, "/", "of", 1)+".json")
		code, stdout, stderr := runChatbench(t, "swarm", "--url", url, "-n", "60", "--rooms", "3", "--senders", "9",
			"--rate", "5/s", "--warmup", "200ms", "--duration", "1s", "--shard", shard, "--out", out, "--metrics-url", "none")
		if code != 0 {
			t.Fatalf("shard %s: exit %d\n%s\n%s", shard, code, stdout, stderr)
		}
		parts = append(parts, out)
	}
	all := filepath.Join(dir, "all.json")
	code, stdout, stderr := runChatbench(t, append(append([]string{"report", "merge"}, parts...), "-o", all)...)
	if code != 0 || !strings.Contains(stdout, "60 connected") {
		t.Fatalf("report merge: exit %d\n%s\n%s", code, stdout, stderr)
	}
	m, a, b := readTotals(t, all), readTotals(t, parts[0]), readTotals(t, parts[1])
	if a.Config.Shard != "0/2" || a.Config.Clients != 40 || b.Config.Clients != 20 {
		t.Errorf("shards: %+v / %+v", a.Config, b.Config)
	}
	// 9 senders × 5/s × 1 s; rooms of 20.
	if m.Config.Clients != 60 || m.Config.Senders != 9 || m.Runs != 2 || m.Summary.Connected != 60 ||
		m.Summary.Sent != 45 || m.Summary.Expected != 45*20 || m.Summary.Delivered != m.Summary.Expected ||
		m.Summary.Lost != 0 || m.Summary.ForeignDelivered != 0 || m.Partial {
		t.Errorf("merged: %+v", m)
	}
}

// --procs 2 against the server swarm starts: the totals of one process, no
// loss, deliveries across the two processes counted.
func TestSwarmProcs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	args := []string{"swarm", "-n", "200", "--rooms", "5", "--senders", "20", "--rate", "5/s",
		"--warmup", "300ms", "--duration", "1s", "--settle", "0", "--slo", "loss<0.001%,connect-errors=0"}
	var totals []resultTotals
	for _, procs := range []string{"1", "2"} {
		out := filepath.Join(dir, "procs"+procs+".json")
		code, stdout, stderr := runChatbench(t, append(args, "--procs", procs, "--out", out)...)
		if code != 0 {
			t.Fatalf("--procs %s: exit %d\n%s\n%s", procs, code, stdout, stderr)
		}
		totals = append(totals, readTotals(t, out))
		if procs == "2" && !strings.Contains(stdout, "2 worker processes") {
			t.Errorf("summary does not say the run used 2 processes:\n%s", stdout)
		}
	}
	one, two := totals[0].Summary, totals[1].Summary
	// 20 senders × 5/s × 1 s, rooms of 40 with members in both processes.
	if two.Connected != 200 || two.Sent != 100 || two.Sent != one.Sent || two.Expected != one.Expected ||
		two.Expected != 100*40 || two.Delivered != two.Expected || two.Lost != 0 || two.Duplicated != 0 {
		t.Errorf("--procs 2: %+v; one process: %+v", two, one)
	}
	if c := totals[1].Config; c.Procs != 2 || c.Clients != 200 || c.Senders != 20 {
		t.Errorf("--procs 2 config: %+v", c)
	}
}
