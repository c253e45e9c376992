package loadgen_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/chatbench/chatbench/loadgen"
)

func TestProbeRoundTrip(t *testing.T) {
	b := loadgen.AppendProbe(nil, "abc123xy", 42, 7, 123456789, 5000, 100)
	if len(b) != 100 {
		t.Fatalf("len %d, want 100", len(b))
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.') {
			t.Fatalf("probe has %q outside [a-z0-9.]: %s", c, b)
		}
	}
	frame := []byte(`{"user":"u1","room":"r","message":"` + string(b) + `"} and cb1.bad. then cb1.other1.3.4.5`)
	var got []loadgen.Probe
	rest := frame
	bad := 0
	for {
		var p loadgen.Probe
		var found bool
		var nb int
		rest, found, nb = loadgen.NextProbe(rest, &p)
		bad += nb
		if !found {
			break
		}
		p.Run = append([]byte(nil), p.Run...)
		got = append(got, p)
	}
	if len(got) != 2 || bad != 1 {
		t.Fatalf("got %d probes, %d bad; want 2, 1: %+v", len(got), bad, got)
	}
	p := got[0]
	if string(p.Run) != "abc123xy" || p.Client != 42 || p.Seq != 7 || p.Due != 123456789 || p.SendDelay != 5000 {
		t.Fatalf("parsed %+v", p)
	}
	if q := got[1]; string(q.Run) != "other1" || q.Client != 3 || q.Seq != 4 || q.Due != 5 || q.SendDelay != -1 {
		t.Fatalf("parsed foreign %+v", q)
	}
}

func TestAtomicHistMatchesHdr(t *testing.T) {
	var vs []int64
	for i := int64(1); i < 5000; i++ {
		vs = append(vs, i)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100000; i++ {
		vs = append(vs, 1+r.Int64N(60_000_000))
	}
	vs = append(vs, 59_999_999, 60_000_000)
	h := hdr.New(1, 60_000_000, 3)
	for _, v := range vs {
		if err := h.RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	want := h.Export().Counts
	got := loadgen.AtomicHistCounts(vs)
	if len(got) != len(want) {
		t.Fatalf("counts len %d, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("index %d: %d, want %d", i, got[i], want[i])
		}
	}
}

func TestParseSLO(t *testing.T) {
	s, err := loadgen.ParseSLO("p99<100ms,loss<0.1%,connect-errors=0")
	if err != nil {
		t.Fatal(err)
	}
	r := &loadgen.Result{}
	r.Summary.LatencyMs.P99 = 99
	r.Summary.LossRatio = 0.0005
	if b := s.Check(r); b != nil {
		t.Fatalf("unexpected broken: %v", b)
	}
	r.Summary.LatencyMs.P99 = 153.25
	r.Summary.ConnectErrors = 2
	b := s.Check(r)
	if len(b) != 2 || !strings.HasPrefix(b[0], "p99<100ms broken: p99 = 153.250ms") || !strings.HasPrefix(b[1], "connect-errors=0 broken") {
		t.Fatalf("broken = %q", b)
	}
	for _, tc := range []struct{ in, err string }{
		{"p98<100ms", `unknown metric "p98"`},
		{"latency<1s", `unknown metric "latency"`},
		{"p99<fast", `bad duration "fast"`},
		{"loss<abc%", `bad percentage`},
		{"p99", `want metric<value`},
		{"", `empty slo`},
	} {
		_, err := loadgen.ParseSLO(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseSLO(%q) = %v, want error containing %q", tc.in, err, tc.err)
		}
	}
	s, err = loadgen.ParseSLO("p99<=0.5s, loss<0.001 ,connected>=10")
	if err != nil || s[0].Value != 500 || s[0].Op != "<=" || s[1].Value != 0.001 || s[2].Op != ">=" {
		t.Fatalf("%+v %v", s, err)
	}
}

func resultWith(vs []int64, delivered int64) *loadgen.Result {
	r := &loadgen.Result{Schema: loadgen.Schema, Kind: "swarm", Runs: 1}
	r.Histograms = loadgen.Histograms{LatencyDue: loadgen.NewHist(), LatencySend: loadgen.NewHist(),
		Connect: loadgen.NewHist(), FanoutFirst: loadgen.NewHist(), FanoutLast: loadgen.NewHist()}
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

func roundTrip(t *testing.T, r *loadgen.Result) *loadgen.Result {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var out loadgen.Result
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
	m, err := loadgen.Merge(roundTrip(t, resultWith(a, int64(len(a)))), roundTrip(t, resultWith(b, int64(len(b)))))
	if err != nil {
		t.Fatal(err)
	}
	if !m.Histograms.LatencyDue.Equals(one.Histograms.LatencyDue) || !m.Histograms.LatencySend.Equals(one.Histograms.LatencySend) {
		t.Fatal("merged histograms differ from one run's")
	}
	if m.Summary.Delivered != int64(len(all)) || m.Summary.Lost != 2 || m.Summary.Connected != 20 || m.Runs != 2 {
		t.Fatalf("merged counts %+v", m.Summary)
	}
	oneFinished, _ := loadgen.Merge(one)
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
	h := loadgen.NewHist()
	for i := int64(1); i <= 1000; i++ {
		_ = h.RecordValue(i * 100) // 0.1 ms .. 100 ms
	}
	var buf bytes.Buffer
	if err := loadgen.WriteHgrm(&buf, h); err != nil {
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

// The receive path (find every probe in a frame, parse, account, record)
// does not allocate.
func BenchmarkReceivePath(b *testing.B) {
	const senders, seqs = 64, 1024
	frame := loadgen.NewBenchReceiver("benchrun", senders, seqs)
	var frames [][]byte
	for i := 0; i < senders*8; i++ {
		p := loadgen.AppendProbe(nil, "benchrun", int64(i%senders), int64(i/senders), 1, 100, 100)
		frames = append(frames, []byte(`{"user":"u1","room":"room0","message":"`+string(p)+`"}`))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		frame(frames[i%len(frames)])
	}
}

func TestReceivePathAllocs(t *testing.T) {
	frame := loadgen.NewBenchReceiver("benchrun", 4, 16)
	p := loadgen.AppendProbe(nil, "benchrun", 1, 2, 1, 100, 100)
	f := []byte(`{"user":"u1","message":"` + string(p) + `"}` + string(loadgen.AppendProbe(nil, "foreign1", 1, 2, 1, 100, 60)))
	if n := testing.AllocsPerRun(1000, func() { frame(f) }); n != 0 {
		t.Fatalf("%v allocations per frame, want 0", n)
	}
}
