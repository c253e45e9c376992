package loadgen_test

import (
	"bytes"
	"strings"
	"testing"

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
	recv, _ := loadgen.NewBenchReceiver("run", 4, 8)
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
