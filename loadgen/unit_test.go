package loadgen_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/results"
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

// The receive path (find every probe in a frame, parse, account, record)
// does not allocate.
// Every message is a delivery (a first copy): after every probe of every
// sender went through once, the receiver starts afresh (that reset is
// included, about 1.5 ns per message).
func BenchmarkReceivePath(b *testing.B) {
	const senders, seqs = 64, 1024
	frame, reset := loadgen.NewBenchReceiver("benchrun", senders, seqs)
	var frames [][]byte
	for i := 0; i < senders*seqs; i++ {
		p := loadgen.AppendProbe(nil, "benchrun", int64(i%senders), int64(i/senders), 1, 100, 100)
		frames = append(frames, []byte(`{"user":"u1","room":"room0","message":"`+string(p)+`"}`))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%len(frames) == 0 {
			reset()
		}
		frame(frames[i%len(frames)])
	}
}

func TestReceivePathAllocs(t *testing.T) {
	frame, _ := loadgen.NewBenchReceiver("benchrun", 4, 16)
	p := loadgen.AppendProbe(nil, "benchrun", 1, 2, 1, 100, 100)
	f := []byte(`{"user":"u1","message":"` + string(p) + `"}` + string(loadgen.AppendProbe(nil, "foreign1", 1, 2, 1, 100, 60)))
	if n := testing.AllocsPerRun(1000, func() { frame(f) }); n != 0 {
		t.Fatalf("%v allocations per frame, want 0", n)
	}
}
