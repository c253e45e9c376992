package results_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/chatbench/chatbench/loadgen/results"
)

// caseView is a test case as a JUnit consumer sees it: its name, and the
// kind ("failure", "error" or "" when it passed) and message of its result.
type caseView struct {
	Suite, Name, Kind, Message string
}

// viewOf decodes a JUnit document with encoding/xml into caseViews, and
// checks each suite's counts against its cases.
func viewOf(t *testing.T, doc []byte) []caseView {
	t.Helper()
	var d struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Errors   int    `xml:"errors,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
				Error *struct {
					Message string `xml:"message,attr"`
				} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(doc, &d); err != nil {
		t.Fatalf("not XML: %v\n%s", err, doc)
	}
	var out []caseView
	total := 0
	for _, s := range d.Suites {
		f, e := 0, 0
		for _, c := range s.Cases {
			v := caseView{Suite: s.Name, Name: c.Name}
			switch {
			case c.Failure != nil:
				v.Kind, v.Message = "failure", c.Failure.Message
				f++
			case c.Error != nil:
				v.Kind, v.Message = "error", c.Error.Message
				e++
			}
			out = append(out, v)
		}
		if s.Tests != len(s.Cases) || s.Failures != f || s.Errors != e {
			t.Errorf("suite %q: tests=%d failures=%d errors=%d; its cases: %d, %d failed, %d errors", s.Name, s.Tests, s.Failures, s.Errors, len(s.Cases), f, e)
		}
		total += len(s.Cases)
	}
	if d.Tests != total {
		t.Errorf("testsuites tests=%d, cases %d", d.Tests, total)
	}
	return out
}

func junitOf(t *testing.T, suites ...results.JUnitSuite) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := results.WriteJUnit(&b, suites...); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A run that broke two of three clauses: a failing case for each, named by
// the clause with the measured value, and the outcome failing as overloaded.
func TestJUnitForRun(t *testing.T) {
	slo, err := results.ParseSLO("p99<100ms,loss<0.1%,connect-errors=0")
	if err != nil {
		t.Fatal(err)
	}
	r := resultWith([]int64{99_000, 153_250, 153_250}, 2000) // p99 153.343 ms (HdrHistogram bucket top), 1 of 2001 lost
	r.Summary.ConnectErrors = 2
	r.Summary.Connected = 10_000 // 2 failed connects are within no limit but break the clause
	r.Finish()
	r.Decide(results.Limits{MaxLoss: 0.001, MaxDisconnected: 0.01, MaxConnectErrors: 1}, slo)
	got := viewOf(t, junitOf(t, results.JUnitForRun("chatbench swarm", r)))
	want := []caseView{
		{"chatbench swarm", "slo: p99<100ms", "failure", "p99<100ms broken: p99 = 153.343ms"},
		{"chatbench swarm", "slo: loss<0.1%", "", ""},
		{"chatbench swarm", "slo: connect-errors=0", "failure", "connect-errors=0 broken: connect-errors = 2"},
		{"chatbench swarm", "outcome: complete", "failure", "overloaded: SLO p99<100ms broken: p99 = 153.343ms"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cases:\n got %+v\nwant %+v", got, want)
	}

	// Every clause holding: every case passes.
	ok := resultWith([]int64{5_000}, 2000)
	ok.Summary.Lost, ok.Summary.Expected = 0, 2000
	ok.Finish()
	ok.Decide(results.DefaultLimits(), slo)
	for _, c := range viewOf(t, junitOf(t, results.JUnitForRun("chatbench swarm", ok))) {
		if c.Kind != "" {
			t.Errorf("complete run: case %+v did not pass", c)
		}
	}

	// A run that could not measure is an error, not a failure.
	part := resultWith([]int64{5_000}, 2000)
	part.Errors.Run = append(part.Errors.Run, "interrupted: context canceled")
	part.Finish()
	part.Decide(results.DefaultLimits(), nil)
	got = viewOf(t, junitOf(t, results.JUnitForRun("chatbench swarm", part)))
	want = []caseView{{"chatbench swarm", "outcome: complete", "error", "partial: the run ended early: interrupted: context canceled"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("partial run:\n got %+v\nwant %+v", got, want)
	}
}

// A sweep: per knee search, the clauses at the knee step (passing) or,
// with no knee, at the first step (failing), and the knee case.
func TestJUnitForSweep(t *testing.T) {
	step := func(backend string, n int64, p99us int64, ok bool, why string) results.Step {
		r := resultWith([]int64{p99us}, 1000)
		r.Summary.Lost, r.Summary.Expected = 0, 1000
		r.Finish()
		return results.Step{Backend: backend, Clients: n, RatePerS: 10, OK: ok, Why: why, Result: r}
	}
	sw := results.NewSweep()
	sw.Config.SLOP99Ms, sw.Config.MaxLoss, sw.Config.StartN = 100, 0, 100
	sw.Steps = []results.Step{
		step("memory", 100, 20_000, true, ""),
		step("memory", 200, 60_000, true, ""),
		step("memory", 400, 300_000, false, "p99 300ms ≥ 100ms"),
		step("redis", 100, 250_000, false, "p99 250ms ≥ 100ms"),
	}
	sw.Searches = []results.Search{{Backend: "memory", RatePerS: 10, Knee: 200, Above: 400}, {Backend: "redis", RatePerS: 10}}
	got := viewOf(t, junitOf(t, results.JUnitForSweep(sw)...))
	want := []caseView{
		{"chatbench sweep memory at 10/s", "slo: p99<100ms at 200 clients", "", ""},
		{"chatbench sweep memory at 10/s", "slo: loss<=0 at 200 clients", "", ""},
		{"chatbench sweep memory at 10/s", "knee", "", ""},
		{"chatbench sweep redis at 10/s", "slo: p99<100ms at 100 clients", "failure", "p99<100ms at 100 clients broken: p99 = 250.111ms"},
		{"chatbench sweep redis at 10/s", "slo: loss<=0 at 100 clients", "", ""},
		{"chatbench sweep redis at 10/s", "knee", "failure", "even 100 clients miss the SLO: p99 250ms ≥ 100ms"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cases:\n got %+v\nwant %+v", got, want)
	}
}

// A JUnit consumer that CI reporters are built on (Debian's
// python3-junitparser) reads the document as written: the same cases,
// failures and messages.
func TestJUnitReadByJunitparser(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import junitparser").Run(); err != nil {
		t.Fatalf("python3-junitparser is needed: apt-get install python3-junitparser (scripts/services.sh start installs it): %v", err)
	}
	slo, _ := results.ParseSLO("p99<100ms,connect-errors=0")
	r := resultWith([]int64{153_250}, 2000)
	r.Finish()
	r.Decide(results.DefaultLimits(), slo)
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := results.WriteJUnitFile(path, results.JUnitForRun("chatbench swarm", r)); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := viewOf(t, doc)
	const script = `
import json, sys
from junitparser import JUnitXml, Failure, Error
out = []
for suite in JUnitXml.fromfile(sys.argv[1]):
    for case in suite:
        kind, msg = "", ""
        for res in case.result:
            if isinstance(res, Failure): kind, msg = "failure", res.message
            elif isinstance(res, Error): kind, msg = "error", res.message
        out.append({"Suite": suite.name, "Name": case.name, "Kind": kind, "Message": msg or ""})
print(json.dumps(out))
`
	b, err := exec.Command("/usr/bin/python3", "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("junitparser: %v\n%s", err, b)
	}
	var got []caseView
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("junitparser output %q: %v", b, err)
	}
	if !reflect.DeepEqual(got, want) || len(got) != 3 || got[0].Kind != "failure" || !strings.Contains(got[0].Message, "p99 = 153.343ms") {
		t.Errorf("junitparser read:\n%+v\nencoding/xml read:\n%+v", got, want)
	}
}
