package estimate

import (
	"strings"
	"testing"

	"github.com/chatbench/chatbench/loadgen/results"
)

const mem = "chatbench serve memory"

// The one scaling rule: the claim's delivery capacity, scaled by cores,
// turned back into users in the target shape.
func TestScaleClaim(t *testing.T) {
	oneRoom := func(rate float64) Shape { return Shape{Talkers: 1, RatePerS: rate} }
	cases := []struct {
		name         string
		users, fromC float64
		from, to     Shape
		toC, want    float64
	}{
		{"same machine and load", 1000, 4, BlogShape, BlogShape, 4, 1000},
		{"a quarter of the cores: ÷√4", 1000, 4, BlogShape, BlogShape, 1, 500},
		{"1/100 of the rate: ×√100", 1000, 4, BlogShape, oneRoom(0.1), 4, 10000},
		{"2 cores at 1/s: ×√(2/4 × 10)", 1000, 4, BlogShape, oneRoom(1), 2, 2236},
		{"unknown cores are not scaled", 1000, 4, BlogShape, BlogShape, 0, 1000},
		{"an unknown rate is not scaled", 1000, 4, BlogShape, Shape{Talkers: 1}, 2, 1000},
		// Rooms of 50, 10% talk at 1/s: 5 deliveries/s per user, linear in cores.
		{"many rooms, half the cores", 10000, 4, ManyRoomsShape, ManyRoomsShape, 2, 5000},
		// 1,000 in one room at 10/s ask 10⁷ deliveries/s; rooms of 50 at 1/s by everyone: 50 per user.
		{"one room to many rooms", 1000, 4, BlogShape, Shape{RoomSize: 50, Talkers: 1, RatePerS: 1}, 4, 200000},
		// 20 × 10/s × 20 = 4,000/s on 4 cores is 40/s on 0.04: too little
		// to fill one room of 50, so one room: √(40 / 1/s) = 6.3.
		{"many rooms smaller than a room", 20, 4, BlogShape, Shape{RoomSize: 50, Talkers: 1, RatePerS: 1}, 0.04, 6},
	}
	for _, c := range cases {
		if got := ScaleClaim(c.users, c.from, c.fromC, c.to, c.toC); got != c.want {
			t.Errorf("%s: ScaleClaim = %v, want %v", c.name, got, c.want)
		}
	}
}

// A knee exactly at the claim scaled to the machine holds; a knee whose
// spread straddles the claim is undecided; a knee no step failed above is
// a lower bound.
func TestKneeVerdicts(t *testing.T) {
	sw := func(knee, low, high, above int64) []byte {
		sent := int64(22360)
		if knee == 200 {
			sent = 20
		}
		se := results.Search{Backend: "memory", RatePerS: 1, Knee: knee, Above: above, Runs: 5}
		if low > 0 {
			// The fields a sweep with --repeat writes.
			se.KneeLow, se.KneeHigh, se.Repeat, se.Mode = low, high, 3, "users"
		}
		s := sweepOf(2, []results.Step{spec{backend: "memory", clients: int(knee), rate: 1, size: 100, sent: sent, recvPer: knee, steadyS: 10, cpuS: 10}.step(true)}, se)
		return mustJSON(t, s)
	}
	// 2 cores at 1/s: the claim's 1,000–2,000 become 2,236–4,472.
	cases := []struct {
		name                   string
		knee, low, high, above int64
		kind, verdict          string
	}{
		{"at the scaled claim", 2236, 0, 0, 2400, VerdictHolds, "holds (inside the claimed range)"},
		{"half the scaled claim", 1118, 0, 0, 1200, VerdictHolds, "holds (within 2×)"},
		{"a third of it", 745, 0, 0, 800, VerdictOff, "off by 3× (measured lower)"},
		{"spread straddles the verdict line", 1500, 1000, 2300, 2400, VerdictUndecided,
			"undecided (the knee's spread 1,000–2,300 straddles the claim's 2,236–4,472 here)"},
		{"spread on one side", 2300, 2236, 2400, 2500, VerdictHolds, "holds (inside the claimed range)"},
		{"no step failed", 2236, 0, 0, 0, VerdictUndecided, "undecided (every step passed up to 2,236: the knee is higher; raise --max)"},
		{"no step failed, already far above", 10000, 0, 0, 0, VerdictOff, "off by 2.2× (measured higher) (at least: no step failed)"},
		// 200 users × 200 deliveries: fewer than 10,000 behind the knee's p99.
		{"too few deliveries at the knee", 200, 0, 0, 300, VerdictTooLittle, "too little data (have 4,000 deliveries at the knee, need 10,000)"},
	}
	for _, c := range cases {
		ev := evidence(t, sw(c.knee, c.low, c.high, c.above))
		got := claimFor(t, CheckClaims(ev, ClaimContext{}), "5", mem)
		if got.VerdictKind != c.kind || got.Verdict != c.verdict {
			t.Errorf("%s: %s %q, want %s %q", c.name, got.VerdictKind, got.Verdict, c.kind, c.verdict)
		}
		if got.Figures[0].Source != FigureMeasured || got.Figures[1].Source != FigureModel || got.Figures[1].Text != "2,236–4,472 users" {
			t.Errorf("%s: figures %+v", c.name, got.Figures)
		}
	}
}

