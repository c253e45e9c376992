package loadgen

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// A worker's spec travels as JSON: every Config field must survive it (or
// be left out with json:"-" and set by the worker).
func TestWorkerSpecRoundTrip(t *testing.T) {
	cfg := Config{URLs: []string{"ws://127.0.0.1:1/ws?room={{room}}"}, Clients: 10, Rooms: 2, Senders: 4, Rate: 3,
		Size: 120, Ramp: 50, Warmup: time.Second, Duration: 2 * time.Second, Grace: time.Second, Hello: "{{user}}",
		Message: "x{{probe}}", NoEcho: true, Header: http.Header{"X-A": {"b"}},
		SourceIPs: []netip.Addr{netip.MustParseAddr("127.0.0.2")}, ShardIndex: 1, ShardCount: 2,
		Progress: func(Status) {}}
	b, err := json.Marshal(procMsg{Spec: &workerSpec{Config: cfg, RunID: "abc", Proc: 1, Procs: 2}})
	if err != nil {
		t.Fatalf("spec does not encode (a Config field of a type JSON cannot carry needs json:\"-\"): %v", err)
	}
	var m procMsg
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	got := m.Spec.Config
	cfg.Progress = nil
	if !reflect.DeepEqual(got, cfg) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, cfg)
	}
}

// Cross-process accounting: a probe's expected receivers are its room's
// members in every worker, its deliveries the copies received in any.
func TestApplyAccounts(t *testing.T) {
	cfg := Config{Clients: 10, Rooms: 1, Senders: 2, Rate: 1, Warmup: time.Second, Duration: 2 * time.Second}
	per := perSenderProbes(cfg) // 4: seq 0 warmup, 1-2 steady, 3 after
	mk := func(members, count int32, sent []bool) *procAccount {
		a := &procAccount{PerSender: per, Senders: []int32{0, 1}, Duplicated: 1}
		for k := 0; k < 2*per; k++ {
			a.Members = append(a.Members, members)
			a.Count = append(a.Count, count)
		}
		a.Sent = sent
		return a
	}
	// Worker 0 owns sender 0, worker 1 sender 1 (its seq 2 failed to send).
	w0 := mk(6, 6, []bool{true, true, true, false, false, false, false, false})
	w1 := mk(4, 3, []bool{false, false, false, false, true, true, false, false})
	m := &Result{Summary: Summary{OrderTracked: true}}
	applyAccounts(m, cfg, 0, []*procAccount{w0, w1})
	s := m.Summary
	// Steady probes sent: sender 0 seq 1, 2; sender 1 seq 1. 10 receivers each, 9 delivered.
	if s.Sent != 3 || s.Expected != 30 || s.Delivered != 27 || s.Lost != 3 || s.Duplicated != 2 {
		t.Errorf("sent %d expected %d delivered %d lost %d dup %d; want 3, 30, 27, 3, 2", s.Sent, s.Expected, s.Delivered, s.Lost, s.Duplicated)
	}
}

func TestPartIDs(t *testing.T) {
	cfg := Config{Clients: 12, Rooms: 4, ShardIndex: 1, ShardCount: 2, procIndex: 1, procCount: 2}
	ids, owned := cfg.partIDs()
	// Shard 1/2: rooms 1 and 3, clients 1 3 5 7 9 11; worker 1 of 2: every second one.
	if !reflect.DeepEqual(ids, []int{3, 7, 11}) || !owned[3] || owned[1] {
		t.Errorf("ids %v owned %v", ids, owned)
	}
	cfg = Config{Clients: 5, Rooms: 1}
	if ids, owned := cfg.partIDs(); len(ids) != 5 || owned != nil {
		t.Errorf("whole run: ids %v owned %v", ids, owned)
	}
}

func TestSplitSourceIPs(t *testing.T) {
	a := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	cfg := Config{URLs: []string{"ws://127.0.0.1:80/ws"}, SourceIPs: []netip.Addr{a("127.0.0.5"), a("127.0.0.6"), a("127.0.0.7")}}
	if got := splitSourceIPs(cfg, 2, 10); len(got[0]) != 2 || len(got[1]) != 1 || got[1][0] != a("127.0.0.6") {
		t.Errorf("split of 3 over 2: %v", got)
	}
	cfg.SourceIPs = nil
	if got := splitSourceIPs(cfg, 3, 100); got[0] != nil {
		t.Errorf("small run got source addresses %v", got)
	}
	// More clients than one address has ephemeral ports (whatever this
	// host's range): each worker gets an address of its own.
	many := ephemeralPorts() + 1
	if got := splitSourceIPs(cfg, 3, many); len(got[2]) != 1 || got[2][0] != a("127.0.0.4") {
		t.Errorf("%d over 3 on loopback: %v, want 127.0.0.2-4", many, got)
	}
	cfg.URLs = []string{"ws://example.com/ws"}
	if got := splitSourceIPs(cfg, 3, many); got[0] != nil {
		t.Errorf("not loopback: %v", got)
	}
}
