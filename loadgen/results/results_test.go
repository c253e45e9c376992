package results_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/chatbench/chatbench/loadgen/results"
)

func TestParseSLO(t *testing.T) {
	s, err := results.ParseSLO("p99<100ms,loss<0.1%,connect-errors=0")
	if err != nil {
		t.Fatal(err)
	}
	r := resultWith([]int64{99_000}, 2000)
	r.Finish()
	for _, c := range s.Check(r) {
		if !c.OK {
			t.Fatalf("clause %+v broken, want held (p99 99 ms, loss 0.05%%)", c)
		}
	}
	// 153.25 ms lands in HdrHistogram's 128 µs-wide bucket [153.216, 153.344) at 3 digits.
	_ = r.Histograms.LatencyDue.RecordValue(153_250)
	_ = r.Histograms.LatencyDue.RecordValue(153_250)
	r.Summary.ConnectErrors = 2
	r.Finish()
	c := s.Check(r)
	if c[0].OK || c[0].Why != "p99 = 153.343ms" || !c[1].OK || c[2].OK || c[2].Why != "connect-errors = 2" {
		t.Fatalf("checks = %+v", c)
	}
	for _, tc := range []struct{ in, err string }{
		{"p98<100ms", `unknown metric "p98"`},
		{"latency<1s", `unknown metric "latency"`},
		{"p99<fast", `bad duration "fast"`},
		{"loss<abc%", `bad percentage`},
		{"p99", `want metric<value`},
		{"", `empty slo`},
		{"p99=100", `a latency takes < or <=`},
		{"p99>5ms", `a latency takes < or <=`},
		{"loss<-5%", `never below 0`},
		{"lost<0", `never below 0`},
		{"loss<150%", `at most 100%`},
	} {
		_, err := results.ParseSLO(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseSLO(%q) = %v, want error containing %q", tc.in, err, tc.err)
		}
	}
	s, err = results.ParseSLO("p99<=0.5s, loss<0.001 ,connected>=10")
	if err != nil || s[0].Value != 500 || s[0].Op != "<=" || s[1].Value != 0.001 || s[2].Op != ">=" {
		t.Fatalf("%+v %v", s, err)
	}
}

// A latency clause with no timed delivery is broken, never met by an
// empty histogram (whose p99 reads 0); loss with nothing expected too.
func TestSLOWithoutSamplesIsBroken(t *testing.T) {
	s, _ := results.ParseSLO("p99<100ms,loss<1%")
	r := results.NewResult()
	r.Summary.Sent, r.Summary.Expected, r.Summary.Lost = 100, 0, 0
	r.Finish()
	c := s.Check(r)
	if len(c) != 2 || c[0].OK || c[1].OK || !strings.Contains(c[0].Why, "no sample") {
		t.Fatalf("checks %+v: want both broken for lack of samples", c)
	}
}

func resultWith(vs []int64, delivered int64) *results.Result {
	r := results.NewResult()
	for _, v := range vs {
		_ = r.Histograms.LatencyDue.RecordValue(v)
		_ = r.Histograms.LatencySend.RecordValue(v / 2)
	}
	r.Summary.Delivered = delivered
	r.Summary.Expected = delivered + 1
	r.Summary.Lost = 1
	r.Summary.Connected = 10
	r.Summary.SteadyS = 10
	return r
}

func roundTrip(t *testing.T, r *results.Result) *results.Result {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var out results.Result
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// Two merged results equal one run's histogram: the values recorded by two
// processes, merged after a JSON round trip, give exactly the histogram of
// all values recorded in one.
func TestMergeEqualsOneRun(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var all, a, b []int64
	for i := 0; i < 20000; i++ {
		v := 1 + r.Int64N(2_000_000)
		all = append(all, v)
		if i%3 == 0 {
			a = append(a, v)
		} else {
			b = append(b, v)
		}
	}
	one := resultWith(all, int64(len(all)))
	m, err := results.Merge(roundTrip(t, resultWith(a, int64(len(a)))), roundTrip(t, resultWith(b, int64(len(b)))))
	if err != nil {
		t.Fatal(err)
	}
	if !m.Histograms.LatencyDue.Equals(one.Histograms.LatencyDue) || !m.Histograms.LatencySend.Equals(one.Histograms.LatencySend) {
		t.Fatal("merged histograms differ from one run's")
	}
	if m.Summary.Delivered != int64(len(all)) || m.Summary.Lost != 2 || m.Summary.Connected != 20 || m.Runs != 2 {
		t.Fatalf("merged counts %+v", m.Summary)
	}
	oneFinished, _ := results.Merge(one)
	if m.Summary.LatencyMs != oneFinished.Summary.LatencyMs {
		t.Fatalf("percentiles %+v, want %+v", m.Summary.LatencyMs, oneFinished.Summary.LatencyMs)
	}
	// Merging is exact after another round trip too.
	m2 := roundTrip(t, m)
	if !m2.Histograms.LatencyDue.Equals(m.Histograms.LatencyDue) {
		t.Fatal("round trip changed the merged histogram")
	}
}

func TestHgrmFormat(t *testing.T) {
	h := results.NewHist()
	for i := int64(1); i <= 1000; i++ {
		_ = h.RecordValue(i * 100) // 0.1 ms .. 100 ms
	}
	var buf bytes.Buffer
	if err := results.WriteHgrm(&buf, h); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "       Value     Percentile TotalCount 1/(1-Percentile)\n\n") {
		t.Fatalf("header: %q", out[:80])
	}
	if !strings.Contains(out, "      50.015 0.500000000000        500           2.00") {
		t.Fatalf("no median line in\n%s", out)
	}
	if !strings.Contains(out, "#[Max     =      100.031, Total count    =         1000]") {
		t.Fatalf("footer in\n%s", out)
	}
}