// Below the minimum samples a claim says how much it had and needs.
func TestTooLittleData(t *testing.T) {
	small := spec{backend: "memory", clients: 50, rate: 1, size: 100, sent: 4000, recvPer: 2, steadyS: 80, memWhy: "only 50 connections were opened; 100 are needed", cpuS: 0.4}
	cs := CheckClaims(evidence(t, small.result()), ClaimContext{UserLen: 8, RoomLen: 4})
	for id, want := range map[string]string{
		"1": "too little data (have 50 connections, need 100)",
		"2": "too little data (have 50 connections, need 100)",
		"3": "too little data (have 8,000 deliveries, need 10,000)",
		"4": "too little data (have 8,000 deliveries, need 10,000)",
		// 0.4 s of CPU is 40 ticks of 10 ms.
		"5": "too little data (have 40 CPU clock ticks, need 100)",
	} {
		if c := claimFor(t, cs, id, mem); c.VerdictKind != VerdictTooLittle || c.Verdict != want || c.Value != nil {
			t.Errorf("claim %s: %s %q, want %q", id, c.VerdictKind, c.Verdict, want)
		}
	}
}

// memoryUsed ends the reason of a skipped run kept for its memory.
const memoryUsed = "; " + MemoryKept

// Runs that were not complete or failed their SLO are listed and never
// feed a verdict: claim 1 takes the complete run's 20 KB, not the
// overloaded run's 5 KB or the failed step's 1 KB. Their memory per
// connection, sampled before any message, is used only when no run that
// is evidence measured it; their CPU never.
func TestFailedRunsNotUsed(t *testing.T) {
	good := spec{backend: "memory", clients: 200, rate: 1, size: 100, sent: 2000, recvPer: 200, steadyS: 10, memKB: 20, cpuUs: 2, cpuS: 0.8}
	over := good
	over.clients, over.memKB, over.verdict = 4000, 5, results.Overloaded
	stepBad := good
	stepBad.clients, stepBad.memKB = 3000, 1
	ev := evidence(t, good.result(), over.result(), sweepOf(2, []results.Step{stepBad.step(false)}))
	c := claimFor(t, CheckClaims(ev, ClaimContext{}), "1", mem)
	if c.Value == nil || *c.Value != 20 || c.Verdict != "holds (within 2×)" || !strings.HasPrefix(c.Basis, "f1.json:") {
		t.Errorf("claim 1 %+v", c)
	}
	// A server all of whose runs were skipped: memory from the
	// overloaded run (5 KB: 8 GB / 5 KB = 1.6 M against the blog's 800 k),
	// CPU not measured.
	only := evidence(t, over.result())
	cs := CheckClaims(only, ClaimContext{})
	if c := claimFor(t, cs, "1", mem); c.Value == nil || *c.Value != 5 || !strings.HasPrefix(c.Basis, "f1.json: server RSS / 4,000 connections") {
		t.Errorf("claim 1 from an overloaded run only: %q %q", c.Verdict, c.Basis)
	}
	if c := claimFor(t, cs, "5", mem); c.VerdictKind != VerdictNotMeasured ||
		!strings.HasPrefix(c.Verdict, "not measured (every run of this server was not used: see below; needs: ") {
		t.Errorf("claim 5 from an overloaded run only: %q", c.Verdict)
	}
	if len(ev.Skipped) != 2 || ev.Skipped[0].Source != "f2.json" || ev.Skipped[0].Why != "overloaded: made overloaded by the test"+memoryUsed ||
		ev.Skipped[1].Source != "f3.json step 1" || ev.Skipped[1].Why != "failed its SLO: p99 150ms ≥ 100ms"+memoryUsed {
		t.Errorf("skipped %+v", ev.Skipped)
	}
	// Skipped runs never kept for memory: one some of whose connects
	// failed (memory with fewer connections than asked, while the server
	// refused), an invalid or a partial run, a merge of runs (the shared
	// server's memory sampled after the last ramp, maybe while others
	// sent), and a run whose memory was not measured.
	refused := over.result()
	refused.Summary.ConnectErrors = 100
	invalid, partial, noMem := over, over, over
	invalid.verdict, partial.verdict, noMem.memKB = results.Invalid, results.Partial, 0
	merged := over.result()
	merged.Runs = 2
	for name, r := range map[string]*results.Result{"connect errors": refused, "invalid": invalid.result(),
		"partial": partial.result(), "merged": merged, "memory not measured": noMem.result()} {
		if ev := evidence(t, r); len(ev.MemoryRuns) != 0 || len(ev.Skipped) != 1 || strings.HasSuffix(ev.Skipped[0].Why, memoryUsed) {
			t.Errorf("%s: memory runs %d, skipped %+v", name, len(ev.MemoryRuns), ev.Skipped)
		}
	}
	var b strings.Builder
	rep := buildFrom(t, ev)
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "not used as evidence: f2.json (chatbench serve memory): overloaded: made overloaded by the test") {
		t.Errorf("table does not say what was skipped:\n%s", b.String())
	}
}

