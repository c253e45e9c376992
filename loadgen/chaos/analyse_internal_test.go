package chaos

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen"
)

// A trace whose answer is known by construction: probes due every 100 ms
// from 0 to 1.9 s, each expecting 2 receivers; the fault at 1 s, recovered
// at 1.5 s. Probes due at 1.0 and 1.1 s lost one copy each, the one due at
// 1.2 s got a duplicate, the one due at 1.3 s arrived after 400 ms (slower
// than anything before: delayed), the rest in 10 ms (20 ms for the copy due
// at 0.5 s: the slowest before the fault).
func TestAnalyseKnownTrace(t *testing.T) {
	ms := time.Millisecond
	tr := &loadgen.Trace{}
	for i := 0; i < 20; i++ {
		due := time.Duration(i) * 100 * ms
		p := loadgen.TraceProbe{Sender: 0, Seq: int32(i), Due: due, Expected: 2, Delivered: 2}
		lat := 10 * ms
		switch i {
		case 10, 11:
			p.Delivered = 1
		case 13:
			lat = 400 * ms
		case 5:
			lat = 20 * ms
		case 17:
			lat = 300 * ms // slow after recovery: not the fault's
		}
		tr.Probes = append(tr.Probes, p)
		for k := int32(0); k < p.Delivered; k++ {
			tr.Copies = append(tr.Copies, loadgen.TraceCopy{Due: due, Latency: lat})
		}
		if i == 12 {
			tr.Copies = append(tr.Copies, loadgen.TraceCopy{Due: due, Latency: 15 * ms, Duplicate: true})
		}
	}
	tr.Reconnects = []time.Duration{30 * ms, 50 * ms}
	fr := analyse(tr, window{injected: 1000 * ms, cleared: 1000 * ms, recovered: 1500 * ms})
	if fr.Expected != 40 || fr.Delivered != 38 || fr.Lost != 2 || fr.Duplicated != 1 || fr.Delayed != 2 {
		t.Fatalf("expected/delivered/lost/dup/delayed = %d/%d/%d/%d/%d, want 40/38/2/1/2 (the 1.3 s probe's two copies are delayed)",
			fr.Expected, fr.Delivered, fr.Lost, fr.Duplicated, fr.Delayed)
	}
	if fr.GapS == nil || *fr.GapS < 0.299 || *fr.GapS > 0.301 {
		t.Fatalf("gap %v, want 0.3 s (first affected due 1.0 s, last 1.3 s)", fr.GapS)
	}
	// Before: due and received before 1 s: probes 0..9 less the 20 ms one's
	// effect on nothing: 20 copies, max 20 ms.
	if fr.Before.Count != 20 || fr.Before.Max < 19.9 || fr.Before.Max > 20.1 {
		t.Fatalf("before: %+v, want 20 copies, max 20 ms", fr.Before)
	}
	// During: due 1.0..1.4 s: 1+1+2+2+2 = 8 copies; after: due 1.5..1.9 s: 10.
	if fr.During.Count != 8 || fr.After.Count != 10 || fr.After.Max < 299 {
		t.Fatalf("during %d, after %d copies (max %v ms), want 8 and 10 (max 300 ms)", fr.During.Count, fr.After.Count, fr.After.Max)
	}
	if fr.Reconnects != 2 || fr.ReconnectMs.Max < 49.9 || fr.ReconnectMs.Max > 50.1 {
		t.Fatalf("reconnects %d (max %v ms), want 2, max 50 ms", fr.Reconnects, fr.ReconnectMs.Max)
	}
}

// Nothing affected: no gap (nil, not 0), nothing delayed.
func TestAnalyseQuietTrace(t *testing.T) {
	tr := &loadgen.Trace{}
	for i := 0; i < 10; i++ {
		due := time.Duration(i) * 100 * time.Millisecond
		tr.Probes = append(tr.Probes, loadgen.TraceProbe{Seq: int32(i), Due: due, Expected: 1, Delivered: 1})
		tr.Copies = append(tr.Copies, loadgen.TraceCopy{Due: due, Latency: 5 * time.Millisecond})
	}
	fr := analyse(tr, window{injected: 500 * time.Millisecond, cleared: 500 * time.Millisecond, recovered: 500 * time.Millisecond})
	if fr.GapS != nil || fr.Lost != 0 || fr.Delayed != 0 || fr.Duplicated != 0 {
		t.Fatalf("gap %v lost %d delayed %d dup %d, want none", fr.GapS, fr.Lost, fr.Delayed, fr.Duplicated)
	}
}

// The nodes get --amqp-guarantee and a stable --node-id.
func TestNodeArgsPassGuarantee(t *testing.T) {
	c := Config{Backend: RabbitMQ, Guarantee: true}
	args := c.nodeArgs(1, "amqp://guest:guest@127.0.0.1:1/")
	want := map[string]bool{"--amqp-guarantee": false, "chaos-node-1": false, "amqp://guest:guest@127.0.0.1:1/": false}
	for _, a := range args {
		if _, ok := want[a]; ok {
			want[a] = true
		}
	}
	for a, seen := range want {
		if !seen {
			t.Errorf("node args %q lack %s", args, a)
		}
	}
	c.Guarantee = false
	for _, a := range c.nodeArgs(0, "x") {
		if a == "--amqp-guarantee" {
			t.Errorf("at-most-once node args carry --amqp-guarantee: %q", c.nodeArgs(0, "x"))
		}
	}
}

// --amqp-guarantee is refused up front when the serve binary lacks it.
func TestServeHas(t *testing.T) {
	with := filepath.Join(t.TempDir(), "serve-with")
	if err := os.WriteFile(with, []byte("#!/bin/sh\necho '      --amqp-guarantee   keep the promise'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if !serveHas(with, "--amqp-guarantee") {
		t.Error("a serve whose help lists --amqp-guarantee was refused")
	}
	if serveHas("/bin/true", "--amqp-guarantee") {
		t.Error("a serve whose help is empty was taken to have --amqp-guarantee")
	}
	c := Config{Backend: RabbitMQ, Guarantee: true, Faults: []string{ConnDrop}, Nodes: 2, At: time.Second, Exe: "/bin/true"}
	c.Load.Duration = 5 * time.Second
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "has no such mode") {
		t.Errorf("guarantee with a serve without it: %v", err)
	}
}
