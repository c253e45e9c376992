package results

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen/errkind"
)

// decodeRun decodes a swarm results file.
func decodeRun(name string, b []byte) (*Result, error) {
	f, err := Decode(name, b)
	if err != nil {
		return nil, err
	}
	if f.Run == nil {
		return nil, fmt.Errorf("%s: not a run", name)
	}
	return f.Run, nil
}

// sampleResult is a small, valid result with histograms and errors.
func sampleResult(t testing.TB, clients int, seed int64) []byte {
	r := NewResult()
	r.StartedAt = time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)
	r.Config.Clients, r.Config.RunID, r.Config.URLs = clients, "run"+string(rune('a'+seed%26)), []string{"ws://127.0.0.1:1/ws"}
	r.Summary.Connected, r.Summary.Sent, r.Summary.Expected, r.Summary.Delivered, r.Summary.Lost = int64(clients), 10*seed, 10*seed*int64(clients), 10*seed*int64(clients)-seed, seed
	r.Summary.SteadyS = float64(seed)
	r.Errors.Connect = map[errkind.Kind]int64{"refused": seed}
	r.Errors.Disconnect = map[errkind.Kind]int64{"eof": 1}
	r.Errors.Run = []string{"x"}
	h := NewHist()
	for v := int64(1); v < 100000; v = v*3 + seed {
		_ = h.RecordValue(v)
	}
	r.Histograms = Histograms{LatencyDue: h, LatencySend: h, Connect: h, FanoutFirst: NewHist(), FanoutLast: NewHist()}
	r.Timeline = []Second{{T: 0, Phase: "ramp", Connected: int64(clients)}, {T: int(seed), Phase: "steady", Sends: seed}}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzDecodeResult: any bytes given as a results file are refused with an
// error or decoded into a result that merges and writes back out.
func FuzzDecodeResult(f *testing.F) {
	f.Add(sampleResult(f, 20, 3))
	f.Add([]byte(`{"schema":"chatbench.results/v2"}`))
	f.Add([]byte(`{"schema":"chatbench.results/v2","histograms":{"latency_due":"HISTFAAAAB54nJNpmSzMwMDAxQABzFCaEUzOmPnUfdoHALcEC1E="}}`))
	f.Add([]byte(`{"schema":"chatbench.results/v0"}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRun("fuzz.json", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.json: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if _, err := Merge(r); err != nil {
			t.Fatalf("a decoded result does not merge: %v", err)
		}
		var buf bytes.Buffer
		if err := r.WriteJSON(&buf); err != nil {
			t.Fatalf("a decoded result does not encode: %v", err)
		}
		if _, err := decodeRun("again.json", buf.Bytes()); err != nil {
			t.Fatalf("a result written back does not decode: %v\n%s", err, buf.Bytes())
		}
	})
}

// FuzzMergeCommutative: merging two decodable results never panics, and
// the totals do not depend on the order.
func FuzzMergeCommutative(f *testing.F) {
	f.Add(sampleResult(f, 20, 3), sampleResult(f, 7, 5))
	f.Add(sampleResult(f, 1, 1), []byte(`{"schema":"chatbench.results/v2","runs":2,"partial":true}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ra, err := decodeRun("a", a)
		if err != nil {
			return
		}
		rb, err := decodeRun("b", b)
		if err != nil {
			return
		}
		ab, err1 := Merge(ra, rb)
		ba, err2 := Merge(rb, ra)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("merge a,b: %v; b,a: %v", err1, err2)
		}
		if err1 != nil {
			return
		}
		x, y := ab.Summary, ba.Summary
		for _, c := range [][2]int64{
			{x.Connected, y.Connected}, {x.ConnectErrors, y.ConnectErrors}, {x.Disconnected, y.Disconnected},
			{x.Sent, y.Sent}, {x.SendErrors, y.SendErrors}, {x.Expected, y.Expected}, {x.Delivered, y.Delivered},
			{x.Lost, y.Lost}, {x.Duplicated, y.Duplicated}, {x.OutOfOrder, y.OutOfOrder}, {x.Foreign, y.Foreign}, {x.Misrouted, y.Misrouted}, {x.Unexpected, y.Unexpected}, {x.Received, y.Received},
			{int64(ab.Config.Clients), int64(ba.Config.Clients)}, {int64(ab.Runs), int64(ba.Runs)},
			{ab.Histograms.LatencyDue.TotalCount(), ba.Histograms.LatencyDue.TotalCount()},
			{ab.Histograms.Connect.TotalCount(), ba.Histograms.Connect.TotalCount()},
			{int64(len(ab.Timeline)), int64(len(ba.Timeline))},
		} {
			if c[0] != c[1] {
				t.Fatalf("merge is not commutative on totals:\na,b %+v\nb,a %+v", x, y)
			}
		}
		if x.SteadyS != y.SteadyS || ab.Outcome.Verdict != ba.Outcome.Verdict {
			t.Fatalf("merge order changes steady_s or the outcome: %s / %s", ab.Outcome.Verdict, ba.Outcome.Verdict)
		}
		if !maps.Equal(ab.Errors.Connect, ba.Errors.Connect) || !maps.Equal(ab.Errors.Disconnect, ba.Errors.Disconnect) ||
			!maps.Equal(ab.Errors.Frames, ba.Errors.Frames) {
			t.Fatalf("merge order changes error counts: %v / %v", ab.Errors, ba.Errors)
		}
		if _, err := json.Marshal(ab); err != nil {
			t.Fatalf("merged result does not encode: %v", err)
		}
	})
}