// Two servers: one column each, each claim judged for each.
func TestTwoServersTwoColumns(t *testing.T) {
	a := spec{backend: "memory", clients: 200, rate: 1, size: 100, sent: 2000, recvPer: 200, steadyS: 10, memKB: 20, cpuUs: 2, cpuS: 0.8}
	b := a
	b.backend, b.urls, b.memKB = "", []string{"ws://127.0.0.1:8000/ws?room={{room}}"}, 80
	ev := evidence(t, a.result(), b.result())
	const blog = "server at ws://127.0.0.1:8000/ws"
	if got := ev.Servers(); len(got) != 2 || got[0] != mem || got[1] != blog {
		t.Fatalf("servers %q", got)
	}
	cs := CheckClaims(ev, ClaimContext{})
	if len(cs) != 22 {
		t.Errorf("%d checks, want 11 claims × 2 servers", len(cs))
	}
	if c := claimFor(t, cs, "1", blog); c.Value == nil || *c.Value != 80 || c.Verdict != "off by 8× (measured higher)" {
		t.Errorf("claim 1 for the server at a URL %+v", c)
	}
	if c := claimFor(t, cs, "8", blog); c.VerdictKind != VerdictNotApplicable {
		t.Errorf("claim 8 (RabbitMQ) for a single server: %+v", c)
	}
	var out strings.Builder
	if err := buildFrom(t, ev).WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	header := ""
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "#  ") {
			header = l
		}
	}
	if !strings.Contains(header, mem) || !strings.Contains(header, blog) {
		t.Errorf("claims header %q lacks a column per server:\n%s", header, out.String())
	}
}

// An external server's knee counts for claim 5.
func TestExternalKneeClaim5(t *testing.T) {
	st := spec{backend: "external", urls: []string{"ws://127.0.0.1:8000/ws"}, clients: 200, rate: 1, size: 100, sent: 2000, recvPer: 200, steadyS: 10, cpuS: 0.8}
	ev := evidence(t, sweepOf(2, []results.Step{st.step(true)}, results.Search{Backend: "external", RatePerS: 1, Knee: 200, Above: 300, Runs: 3}))
	c := claimFor(t, CheckClaims(ev, ClaimContext{}), "5", "server at ws://127.0.0.1:8000/ws")
	// 200 against 2,236–4,472: 11× lower.
	if c.Value == nil || *c.Value != 200 || c.Verdict != "off by 11× (measured lower)" {
		t.Errorf("claim 5 for the external server %+v", c)
	}
}

