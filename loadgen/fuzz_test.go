package loadgen_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen"
)

// FuzzNextProbe: any frame, from any server, is scanned without a panic
// and without looping; every probe found is well-formed and was in the
// frame; the receive path takes the frame too.
func FuzzNextProbe(f *testing.F) {
	for _, s := range []string{
		`{"user":"u1","room":"r","message":"cb1.abc123.4.17.99887766.s120xxxxxxxx"}`,
		"cb1.a.0.0.0",
		"cb1.run.1.2.3.s4 and cb1.run.5.6.7.s8",
		"cb1.cb1.cb1.",
		"cb1.toolongrunid0123456789.1.2.3",
		"cb1.r.99999999999999999999.1.1",
		"",
		"cb1.r.1.2.",
	} {
		f.Add([]byte(s))
	}
	recv := loadgen.NewBenchReceiver("run", 4, 8)
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		rest := b
		var p loadgen.Probe
		for i := 0; ; i++ {
			if i > len(b) {
				t.Fatalf("NextProbe did not finish on %q", b)
			}
			next, found, _ := loadgen.NextProbe(rest, &p)
			if !found {
				break
			}
			if len(next) >= len(rest) {
				t.Fatalf("NextProbe did not advance: %d bytes left of %d", len(next), len(rest))
			}
			if len(p.Run) < 1 || len(p.Run) > 16 || strings.Trim(string(p.Run), "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
				t.Fatalf("run id %q is not 1-16 of [a-z0-9]", p.Run)
			}
			if p.Client < 0 || p.Seq < 0 || p.Due < 0 || p.SendDelay < -1 {
				t.Fatalf("negative field in %+v", p)
			}
			if !bytes.Contains(b, []byte(loadgen.ProbePrefix+string(p.Run)+".")) {
				t.Fatalf("probe of run %q not in the frame", p.Run)
			}
			rest = next
		}
		recv(b)
		if !bytes.Equal(b, orig) {
			t.Fatal("scanning changed the frame")
		}
	})
}

// FuzzProbeRoundTrip: a probe written by AppendProbe, inside any text and
// followed by a delimiter (as a JSON string ends), parses back to its fields.
func FuzzProbeRoundTrip(f *testing.F) {
	f.Add("k3v9q0zd", int64(12), int64(3), int64(123456789), int64(250), 100, []byte(`{"message":"`), []byte(`"}`))
	f.Add("a", int64(0), int64(0), int64(0), int64(0), 0, []byte("cb1."), []byte("cb1.x"))
	f.Add("0123456789abcdef", int64(999999999999999999), int64(1), int64(2), int64(-5), 40, []byte("hi from u1: "), []byte(" (end)"))
	f.Fuzz(func(t *testing.T, run string, client, seq, due, delay int64, size int, prefix, suffix []byte) {
		if run == "" || len(run) > 16 || strings.Trim(run, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
			return
		}
		const limit = 1e18 // parseUint takes 18 digits
		if client < 0 || seq < 0 || due < 0 || client >= limit || seq >= limit || due >= limit || delay >= limit || size > 1<<16 {
			return
		}
		// Delimited on both sides, as in a JSON string or a sentence: text
		// glued to the front could extend a probe-like word before it (a
		// prefix ending in "cb1." makes "cb1.cb1.<run>..." parse as run "cb1").
		msg := append(bytes.Clone(prefix), ' ')
		msg = append(msg, loadgen.AppendProbe(nil, run, client, seq, due, delay, size)...)
		msg = append(append(msg, '"'), suffix...)
		wantDelay := max(delay, 0)
		rest := msg
		var p loadgen.Probe
		for range len(msg) + 1 {
			var found bool
			rest, found, _ = loadgen.NextProbe(rest, &p)
			if !found {
				break
			}
			if string(p.Run) == run && p.Client == client && p.Seq == seq && p.Due == due && p.SendDelay == wantDelay {
				return
			}
		}
		t.Fatalf("probe %s.%d.%d.%d.s%d not found in %q", run, client, seq, due, wantDelay, msg)
	})
}

