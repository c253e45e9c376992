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
// members in every process, its deliveries those in any; only probes sent
// and due in the steady phase count.
func TestTallyAcrossProcesses(t *testing.T) {
	cfg := Config{URLs: []string{"ws://x/"}, Clients: 10, Rooms: 1, Senders: 2, Rate: 1, Warmup: time.Second, Duration: 2 * time.Second}
	if err := cfg.complete(); err != nil {
		t.Fatal(err)
	}
	s := newSchedule(&cfg, 0) // sender 0 due 0, 1, 2, 3 s; sender 1 at 0.5, 1.5, 2.5, 3.5 s; steady [1 s, 3 s)
	if s.perSender != 4 {
		t.Fatalf("perSender %d, want 4", s.perSender)
	}
	mk := func(members, delivered int32, sent []bool) *Account {
		a := &Account{PerSender: 4, Senders: []int32{0, 1}, Sent: sent}
		for k := 0; k < 8; k++ {
			a.Members = append(a.Members, members)
			a.Delivered = append(a.Delivered, delivered)
		}
		return a
	}
	// Worker 0 sends for sender 0 (all 4); worker 1 for sender 1, whose
	// third write failed (seq 0 and 1 sent, 3 after reconnecting).
	// Sender 1's seq 1 lost one more copy in worker 0.
	w0 := mk(6, 6, []bool{true, true, true, true, false, false, false, false})
	w0.Delivered[4+1] = 5
	w1 := mk(4, 3, []bool{false, false, false, false, true, true, false, true})
	got := tally(&s, []*Account{w0, w1})
	// Steady probes sent: sender 0 seq 1 and 2, sender 1 seq 1 (seq 3 is
	// past the steady phase); 10 receivers each.
	want := tallied{Sent: 3, Expected: 30, Delivered: 9 + 9 + 8, Lost: 1 + 1 + 2}
	if got != want {
		t.Errorf("tally %+v, want %+v", got, want)
	}
	// More deliveries than expected receivers is reported, never netted.
	w1.Delivered[1] = 9
	if got := tally(&s, []*Account{w0, w1}); got.Excess != 5 || got.Lost != 3 {
		t.Errorf("excess: %+v, want Excess 5 (15 of 10) and Lost 3", got)
	}
}

func TestPartIDs(t *testing.T) {
	cfg := Config{URLs: []string{"ws://x/"}, Clients: 12, Rooms: 4, Duration: time.Second, ShardIndex: 1, ShardCount: 2, procIndex: 1, procCount: 2}
	if err := cfg.complete(); err != nil {
		t.Fatal(err)
	}
	ids, owned := cfg.partIDs()
	// Shard 1/2: rooms 1 and 3, clients 1 3 5 7 9 11; worker 1 of 2: every second one.
	if !reflect.DeepEqual(ids, []int{3, 7, 11}) || !owned[3] || owned[1] {
		t.Errorf("ids %v owned %v", ids, owned)
	}
	cfg = Config{URLs: []string{"ws://x/"}, Clients: 5, Rooms: 1, Duration: time.Second}
	if err := cfg.complete(); err != nil {
		t.Fatal(err)
	}
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