// A sweep of a running server whose first step was above the knee: only
// that first run measured memory (later runs' RSS growth misses memory the
// process kept), and it failed its SLO. Its memory, sampled with every
// connection open and before any message, answers claim 1; the steps that
// passed answer claim 5 and CPU.
func TestExternalSweepMemoryFromFailedFirstStep(t *testing.T) {
	const url = "ws://127.0.0.1:8000/ws"
	first := spec{backend: "external", urls: []string{url}, clients: 400, rate: 1, size: 100, sent: 4000, recvPer: 400, steadyS: 10, memKB: 25, cpuS: 2}
	kept := "the server already held 400 connections in an earlier run of this sweep and may keep their memory"
	down, up := first, first
	down.clients, down.sent, down.recvPer, down.memKB, down.memWhy, down.cpuUs = 200, 2000, 200, 0, kept, 10
	up.clients, up.sent, up.recvPer, up.memKB, up.memWhy, up.cpuUs = 300, 3000, 300, 0, kept, 10
	sw := sweepOf(2, []results.Step{first.step(false), down.step(true), up.step(true)},
		results.Search{Backend: "external", RatePerS: 1, Knee: 300, Above: 400, Runs: 3})
	ev := evidence(t, sw)
	cs := CheckClaims(ev, ClaimContext{})
	srv := "server at " + url
	// 8 GB / 25 KB = 320,000 against the blog's 800,000: 2.5× lower.
	if c := claimFor(t, cs, "1", srv); c.Value == nil || *c.Value != 25 || !strings.HasPrefix(c.Basis, "f1.json step 1: server RSS / 400 connections") {
		t.Errorf("claim 1: %v %q %q", c.Value, c.Verdict, c.Basis)
	}
	if c := claimFor(t, cs, "5", srv); c.Value == nil || *c.Value != 300 {
		t.Errorf("claim 5 from the knee: %+v", c)
	}
	if len(ev.Runs) != 2 || len(ev.MemoryRuns) != 1 || ev.MemoryRuns[0].Source != "f1.json step 1" {
		t.Errorf("runs %d, memory runs %+v", len(ev.Runs), ev.MemoryRuns)
	}
	// Without that first step nothing measured memory: not measured, with
	// the later steps' reason.
	sw.Steps = sw.Steps[1:]
	if c := claimFor(t, CheckClaims(evidence(t, sw), ClaimContext{}), "1", srv); c.Value != nil || !strings.Contains(c.Basis, "already held 400 connections") {
		t.Errorf("claim 1 without the first step: %v %q %q", c.Value, c.Verdict, c.Basis)
	}
}

// Claims 3 and 4: the run's measured in and out beside the blog's
// arithmetic for the same run, and the fan-out model apart.
func TestFanoutClaims(t *testing.T) {
	// 1,000 users in 500 rooms of 2, all at 1/s for 10 s: 1,000 in, 2,000 out.
	pairs := spec{backend: "memory", clients: 1000, rooms: 500, roomSize: 2, rate: 1, size: 100, sent: 10000, recvPer: 2, steadyS: 10, cpuS: 1}
	cs := CheckClaims(evidence(t, pairs.result()), ClaimContext{UserLen: 8, RoomLen: 4})
	c3 := claimFor(t, cs, "3", mem)
	want := []ClaimFigure{
		{"out", "2,000 deliveries/s", 2000, FigureMeasured},
		{"in", "1,000 messages/s", 1000, FigureMeasured},
		{"the blog's arithmetic for this run", "1,000 messages/s", 1000, FigureBlog},
		{"fan-out at the blog's 1,000 users × 10/s", "10,000,000 deliveries/s", 1e7, FigureModel},
	}
	if len(c3.Figures) != len(want) {
		t.Fatalf("claim 3 figures %+v", c3.Figures)
	}
	for i, f := range want {
		if c3.Figures[i] != f {
			t.Errorf("claim 3 figure %d: %+v, want %+v", i, c3.Figures[i], f)
		}
	}
	if c3.Verdict != "holds (within 2×)" || c3.ValueSource != FigureMeasured {
		t.Errorf("claim 3: %+v", c3)
	}
	c4 := claimFor(t, cs, "4", mem)
	// 2,000 × 100 B measured against 1,000 × 100 B; frames of 150 B modelled.
	if c4.Figures[0].Value != 200000 || c4.Figures[1].Value != 100000 || c4.Figures[2].Value != 100000 || c4.Figures[2].Source != FigureBlog ||
		c4.Figures[3].Value != 300000 || c4.Figures[3].Source != FigureModel ||
		c4.Verdict != "holds (within 2×)" {
		t.Errorf("claim 4: %+v", c4)
	}
	// A weighted size list: the bytes are the deliveries × the mean size
	// the run recorded, not its first size.
	mixed := spec{backend: "memory", clients: 200, rate: 1, size: 100, sent: 20000, recvPer: 1, steadyS: 10, cpuS: 1}.result()
	mixed.Config.Sizes, mixed.Config.MeanSizeBytes = "100B:80%,600B:20%", 200
	if c := claimFor(t, CheckClaims(evidence(t, mixed), ClaimContext{}), "4", mem); c.Figures[0].Value != 2000*200 {
		t.Errorf("claim 4 with a mean size of 200 B: %+v", c.Figures)
	}
	// One room of 100 at 1/s: 100 deliveries a message, 100× the blog's arithmetic.
	room := spec{backend: "memory", clients: 100, rate: 1, size: 100, sent: 1000, recvPer: 100, steadyS: 10, cpuS: 1}
	c3 = claimFor(t, CheckClaims(evidence(t, room.result()), ClaimContext{}), "3", mem)
	if c3.Verdict != "off by 100× (measured higher)" {
		t.Errorf("claim 3 in one room of 100: %q", c3.Verdict)
	}
}

