package results

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/chatbench/chatbench/internal/units"
)

// JUnit XML (swarm, sweep and report merge --junit): CI systems (Jenkins,
// GitLab, GitHub Actions reporters, Buildkite, CircleCI) show each SLO
// clause as a test case, so a broken one is named where people look. The
// format is the common one these read: <testsuites> of <testsuite> of
// <testcase>, a <failure> for a broken clause or an overloaded run, an
// <error> for a run that could not measure (invalid, partial).

// JUnitSuites is a JUnit XML document.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one run, or one knee search of a sweep.
type JUnitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       float64         `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []JUnitProperty `xml:"properties>property,omitempty"`
	Cases      []JUnitCase     `xml:"testcase"`
}

// JUnitProperty is a name and value shown with a suite.
type JUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitCase is one SLO clause, or the outcome of a run.
type JUnitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      float64       `xml:"time,attr"`
	Failure   *JUnitProblem `xml:"failure,omitempty"`
	Error     *JUnitProblem `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// JUnitProblem is a failure or an error: message is the one line a CI
// shows, Text the detail.
type JUnitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnitForRun is a run's (or a merged run's) suite: a case per SLO clause,
// failing with what was measured when the clause broke, and a case for the
// outcome, failing with the verdict's first reason (an error when the run
// could not measure: invalid or partial).
func JUnitForRun(name string, r *Result) JUnitSuite {
	s := JUnitSuite{Name: name, Time: r.Summary.SteadyS, Timestamp: r.StartedAt.UTC().Format(time.RFC3339),
		Properties: []JUnitProperty{{"verdict", r.Outcome.Verdict}, {"run_id", r.Config.RunID}, {"runs", strconv.Itoa(r.Runs)}}}
	if r.Config.Shard != "" {
		s.Properties = append(s.Properties, JUnitProperty{"shard", r.Config.Shard})
	}
	class := strings.ReplaceAll(name, " ", ".")
	for _, c := range r.Outcome.Clauses {
		s.Cases = append(s.Cases, clauseCase(class+".slo", c))
	}
	oc := JUnitCase{Name: "outcome: " + Complete, Classname: class, Time: r.Summary.SteadyS, SystemOut: outcomeText(r.Outcome)}
	if !r.Outcome.OK() {
		p := &JUnitProblem{Message: r.Outcome.Verdict, Type: r.Outcome.Verdict, Text: strings.Join(r.Outcome.Reasons, "\n")}
		if len(r.Outcome.Reasons) > 0 {
			p.Message = r.Outcome.Verdict + ": " + r.Outcome.Reasons[0]
		}
		if r.Outcome.Verdict == Overloaded {
			oc.Failure = p
		} else {
			oc.Error = p
		}
	}
	s.Cases = append(s.Cases, oc)
	return s.count()
}

func clauseCase(class string, c ClauseResult) JUnitCase {
	tc := JUnitCase{Name: "slo: " + c.Clause, Classname: class, SystemOut: "measured: " + orNone(c.Measured)}
	if !c.OK {
		tc.Failure = &JUnitProblem{Message: c.Clause + " broken: " + c.Why, Type: "slo", Text: "measured: " + orNone(c.Measured)}
	}
	return tc
}

func orNone(s string) string {
	if s == "" {
		return "no sample"
	}
	return s
}

func outcomeText(o Outcome) string {
	var b strings.Builder
	fmt.Fprintf(&b, "verdict: %s\n", o.Verdict)
	for _, r := range o.Reasons {
		fmt.Fprintf(&b, "reason: %s\n", r)
	}
	for _, w := range o.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}

// JUnitForSweep is a suite per knee search (backend × rate): the sweep's
// SLO clauses checked at the knee step (the largest that met them) or,
// when even the first step missed them, at that step, where they fail;
// and a case for the knee, failing when there is none (as the sweep's exit
// code does), with every step of the search in its output.
func JUnitForSweep(sw *Sweep) []JUnitSuite {
	text := fmt.Sprintf("p99<%sms,loss<=%s", strconv.FormatFloat(sw.Config.SLOP99Ms, 'g', -1, 64), strconv.FormatFloat(sw.Config.MaxLoss, 'g', -1, 64))
	slo, err := ParseSLO(text)
	var out []JUnitSuite
	for _, se := range sw.Searches {
		name := fmt.Sprintf("chatbench sweep %s at %s", se.Backend, units.FormatRate(se.RatePerS))
		class := strings.ReplaceAll(name, " ", ".")
		s := JUnitSuite{Name: name, Timestamp: sw.StartedAt.UTC().Format(time.RFC3339),
			Properties: []JUnitProperty{{"knee", strconv.FormatInt(se.Knee, 10)}, {"above", strconv.FormatInt(se.Above, 10)}, {"slo", text}}}
		var steps strings.Builder
		var at, first *Step
		for i := range sw.Steps {
			st := &sw.Steps[i]
			if st.Backend != se.Backend || st.RatePerS != se.RatePerS {
				continue
			}
			fmt.Fprintf(&steps, "%d clients: %s\n", st.Clients, stepText(st))
			if first == nil {
				first = st
			}
			if st.OK && st.Clients == se.Knee {
				at = st
			}
			if st.Result != nil {
				s.Time += st.Result.Summary.SteadyS
			}
		}
		if at == nil {
			at = first
		}
		if err == nil && at != nil && at.Result != nil {
			for _, c := range slo.Check(at.Result) {
				c.Clause = fmt.Sprintf("%s at %d clients", c.Clause, at.Clients)
				s.Cases = append(s.Cases, clauseCase(class+".slo", c))
			}
		}
		kc := JUnitCase{Name: "knee", Classname: class, SystemOut: steps.String()}
		if se.Stopped != "" {
			kc.SystemOut += "stopped: " + se.Stopped + "\n"
		}
		if se.Knee == 0 {
			why := ""
			if first != nil && first.Why != "" {
				why = ": " + first.Why
			}
			kc.Failure = &JUnitProblem{Message: fmt.Sprintf("even %d clients miss the SLO%s", cmp.Or(se.Above, sw.Config.StartN), why), Type: "knee", Text: steps.String()}
		}
		s.Cases = append(s.Cases, kc)
		out = append(out, s.count())
	}
	return out
}

func stepText(st *Step) string {
	if st.OK {
		return "met the SLO"
	}
	return "missed: " + st.Why
}

// count fills the suite's totals from its cases.
func (s JUnitSuite) count() JUnitSuite {
	s.Tests, s.Failures, s.Errors = len(s.Cases), 0, 0
	for _, c := range s.Cases {
		if c.Failure != nil {
			s.Failures++
		}
		if c.Error != nil {
			s.Errors++
		}
	}
	return s
}

// WriteJUnit writes the suites as one JUnit XML document.
func WriteJUnit(w io.Writer, suites ...JUnitSuite) error {
	doc := JUnitSuites{Name: "chatbench", Suites: suites}
	for _, s := range suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// WriteJUnitFile writes the suites to path (see WriteFile).
func WriteJUnitFile(path string, suites ...JUnitSuite) error {
	return WriteFile(path, func(w io.Writer) error { return WriteJUnit(w, suites...) })
}
