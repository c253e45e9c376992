package estimate

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen/results"
)

// spec describes a swarm run whose every number the test chooses, so each
// verdict on it can be worked out by hand.
type spec struct {
	backend  string
	urls     []string
	clients  int
	rooms    int // 1: one room of everyone
	roomSize int
	senders  int
	rate     float64
	size     int
	sent     int64
	recvPer  int64 // deliveries per message
	steadyS  float64
	verdict  string // results.Complete unless set
	memKB    float64
	memWhy   string
	cpuUs    float64 // per delivery
	cpuS     float64 // server CPU seconds over the steady phase (ticks = cpuS / 10 ms)
	cores    int
}

func (s spec) result() *results.Result {
	r := results.NewResult()
	if s.rooms == 0 {
		s.rooms = 1
	}
	if s.roomSize == 0 {
		s.roomSize = s.clients
	}
	if s.senders == 0 {
		s.senders = s.clients
	}
	if s.urls == nil {
		s.urls = []string{"ws://127.0.0.1:8080/ws?room={{room}}&user={{user}}"}
	}
	r.Config = results.RunConfig{URLs: s.urls, Backend: s.backend, Clients: s.clients, RoomSize: s.roomSize, Rooms: s.rooms,
		Senders: s.senders, RatePerS: s.rate, SizeBytes: s.size,
		RequestedPerS: float64(s.senders) * s.rate * float64(s.roomSize)}
	r.Environment.Cores = s.cores
	delivered := s.sent * s.recvPer
	r.Summary = results.Summary{Connected: int64(s.clients), Sent: s.sent, Expected: delivered, Delivered: delivered,
		SteadyS: s.steadyS, DeliveriesPerS: float64(delivered) / s.steadyS}
	r.Outcome.Verdict = results.Complete
	if s.verdict != "" {
		r.Outcome.Verdict, r.Outcome.Reasons = s.verdict, []string{"made " + s.verdict + " by the test"}
	}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	r.Server = results.Cost{Conns: int64(s.clients), Received: delivered,
		Processes: []results.Process{{Name: "pid 1", Source: "proc", ClockResS: 0.01,
			SendStart: &results.Sample{At: t0, CPUSec: 1}, End: &results.Sample{At: t0.Add(time.Minute), CPUSec: 1 + s.cpuS}}}}
	r.Server.MemoryPerConn = results.NotMeasured("not in this test")
	if s.memWhy != "" {
		r.Server.MemoryPerConn = results.NotMeasured(s.memWhy)
	} else if s.memKB > 0 {
		r.Server.MemoryPerConn = results.Measured(s.memKB * 1000)
	}
	r.Server.CPUPerMessage = results.NotMeasured("only a few CPU clock ticks")
	if s.cpuUs > 0 {
		r.Server.CPUPerMessage = results.Measured(s.cpuUs)
	}
	return r
}

// step is one sweep step of spec s; ok says whether it met its SLO.
func (s spec) step(ok bool) results.Step {
	st := results.Step{Backend: s.backend, Clients: int64(s.clients), RatePerS: s.rate, OK: ok, Result: s.result()}
	if !ok {
		st.Why = "p99 150ms ≥ 100ms"
	}
	return st
}

func sweepOf(cores int, steps []results.Step, searches ...results.Search) *results.Sweep {
	sw := results.NewSweep()
	sw.Environment.Cores = cores
	sw.Steps, sw.Searches = steps, searches
	return sw
}

// evidence reads files (a *results.Result, *results.Sweep or
// *results.Chaos each) the way estimate --from does: written as JSON and
// decoded, named f1.json, f2.json, ...
func evidence(t *testing.T, files ...any) *Evidence {
	t.Helper()
	ev := &Evidence{}
	for i, f := range files {
		var b bytes.Buffer
		var err error
		switch v := f.(type) {
		case *results.Result:
			err = v.WriteJSON(&b)
		case *results.Sweep:
			err = v.WriteJSON(&b)
		case *results.Chaos:
			err = v.WriteJSON(&b)
		case []byte:
			b.Write(v)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := ev.Add(fileName(i), &b); err != nil {
			t.Fatalf("file %d: %v", i+1, err)
		}
	}
	return ev
}

func fileName(i int) string { return "f" + string(rune('1'+i)) + ".json" }

// claimFor finds claim id for server in cs.
func claimFor(t *testing.T, cs []ClaimCheck, id, server string) ClaimCheck {
	t.Helper()
	for _, c := range cs {
		if c.ID == id && c.Server == server {
			return c
		}
	}
	t.Fatalf("no claim %s for %q", id, server)
	return ClaimCheck{}
}

func mustJSON(t *testing.T, v interface{ WriteJSON(w io.Writer) error }) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := v.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// buildFrom is estimate --from with every other flag at its default.
func buildFrom(t *testing.T, ev *Evidence) *Report {
	t.Helper()
	rep, err := Build(Config{RAMBytes: 8e9, Cores: 4, Users: 1000, RatePerS: 10, SizeBytes: 100, Evidence: ev})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