// Claim 6 only from steps of mode room-rate; CPU per delivery constant
// means CPU per message ∝ N.
func TestClaim6RoomRate(t *testing.T) {
	steps := func() []results.Step {
		var out []results.Step
		for _, n := range []int{100, 200, 400} {
			out = append(out, spec{backend: "memory", clients: n, rate: 20 / float64(n), size: 100, sent: 2000, recvPer: int64(n), steadyS: 100, cpuUs: 2, cpuS: 2}.step(true))
		}
		return out
	}
	plain := mustJSON(t, sweepOf(2, steps(), results.Search{Backend: "memory", RatePerS: 0.05, Knee: 400, Runs: 3}))
	c := claimFor(t, CheckClaims(evidence(t, plain), ClaimContext{}), "6", mem)
	if c.VerdictKind != VerdictNotMeasured || !strings.Contains(c.Verdict, "chatbench sweep --mode room-rate") {
		t.Errorf("claim 6 without room-rate steps: %+v", c)
	}
	roomRate := mustJSON(t, sweepOf(2, steps(), results.Search{Backend: "memory", RatePerS: 0.05, Knee: 400, Runs: 3, Mode: RoomRateMode}))
	ev := evidence(t, roomRate)
	cs := CheckClaims(ev, ClaimContext{})
	c = claimFor(t, cs, "6", mem)
	if c.Value == nil || !near(*c.Value, 1) || c.Verdict != "holds (exponent 1.00, claimed 1 ± 0.25)" {
		t.Errorf("claim 6 room-rate: %+v", c)
	}
	// A room-rate knee is not a users-per-server knee: claim 5 falls back
	// to the model at the measured 2 µs (√(4e6 / 2 / 10) = 447).
	if c5 := claimFor(t, cs, "5", mem); c5.Value == nil || *c5.Value != 447 || c5.ValueSource != FigureModel {
		t.Errorf("claim 5 from a room-rate sweep: %+v", c5)
	}
	// Steps of one size with CPU measured, the others below 100 ticks.
	st := steps()
	for i := 1; i < len(st); i++ {
		st[i].Result.Server.CPUPerMessage = results.NotMeasured("only 50 CPU clock ticks")
		st[i].Result.Server.Processes[0].End.CPUSec = st[i].Result.Server.Processes[0].SendStart.CPUSec + 0.5
	}
	few := mustJSON(t, sweepOf(2, st, results.Search{Backend: "memory", RatePerS: 0.05, Knee: 400, Runs: 3, Mode: RoomRateMode}))
	c = claimFor(t, CheckClaims(evidence(t, few), ClaimContext{}), "6", mem)
	if c.VerdictKind != VerdictTooLittle || c.Verdict != "too little data (have 1 room sizes with CPU measured, need 2); a step needs 100 CPU clock ticks, one had 50" {
		t.Errorf("claim 6 with too few ticks: %q", c.Verdict)
	}
}

// Claims 7a and 8 in the stated many-rooms shape at the measured cost:
// 4 cores × 10⁶ / 2 µs = 2,000,000 deliveries/s; 5 per user → 400,000 users.
func TestClaims7a8ManyRooms(t *testing.T) {
	r := spec{backend: "redis", urls: []string{"ws://a/ws", "ws://b/ws"}, clients: 1000, rate: 1, size: 100, sent: 10000, recvPer: 1000, steadyS: 10, cpuUs: 2, cpuS: 20}
	const redis = "chatbench serve redis (2 nodes)"
	ev := evidence(t, r.result())
	c := claimFor(t, CheckClaims(ev, ClaimContext{}), "7a", redis)
	if c.Value == nil || *c.Value != 400000 || c.ValueSource != FigureModel || c.Verdict != "off by 20× (measured higher)" ||
		c.ShapeText != "rooms of 50, 10% talk at 1/s" {
		t.Errorf("claim 7a: %+v", c)
	}
	var out strings.Builder
	if err := buildFrom(t, ev).WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "the claim's load: rooms of 50, 10% talk at 1/s") {
		t.Errorf("the shape is not printed beside 7a:\n%s", out.String())
	}
	// 40 KB per connection measured: 8 GB hold 200,000, fewer than the CPU serves.
	r.memKB = 40
	c = claimFor(t, CheckClaims(evidence(t, r.result()), ClaimContext{}), "7a", redis)
	if c.Value == nil || *c.Value != 200000 || !strings.Contains(c.Basis, "limit: memory: 8 GB / 40 KB measured in f1.json") {
		t.Errorf("claim 7a limited by memory: %+v", c)
	}
}

