package results_test

import (
	"strings"
	"testing"

	"github.com/chatbench/chatbench/loadgen/errkind"
	"github.com/chatbench/chatbench/loadgen/results"
)

// base is a complete run: 100 clients, 1000 probes to 100 receivers each,
// all delivered and timed.
func base() *results.Result {
	r := results.NewResult()
	s := &r.Summary
	s.Connected, s.Sent, s.Expected, s.Delivered, s.Received, s.SteadyS = 100, 1000, 100_000, 100_000, 110_000, 10
	for i := int64(1); i <= 1000; i++ {
		_ = r.Histograms.LatencyDue.RecordValue(i * 10)
	}
	return r
}

func TestOutcome(t *testing.T) {
	for _, tc := range []struct {
		name    string
		change  func(r *results.Result)
		slo     string
		verdict string
		reason  string
	}{
		{"complete", func(*results.Result) {}, "p99<100ms", results.Complete, ""},
		{"loss over the limit", func(r *results.Result) { r.Summary.Lost, r.Summary.Delivered = 101, 99_899 }, "", results.Overloaded, "101 of 100000 expected deliveries were lost"},
		{"loss within the limit", func(r *results.Result) { r.Summary.Lost, r.Summary.Delivered = 100, 99_900 }, "", results.Complete, ""},
		// swarm -n 2000 against the embedded server: most sockets closed by the slow-consumer policy.
		{"slow consumers", func(r *results.Result) {
			r.Summary.Disconnected = 60
			r.Errors.Disconnect = map[errkind.Kind]int64{"close_1008": 60}
		}, "", results.Overloaded, "close_1008 60: closed by the server with 1008 (policy violation): chatbench serve sends it to a slow consumer"},
		{"one connect refused", func(r *results.Result) {
			r.Summary.ConnectErrors = 1
			r.Errors.Connect["refused"] = 1
		}, "", results.Overloaded, "1 of 101 connects failed"},
		{"nothing connected", func(r *results.Result) {
			*r = *results.NewResult()
			r.Summary.ConnectErrors = 4000
			r.Errors.Connect["refused"] = 4000
		}, "", results.Invalid, "no socket connected (refused 4000"},
		{"swarm out of ports", func(r *results.Result) {
			r.Summary.ConnectErrors = 5
			r.Errors.Connect["port_exhaustion"] = 5
		}, "", results.Invalid, "swarm hit its own limits"},
		// Every delivery lost: an SLO on p99 is broken for lack of samples, and nothing came back.
		{"all lost", func(r *results.Result) {
			r.Summary.Delivered, r.Summary.Lost, r.Summary.Received = 0, 100_000, 0
			r.Histograms = results.NewHistograms()
		}, "p99<100ms", results.Invalid, "none of the 1000 probes sent came back"},
		// The blog's server without --hello: the first frame is the user name.
		{"most copies stray", func(r *results.Result) { r.Summary.Stray = 110_000; r.Summary.Received = 210_000 }, "", results.Invalid, "add --hello"},
		{"slo broken", func(*results.Result) {}, "p99<5ms", results.Overloaded, "SLO p99<5ms broken: p99 = 9.9"},
		{"ended early", func(r *results.Result) { r.Errors.Run = []string{"interrupted: context canceled"} }, "", results.Partial, "the run ended early: interrupted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base()
			tc.change(r)
			r.Finish()
			slo, err := results.ParseSLOOrEmpty(tc.slo)
			if err != nil {
				t.Fatal(err)
			}
			r.Decide(results.DefaultLimits(), slo)
			o := r.Outcome
			if o.Verdict != tc.verdict || (tc.reason != "" && (len(o.Reasons) == 0 || !strings.Contains(o.Reasons[0], tc.reason))) {
				t.Fatalf("outcome %s %q, want %s leading with %q", o.Verdict, o.Reasons, tc.verdict, tc.reason)
			}
			if tc.verdict == results.Complete && len(o.Reasons) > 0 {
				t.Errorf("complete with reasons %q", o.Reasons)
			}
		})
	}
}