// sampleResult is a small, valid result with histograms and errors.
func sampleResult(t testing.TB, clients int, seed int64) []byte {
	r := &loadgen.Result{Schema: loadgen.Schema, Kind: "swarm", StartedAt: time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC), Runs: 1}
	r.Config.Clients, r.Config.RunID, r.Config.URLs = clients, "run"+string(rune('a'+seed%26)), []string{"ws://127.0.0.1:1/ws"}
	r.Summary.Connected, r.Summary.Sent, r.Summary.Expected, r.Summary.Delivered, r.Summary.Lost = int64(clients), 10*seed, 10*seed*int64(clients), 10*seed*int64(clients)-seed, seed
	r.Summary.SteadyS = float64(seed)
	r.Errors.Connect = map[string]int64{"refused": seed}
	r.Errors.Disconnect = map[string]int64{"eof": 1}
	r.Errors.Run = []string{"x"}
	h := loadgen.NewHist()
	for v := int64(1); v < 100000; v = v*3 + seed {
		_ = h.RecordValue(v)
	}
	r.Histograms = loadgen.Histograms{LatencyDue: h, LatencySend: h, Connect: h, FanoutFirst: loadgen.NewHist(), FanoutLast: loadgen.NewHist()}
	r.Timeline = []loadgen.Second{{T: 0, Phase: "ramp", Connected: int64(clients)}, {T: int(seed), Phase: "steady", Sends: seed}}
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
	f.Add([]byte(`{"schema":"chatbench.results/v1"}`))
	f.Add([]byte(`{"schema":"chatbench.results/v1","histograms":{"latency_due":"HISTFAAAAB54nJNpmSzMwMDAxQABzFCaEUzOmPnUfdoHALcEC1E="}}`))
	f.Add([]byte(`{"schema":"chatbench.results/v0"}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := loadgen.DecodeResult("fuzz.json", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.json: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if _, err := loadgen.Merge(r); err != nil {
			t.Fatalf("a decoded result does not merge: %v", err)
		}
		var buf bytes.Buffer
		if err := r.WriteJSON(&buf); err != nil {
			t.Fatalf("a decoded result does not encode: %v", err)
		}
		if _, err := loadgen.DecodeResult("again.json", buf.Bytes()); err != nil {
			t.Fatalf("a result written back does not decode: %v\n%s", err, buf.Bytes())
		}
	})
}

// FuzzMergeCommutative: merging two decodable results never panics, and
// the totals do not depend on the order.
func FuzzMergeCommutative(f *testing.F) {
	f.Add(sampleResult(f, 20, 3), sampleResult(f, 7, 5))
	f.Add(sampleResult(f, 1, 1), []byte(`{"schema":"chatbench.results/v1","runs":2,"partial":true}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ra, err := loadgen.DecodeResult("a", a)
		if err != nil {
			return
		}
		rb, err := loadgen.DecodeResult("b", b)
		if err != nil {
			return
		}
		ab, err1 := loadgen.Merge(ra, rb)
		ba, err2 := loadgen.Merge(rb, ra)
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
			{x.Lost, y.Lost}, {x.Duplicated, y.Duplicated}, {x.OutOfOrder, y.OutOfOrder}, {x.ForeignDelivered, y.ForeignDelivered},
			{int64(ab.Config.Clients), int64(ba.Config.Clients)}, {int64(ab.Runs), int64(ba.Runs)},
			{ab.Histograms.LatencyDue.TotalCount(), ba.Histograms.LatencyDue.TotalCount()},
			{ab.Histograms.Connect.TotalCount(), ba.Histograms.Connect.TotalCount()},
			{int64(len(ab.Timeline)), int64(len(ba.Timeline))},
		} {
			if c[0] != c[1] {
				t.Fatalf("merge is not commutative on totals:\na,b %+v\nb,a %+v", x, y)
			}
		}
		if x.SteadyS != y.SteadyS || x.OrderTracked != y.OrderTracked || ab.Partial != ba.Partial {
			t.Fatalf("merge order changes steady_s, order_tracked or partial")
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
