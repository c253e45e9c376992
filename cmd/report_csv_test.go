package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatbench/chatbench/loadgen/results"
)

func TestReportCSVOutFile(t *testing.T) {
	dir := t.TempDir()
	a := steadyRun(t, dir, "a", 10, 9, 10, 11)
	code, stdout, _ := runCLI("report", "csv", a, "../estimate/testdata/sweep-memory.json")
	if code != 0 || !strings.HasPrefix(stdout, strings.Join(results.StepColumns, ",")+"\n") || strings.Count(stdout, "\n") != 1+1+6 {
		t.Fatalf("a run and a sweep: exit %d, want the steps table (1 + 6 rows):\n%s", code, stdout)
	}
	out := filepath.Join(dir, "t.csv")
	code, written, errOut := runCLI("report", "csv", a, "--table", "timeline", "-o", out)
	b, err := os.ReadFile(out)
	if code != 0 || written != "" || errOut != "" || err != nil {
		t.Fatalf("-o: exit %d, stdout %q, stderr %q, %v", code, written, errOut, err)
	}
	_, stdout, _ = runCLI("report", "csv", a)
	if string(b) != stdout || !strings.Contains(stdout, a+",,a,1,steady,1000,10,10000,5,10\n") {
		t.Errorf("file %q, stdout %q", b, stdout)
	}
}

func TestReportCSVBadInputIsExit2(t *testing.T) {
	dir := t.TempDir()
	a := steadyRun(t, dir, "a", 10, 9, 10, 11)
	checkUsageErrors(t, []usageCase{
		{[]string{"report", "csv"}, "give one or more results files"},
		{[]string{"report", "csv", a, filepath.Join(dir, "none.json")}, "none.json: no such file"},
		{[]string{"report", "csv", a, "--table", "seconds"}, `--table "seconds": want timeline or steps`},
		{[]string{"report", "csv", a, "-o", dir}, "is a directory, not a file"},
		{[]string{"report", "csv", a, "-o", filepath.Join(dir, "no", "such", "dir.csv")}, "-o:"},
	})
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("bad input left files behind: %v", entries)
	}
}