// Reliability claims from chaos results: the backend, mode and fault with
// lost, duplicated and expected beside the verdict.
func TestReliabilityClaims(t *testing.T) {
	chaos := func(backend, mode string, lost, dup, expected int64) *results.Chaos {
		c := results.NewChaos()
		c.Config = results.ChaosConfig{Backend: backend, Mode: mode, Nodes: 2, Faults: []string{"broker-restart"}}
		c.Faults = []results.FaultRun{{Fault: "broker-restart", Expected: expected, Delivered: expected - lost, Lost: lost, Duplicated: dup},
			{Fault: "node-kill", Expected: expected, Lost: 999}}
		return c
	}
	ev := evidence(t, chaos("rabbitmq", results.AtMostOnce, 312, 0, 20000), chaos("rabbitmq", results.Guarantee, 0, 0, 20000),
		chaos("redis", results.AtMostOnce, 500, 0, 20000), chaos("redis", results.AtMostOnce, 0, 0, 5000))
	cs := CheckClaims(ev, ClaimContext{})
	const rmq, rmqG, red = "chatbench serve rabbitmq (2 nodes)", "chatbench serve rabbitmq (2 nodes) --amqp-guarantee", "chatbench serve redis (2 nodes)"
	cases := []struct{ id, server, kind, verdict string }{
		{"9", rmq, VerdictRefuted, "refuted (lost 312 of 20,000, 0 duplicated; at-most-once)"},
		{"9", rmqG, VerdictHolds, "holds (lost 0 of 20,000, 0 duplicated; guarantee)"},
		// Both redis files are one server: 500 lost of 25,000.
		{"10", red, VerdictHolds, "holds (lost 500 of 25,000, 0 duplicated; at-most-once)"},
		{"10", rmq, VerdictNotApplicable, "n/a (about redis; needs: chatbench chaos --backend redis --fault broker-restart --out FILE)"},
	}
	for _, c := range cases {
		got := claimFor(t, cs, c.id, c.server)
		if got.VerdictKind != c.kind || got.Verdict != c.verdict {
			t.Errorf("claim %s for %s: %s %q, want %s %q", c.id, c.server, got.VerdictKind, got.Verdict, c.kind, c.verdict)
		}
	}
	if f := claimFor(t, cs, "9", rmq).Figures; len(f) != 1 || f[0].Text != "broker-restart: lost 312, duplicated 0 of 20,000 expected" || f[0].Label != "broker-restart (at-most-once)" {
		t.Errorf("claim 9 figures (node-kill is not a broker fault): %+v", f)
	}
	// A fault whose run ended early is not used; the experiment's other is.
	cut := chaos("redis", results.AtMostOnce, 500, 0, 20000)
	cut.Faults[0].Run = results.NewResult()
	cut.Faults[0].Run.Outcome = results.Outcome{Verdict: results.Partial, Reasons: []string{"the run ended early: interrupted"}}
	cut.Faults = append(cut.Faults, results.FaultRun{Fault: "conn-drop", Expected: 30000, Lost: 0})
	ev = evidence(t, cut)
	if c := claimFor(t, CheckClaims(ev, ClaimContext{}), "10", red); c.Verdict != "refuted (nothing lost: lost 0 of 30,000, 0 duplicated; at-most-once)" ||
		len(ev.Skipped) != 1 || ev.Skipped[0].Source != "f1.json fault 1 (broker-restart)" || ev.Skipped[0].Why != "partial: the run ended early: interrupted" {
		t.Errorf("chaos with a partial fault run: %q, skipped %+v", c.Verdict, ev.Skipped)
	}
	small := evidence(t, chaos("redis", results.AtMostOnce, 10, 0, 5000))
	if c := claimFor(t, CheckClaims(small, ClaimContext{}), "10", red); c.Verdict != "too little data (have 5,000 expected deliveries across broker faults, need 10,000)" {
		t.Errorf("small chaos run: %q", c.Verdict)
	}
	if c := claimFor(t, CheckClaims(nil, ClaimContext{}), "9", ""); c.Verdict != "not measured (needs: chatbench chaos --backend rabbitmq --fault broker-restart --out FILE)" {
		t.Errorf("claim 9 without chaos results: %q", c.Verdict)
	}
}

