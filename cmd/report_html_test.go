package cmd

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen/htmlreport/htmlreporttest"
)

// networkRef finds anything a page would fetch (namespace URIs in SVG are
// not fetched).
var networkRef = regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import|<script[^>]+src`)

func checkHTML(t *testing.T, path string, ids ...string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	if !strings.HasPrefix(html, "<!DOCTYPE html>") {
		t.Errorf("%s: not an HTML document: %.80q", path, html)
	}
	for _, id := range ids {
		if !strings.Contains(html, `<figure class="chart" id="`+id+`"><svg`) {
			t.Errorf("%s: no plot %s", filepath.Base(path), id)
		}
	}
	if m := networkRef.FindString(html); m != "" {
		t.Errorf("%s loads something from the network: %q", path, m)
	}
	return html
}

// swarm --html, sweep --html and report html write self-contained reports
// from real runs; the report of both draws in a real browser.
func TestHTMLReports(t *testing.T) {
	if testing.Short() {
		t.Skip("real runs and a browser: skipped with -short")
	}
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	start := time.Now()
	defer func() { t.Logf("took %v", time.Since(start).Round(time.Millisecond)) }()
	code, stdout, stderr := runChatbench(t, "swarm", "-n", "30", "--senders", "10", "--rate", "10/s", "--warmup", "300ms",
		"--duration", "1s", "--grace", "300ms", "--settle", "0", "--progress", "never", "--out", p("run.json"), "--html", p("swarm.html"))
	if code != 0 {
		t.Fatalf("swarm: exit %d\n%s\n%s", code, stdout, stderr)
	}
	t.Logf("swarm done at %v", time.Since(start).Round(time.Millisecond))
	checkHTML(t, p("swarm.html"), "run1-latency-distribution", "run1-latency-over-time", "run1-connections", "run1-deliveries", "run1-memory")

	code, stdout, stderr = runChatbench(t, "sweep", "--start", "10", "--max", "10", "--rate", "10/s", "--warmup", "200ms",
		"--duration", "1s", "--grace", "300ms", "--slo-p99", "2s", "--budget", "30s", "--out", p("sweep.json"), "--html", p("sweep.html"))
	if code != 0 {
		t.Fatalf("sweep: exit %d\n%s\n%s", code, stdout, stderr)
	}
	t.Logf("sweep done at %v", time.Since(start).Round(time.Millisecond))
	// 10 clients are too few to divide memory by: no memory curve, and the
	// knee's run says why.
	html := checkHTML(t, p("sweep.html"), "sweep1-capacity", "sweep1-knee1-latency-distribution")
	if strings.Contains(html, `id="sweep1-memory"`) || !strings.Contains(html, "only 10 connections were opened; 100 are needed") {
		t.Error("sweep.html: a memory curve from 10 connections, or no reason why memory was not measured")
	}
	if !strings.Contains(html, "SLO: p99 &lt; 2000 ms") {
		t.Error("sweep.html: no SLO line at 2000 ms")
	}

	code, stdout, stderr = runChatbench(t, "report", "html", p("run.json"), p("sweep.json"), "-o", p("report.html"))
	if code != 0 || !strings.Contains(stdout, "1 swarm run(s), 1 sweep(s)") {
		t.Fatalf("report html: exit %d\n%s\n%s", code, stdout, stderr)
	}
	checkHTML(t, p("report.html"), "sweep1-capacity", "run1-latency-distribution", "run1-memory")
	t.Logf("report html done at %v", time.Since(start).Round(time.Millisecond))
	drawn := htmlreporttest.DrawnFigures(t, p("report.html"))
	if len(drawn) < 10 {
		t.Errorf("the browser drew %d figures: %v", len(drawn), drawn)
	}
}

func TestReportHTMLBadInput(t *testing.T) {
	dir := t.TempDir()
	notResults := filepath.Join(dir, "x.json")
	if err := os.WriteFile(notResults, []byte(`{"hello":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "html", "-o", "r.html"}, "chatbench: report html: give one or more results files"},
		{[]string{"report", "html", notResults}, "chatbench: report html: give the output file with -o report.html"},
		{[]string{"report", "html", notResults, "-o", filepath.Join(dir, "r.html")}, `chatbench: report html: x.json: schema "", want "chatbench.results/v2"`},
		{[]string{"report", "html", filepath.Join(dir, "missing.json"), "-o", filepath.Join(dir, "r.html")}, "no such file or directory"},
	} {
		code, _, errOut := runCLI(c.args...)
		if code != ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d %q, want 2 and %q", c.args, code, errOut, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "r.html")); err == nil {
		t.Error("a report was written from bad input")
	}
}