// The question comes from the file, field by field; a flag given wins and
// says what it overrides, and the talkers keep their share.
func TestScenarioFromFile(t *testing.T) {
	// 1,000 users in 20 rooms of 50, 100 talking at 2/s with 300 B, 2 nodes of redis.
	r := spec{backend: "redis", urls: []string{"ws://a/ws", "ws://b/ws"}, clients: 1000, rooms: 20, roomSize: 50, senders: 100, rate: 2, size: 300,
		sent: 20000, recvPer: 50, steadyS: 100, cpuS: 5}
	ev := evidence(t, r.result())
	want := Scenario{Source: "f1.json", Server: "chatbench serve redis (2 nodes)", Users: 1000, RoomSize: 50, Rooms: 20, Senders: 100,
		RatePerS: 2, SizeBytes: 300, Nodes: 2}
	if ev.Scenario == nil || *ev.Scenario != want {
		t.Fatalf("scenario %+v, want %+v", ev.Scenario, want)
	}
	rep := buildFrom(t, ev)
	if in := rep.Inputs; in.Users != 1000 || in.RoomSize != 50 || in.Senders != 100 || in.RatePerS != 2 || in.SizeBytes != 300 {
		t.Errorf("inputs %+v", in)
	}
	for _, f := range rep.Scenario {
		if f.Source != SourceMeasured || f.From != "f1.json" {
			t.Errorf("scenario field %+v, want measured in f1.json", f)
		}
	}
	// --users 500 given: it wins, and 10% of 500 talk.
	rep, err := Build(Config{RAMBytes: 8e9, Cores: 4, Users: 500, RatePerS: 10, SizeBytes: 100, Evidence: ev, Given: map[string]bool{"users": true}})
	if err != nil {
		t.Fatal(err)
	}
	if in := rep.Inputs; in.Users != 500 || in.Senders != 50 || in.RoomSize != 50 || in.RatePerS != 2 {
		t.Errorf("inputs with --users 500: %+v", in)
	}
	if f := scenarioOf(rep.Scenario, "users"); f.Source != SourceGiven || f.Text != "500" || f.Overrides != "1,000 measured in f1.json" {
		t.Errorf("users field %+v", f)
	}
	// Nothing read: the blog's example, from the flags.
	rep, err = Build(Config{RAMBytes: 8e9, Cores: 4, Users: 1000, RatePerS: 10, SizeBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	if f := scenarioOf(rep.Scenario, "users"); f.Source != SourceBlog || f.Text != "1,000" {
		t.Errorf("users without --from: %+v", f)
	}
}

// The model's measured costs come from the server the question is about:
// the first file's, not a cheaper server read after it.
func TestCostsFromScenarioServer(t *testing.T) {
	blog := spec{backend: "", urls: []string{"ws://127.0.0.1:8000/ws"}, clients: 200, rate: 1, size: 100, sent: 2000, recvPer: 200, steadyS: 10, memKB: 24, cpuUs: 16, cpuS: 6.4}
	ours := spec{backend: "memory", clients: 1000, rate: 1, size: 100, sent: 10000, recvPer: 1000, steadyS: 10, memKB: 11, cpuUs: 6, cpuS: 60}
	rep := buildFrom(t, evidence(t, blog.result(), ours.result()))
	for _, a := range rep.Assumptions {
		switch a.Key {
		case "kb_per_conn":
			if a.Value != 24 || a.From != "f1.json" {
				t.Errorf("memory per connection %+v, want 24 KB from f1.json", a)
			}
		case "cpu_us_per_delivery":
			if a.Value != 16 || a.From != "f1.json" {
				t.Errorf("CPU per delivery %+v, want 16 µs from f1.json", a)
			}
		}
	}
}

// A sweep in which even the fewest tried failed has no knee, yet is
// evidence: the knee is below that N (review A4). At 1/s on 2 cores the
// claim scales to 2,236–4,472: a failure at 100 users puts the knee far
// below (off); one at 5,000 does not rule the claim out (undecided). The
// model must not answer instead (its CPU per delivery, 1 µs, would say
// the server holds ~2,000 users at 10/s: 4 cores × 10⁶ / 1 µs / 10 /s,
// square-rooted).
func TestNoKneeIsEvidence(t *testing.T) {
	for _, tc := range []struct {
		above int
		want  string
	}{
		{100, "off (knee < 100, below the claim's 2,236–4,472 here)"},
		{5000, "undecided (knee < 5,000, which does not rule out the claim's 2,236–4,472 here; lower --start)"},
	} {
		st := spec{backend: "external", urls: []string{"ws://127.0.0.1:8000/ws"}, clients: tc.above, rate: 1, size: 100,
			sent: 20000, recvPer: int64(tc.above), steadyS: 10, cpuS: 0.8, cpuUs: 1}
		ev := evidence(t, sweepOf(2, []results.Step{st.step(false)}, results.Search{Backend: "external", RatePerS: 1, Above: int64(tc.above), Runs: 1}))
		c := claimFor(t, CheckClaims(ev, ClaimContext{}), "5", "server at ws://127.0.0.1:8000/ws")
		if c.Verdict != tc.want || c.Figures[0].Source != FigureMeasured || !strings.HasPrefix(c.Figures[0].Text, "< ") {
			t.Errorf("above %d: verdict %q figures %+v, want %q from the sweep", tc.above, c.Verdict, c.Figures, tc.want)
		}
	}
}

// A server is of a backend by its results' backend field, never by words
// in its URL or name (review A5): a server at ws://…/redis-chat/ws, or one
// the sweep named "my rabbitmq chat", is a single server (claim 5 applies,
// 7a and 8 do not); one named as chatbench's own ("chatbench serve redis
// (2 nodes)") is of that backend. Same knee as TestExternalKneeClaim5:
// 200 against 2,236–4,472 on 2 cores at 1/s.
func TestServerBackendFromResults(t *testing.T) {
	for _, tc := range []struct {
		url, name, server, id, other string
		declared                     string // sweep --server-backend
	}{
		{"ws://127.0.0.1:8000/redis-chat/ws", "", "server at ws://127.0.0.1:8000/redis-chat/ws", "5", "7a", ""},
		{"ws://127.0.0.1:8000/ws", "my rabbitmq chat", "my rabbitmq chat", "5", "8", ""},
		{"ws://127.0.0.1:8000/ws", "chatbench serve redis (2 nodes)", "chatbench serve redis (2 nodes)", "7a", "5", ""},
		// The blog's Redis design at a URL, its backend declared: claim 7a.
		{"ws://127.0.0.1:8000/ws", "the blog's Redis server", "the blog's Redis server", "7a", "5", "redis"},
		{"ws://127.0.0.1:8000/ws", "", "server at ws://127.0.0.1:8000/ws", "8", "5", "rabbitmq"},
	} {
		st := spec{backend: "external", urls: []string{tc.url}, clients: 200, rate: 1, size: 100, sent: 2000, recvPer: 200, steadyS: 10, cpuS: 0.8}
		step := st.step(true)
		step.Result.Config.URLs = []string{tc.url}
		sw := sweepOf(2, []results.Step{step}, results.Search{Backend: "external", RatePerS: 1, Knee: 200, Above: 300, Runs: 3, Server: tc.name})
		sw.Config.ServerBackend = tc.declared
		ev := evidence(t, sw)
		checks := CheckClaims(ev, ClaimContext{})
		if c := claimFor(t, checks, tc.id, tc.server); c.VerdictKind == VerdictNotApplicable || c.Value == nil || *c.Value != 200 {
			t.Errorf("%s: claim %s: %+v, want judged by the knee of 200", tc.server, tc.id, c)
		}
		if c := claimFor(t, checks, tc.other, tc.server); c.VerdictKind != VerdictNotApplicable {
			t.Errorf("%s: claim %s: %q, want n/a", tc.server, tc.other, c.Verdict)
		}
		if k := KneeClaim(ev.Knees[0]); k.ID != tc.id {
			t.Errorf("%s: KneeClaim %s, want %s", tc.server, k.ID, tc.id)
		}
	}
}

// Claim 7b compares a server's Redis runs with in-memory runs of the same
// kind of server: chatbench serve redis with chatbench serve memory, the
// blog's Redis design with the blog's in-memory one, never across them.
func TestRedisCPUComparedWithinItsKind(t *testing.T) {
	run := func(backend string, urls []string, cpuUs float64) spec {
		return spec{backend: backend, urls: urls, clients: 200, rate: 1, size: 100, sent: 2000, recvPer: 200, steadyS: 10, cpuUs: cpuUs, cpuS: 2}
	}
	blog := func(name, declared string, cpuUs float64) *results.Sweep {
		sw := sweepOf(2, []results.Step{run("external", []string{"ws://127.0.0.1:9/ws"}, cpuUs).step(true)},
			results.Search{Backend: "external", RatePerS: 1, Knee: 200, Above: 300, Runs: 3, Server: name})
		sw.Config.ServerBackend = declared
		return sw
	}
	ev := evidence(t, run("memory", nil, 2).result(), run("redis", []string{"ws://a/ws", "ws://b/ws"}, 3).result(),
		blog("blog memory", "memory", 20), blog("blog redis", "redis", 10))
	checks := CheckClaims(ev, ClaimContext{})
	for server, want := range map[string]float64{"chatbench serve redis (2 nodes)": 1.5, "blog redis": 0.5} {
		if c := claimFor(t, checks, "7b", server); c.Value == nil || !near(*c.Value, want) {
			t.Errorf("%s: claim 7b %+v, want redis/memory %.1f×", server, c, want)
		}
	}
}
