package estimate

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"

	"github.com/chatbench/chatbench/internal/units"
)

// How a claim is judged.
const (
	// RuleRatio: a number or a range. ratio = measured / the nearest end of
	// the claimed range (1 inside it). holds when 1/HoldsWithin ≤ ratio ≤
	// HoldsWithin, otherwise "off by N×" with N = max(ratio, 1/ratio).
	RuleRatio = "ratio"
	// RuleExponent: a growth bound "O(N^k)". The measured exponent comes
	// from a least-squares fit of log(cost) against log(N) over runs at
	// several N. Big-O is an upper bound: the claim holds when the measured
	// exponent ≤ k + ExponentTolerance (a smaller exponent is said: fixed
	// costs dominate at the measured N) and is refuted when the cost grows
	// faster than N^(k + ExponentTolerance).
	RuleExponent = "exponent"
	// RuleLower: "A is lower than B". ratio = A / B; holds when ratio < 1,
	// refuted when ratio ≥ 1 (the direction is wrong).
	RuleLower = "lower"
)

// The verdict thresholds.
const (
	HoldsWithin       = 2.0
	ExponentTolerance = 0.25
)

// Verdict kinds, for machines; the verdict text always carries the number.
const (
	VerdictHolds       = "holds"
	VerdictOff         = "off"
	VerdictRefuted     = "refuted"
	VerdictNotMeasured = "not_measured"
)

// Claim is one of the blog's claims, as data.
type Claim struct {
	ID       string  `json:"id"`
	Text     string  `json:"text"` // the blog's words
	Blog     string  `json:"blog"` // the blog's number as written
	Lo       float64 `json:"lo"`   // the claimed value, or the low end of a range
	Hi       float64 `json:"hi"`
	Unit     string  `json:"unit"`
	Rule     string  `json:"rule"`
	Measures string  `json:"measures"` // what measurement checks it
	Needs    string  `json:"needs"`    // what to run when nothing does
}

// Claims are the blog's claims that estimate checks (DESIGN.md, "The blog's
// claims that estimate checks"). Claim 7 says two things, checked apart.
var Claims = []Claim{
	{ID: "1", Text: "each WebSocket costs ~10 KB of server memory", Blog: "10 KB", Lo: 10, Hi: 10, Unit: "KB/conn", Rule: RuleRatio,
		Measures: "server RSS delta / connections", Needs: "a swarm run with server memory measured: chatbench serve, or --server-pid"},
	{ID: "2", Text: "8 GB / 10 KB = 800,000 connections", Blog: "800,000", Lo: 800000, Hi: 800000, Unit: "connections", Rule: RuleRatio,
		Measures: "8 GB / measured memory per connection", Needs: "as claim 1"},
	{ID: "3", Text: "1,000 users × 10 msg/s = 10,000 messages/s", Blog: "10,000/s", Lo: 10000, Hi: 10000, Unit: "deliveries/s", Rule: RuleRatio,
		Measures: "deliveries the server makes per message sent (measured fan-out) × 10,000 messages/s", Needs: "a swarm run: chatbench swarm --out FILE"},
	{ID: "4", Text: "bandwidth 1,000 × 10 × 100 B = 1 MB/s", Blog: "1 MB/s", Lo: 1e6, Hi: 1e6, Unit: "B/s", Rule: RuleRatio,
		Measures: "measured fan-out × frame bytes (WebSocket header + JSON envelope)", Needs: "a swarm run: chatbench swarm --out FILE"},
	{ID: "5", Text: "one 4-core/8 GB server: ~1,000–2,000 users", Blog: "1,000–2,000", Lo: 1000, Hi: 2000, Unit: "users", Rule: RuleRatio,
		Measures: "sweep knee (largest room with p99 < SLO and no loss), memory backend, scaled to 4 cores at 10 msg/s", Needs: "chatbench sweep --backend memory --out FILE"},
	{ID: "6", Text: "broadcasting is O(N) CPU per message", Blog: "O(N¹)", Lo: 1, Hi: 1, Unit: "exponent", Rule: RuleExponent,
		Measures: "server CPU per message (µs per delivery × deliveries per message) against room size N", Needs: "runs at several N at least 2× apart with server CPU measured, e.g. chatbench sweep"},
	{ID: "7a", Text: "Redis pub/sub: ~10,000–20,000 users", Blog: "10,000–20,000", Lo: 10000, Hi: 20000, Unit: "users", Rule: RuleRatio,
		Measures: "sweep knee with --backend redis, scaled to 4 cores per node at 10 msg/s", Needs: "chatbench sweep --backend redis --out FILE"},
	{ID: "7b", Text: "Redis pub/sub: lower CPU on the app server", Blog: "lower", Lo: 1, Hi: 1, Unit: "redis/memory", Rule: RuleLower,
		Measures: "server CPU µs per delivery, redis backend / memory backend, at the closest room sizes", Needs: "runs with --backend memory and --backend redis, server CPU measured"},
	{ID: "8", Text: "RabbitMQ: single server ~50,000–100,000 users", Blog: "50,000–100,000", Lo: 50000, Hi: 100000, Unit: "users", Rule: RuleRatio,
		Measures: "sweep knee with --backend rabbitmq, scaled to 4 cores per node at 10 msg/s", Needs: "chatbench sweep --backend rabbitmq --out FILE"},
}

// ClaimCheck is one row of the claim table.
type ClaimCheck struct {
	Claim
	Measured      string   `json:"measured"` // "8.9 KB/conn", "" when not measured
	MeasuredValue *float64 `json:"measured_value,omitempty"`
	Ratio         *float64 `json:"ratio,omitempty"`
	RatioText     string   `json:"ratio_text"`
	Verdict       string   `json:"verdict"` // text with its number
	VerdictKind   string   `json:"verdict_kind"`
	Basis         string   `json:"basis"` // how the measured number was made, from which files
}

// ClaimContext carries the model assumptions a claim check needs.
type ClaimContext struct {
	UserLen, RoomLen float64
}

// RatioVerdict applies RuleRatio: measured against the claimed value or
// range [lo, hi].
func RatioVerdict(measured, lo, hi float64) (ratio float64, kind, text string) {
	switch {
	case measured < lo:
		ratio = measured / lo
	case measured > hi:
		ratio = measured / hi
	default:
		ratio = 1
	}
	if ratio >= 1/HoldsWithin && ratio <= HoldsWithin {
		if lo != hi && ratio == 1 {
			return ratio, VerdictHolds, "holds (inside the claimed range)"
		}
		return ratio, VerdictHolds, fmt.Sprintf("holds (within %s×)", units.FormatSig(HoldsWithin, 2))
	}
	if ratio > 1 {
		return ratio, VerdictOff, fmt.Sprintf("off by %s (measured higher)", units.FormatTimes(ratio))
	}
	return ratio, VerdictOff, fmt.Sprintf("off by %s (measured lower)", units.FormatTimes(1/ratio))
}

// ExponentVerdict applies RuleExponent.
func ExponentVerdict(measured, claimed float64) (kind, text string) {
	switch {
	case measured > claimed+ExponentTolerance:
		return VerdictRefuted, fmt.Sprintf("refuted (cost per message grows as N^%.2f, faster than N^%s)", measured, units.FormatSig(claimed, 2))
	case measured < claimed-ExponentTolerance:
		return VerdictHolds, fmt.Sprintf("holds as a bound (grows as N^%.2f, slower than N^%s: fixed costs dominate at these N)", measured, units.FormatSig(claimed, 2))
	}
	return VerdictHolds, fmt.Sprintf("holds (exponent %.2f, claimed %s ± %s)", measured, units.FormatSig(claimed, 2), units.FormatSig(ExponentTolerance, 2))
}

// LowerVerdict applies RuleLower to ratio = A / B.
func LowerVerdict(ratio float64) (kind, text string) {
	if ratio < 1 {
		return VerdictHolds, fmt.Sprintf("holds (%s as much)", units.FormatTimes(ratio))
	}
	return VerdictRefuted, fmt.Sprintf("refuted (%s as much, not lower)", units.FormatTimes(ratio))
}

// CheckClaims checks every claim against ev (which may be nil).
func CheckClaims(ev *Evidence, cx ClaimContext) []ClaimCheck {
	out := make([]ClaimCheck, 0, len(Claims))
	for _, c := range Claims {
		cc := ClaimCheck{Claim: c, VerdictKind: VerdictNotMeasured}
		switch c.ID {
		case "1":
			checkMemoryPerConn(&cc, ev, false)
		case "2":
			checkMemoryPerConn(&cc, ev, true)
		case "3":
			checkFanout(&cc, ev, cx, false)
		case "4":
			checkFanout(&cc, ev, cx, true)
		case "5":
			checkKnee(&cc, ev, "memory")
		case "6":
			checkExponent(&cc, ev)
		case "7a":
			checkKnee(&cc, ev, "redis")
		case "7b":
			checkRedisCPU(&cc, ev)
		case "8":
			checkKnee(&cc, ev, "rabbitmq")
		}
		if cc.VerdictKind == VerdictNotMeasured {
			cc.Verdict = "not measured (needs: " + c.Needs + ")"
			cc.RatioText = "-"
		}
		out = append(out, cc)
	}
	return out
}

func (cc *ClaimCheck) setRatio(measured float64, measuredText string) {
	cc.MeasuredValue = f64(measured)
	cc.Measured = measuredText
	r, kind, text := RatioVerdict(measured, cc.Lo, cc.Hi)
	cc.Ratio, cc.RatioText, cc.VerdictKind, cc.Verdict = f64(r), units.FormatTimes(r), kind, text
}

func checkMemoryPerConn(cc *ClaimCheck, ev *Evidence, project bool) {
	run, ok := pickRun(ev, "", func(r Run) float64 { return r.RSSKBPerConn }, func(r Run) float64 { return float64(r.Connected) })
	if !ok {
		return
	}
	cc.Basis = fmt.Sprintf("%s: server RSS / %s connections (%s)", run.Source, units.FormatCount(float64(run.Connected)), backendName(run.Backend))
	if !project {
		cc.setRatio(run.RSSKBPerConn, units.FormatSig(run.RSSKBPerConn, 3)+" KB/conn")
		return
	}
	conns := ConnsInRAM(BlogRAMBytes, run.RSSKBPerConn)
	cc.Basis = fmt.Sprintf("8 GB / %s KB measured; ", units.FormatSig(run.RSSKBPerConn, 3)) + cc.Basis + "; all 8 GB for connections"
	cc.setRatio(conns, units.FormatCount(conns))
}

// checkFanout measures how many deliveries one message causes per room
// member and projects the blog's 1,000 users × 10 msg/s with it.
func checkFanout(cc *ClaimCheck, ev *Evidence, cx ClaimContext, bytes bool) {
	run, ok := pickRun(ev, "", func(r Run) float64 {
		if r.Sent > 0 && r.RoomSize > 0 {
			return float64(r.Delivered)
		}
		return 0
	}, func(r Run) float64 { return float64(r.RoomSize) })
	if !ok {
		return
	}
	perMember := float64(run.Delivered) / float64(run.Sent) / float64(run.RoomSize)
	deliveries := BlogUsers * BlogRatePerS * BlogUsers * perMember
	basis := fmt.Sprintf("%s: %s messages → %s deliveries in rooms of %s (%s per member); 1,000 users × 10/s × 1,000 members × %s",
		run.Source, units.FormatCount(float64(run.Sent)), units.FormatCount(float64(run.Delivered)), units.FormatCount(float64(run.RoomSize)),
		units.FormatSig(perMember, 3), units.FormatSig(perMember, 3))
	if !bytes {
		cc.Basis = basis
		cc.setRatio(deliveries, units.FormatSig(deliveries, 4)+" deliveries/s")
		return
	}
	frame := DeliveryFrameBytes(cx.UserLen, cx.RoomLen, BlogSizeBytes)
	egress := deliveries * frame
	cc.Basis = basis + fmt.Sprintf(" × %s frame (modelled: header + JSON envelope)", units.FormatBytes(frame))
	cc.setRatio(egress, units.FormatBytes(egress)+"/s")
}

// ScaleKnee scales a knee measured on cores at rate to toCores at toRate by
// the fan-out law for one room where every member sends: N² × rate ≤
// capacity ∝ cores, so N ∝ √(cores / rate). Unknown (zero) cores or rate are
// not scaled.
func ScaleKnee(knee, cores, rate, toCores, toRate float64) float64 {
	f := 1.0
	if cores > 0 {
		f *= toCores / cores
	}
	if rate > 0 {
		f *= rate / toRate
	}
	return math.Floor(knee * math.Sqrt(f))
}

func checkKnee(cc *ClaimCheck, ev *Evidence, backend string) {
	if ev == nil {
		return
	}
	// The knee measured closest to the blog's 10 msg/s needs the least
	// scaling; among those, the largest.
	dist := func(k *Knee) float64 {
		if k.RatePerS <= 0 {
			return math.Inf(1)
		}
		return math.Abs(math.Log(k.RatePerS / BlogRatePerS))
	}
	var best *Knee
	for i := range ev.Knees {
		k := &ev.Knees[i]
		if k.Backend != backend {
			continue
		}
		if best == nil || dist(k) < dist(best) || dist(k) == dist(best) && k.Clients > best.Clients {
			best = k
		}
	}
	if best == nil {
		if backend == "memory" {
			kneeFromModel(cc, ev)
		}
		return
	}
	nodes := float64(max(best.Nodes, 1))
	scaled := ScaleKnee(float64(best.Clients), best.Cores, best.RatePerS, BlogCores*nodes, BlogRatePerS)
	cc.Basis = fmt.Sprintf("%s: knee %s users at %s per user on %s cores, %s node(s); scaled by √(cores × rate) to %s cores at 10/s",
		best.Source, units.FormatCount(float64(best.Clients)), units.FormatRate(best.RatePerS), units.FormatSig(best.Cores, 3), units.FormatSig(nodes, 2),
		units.FormatSig(BlogCores*nodes, 3))
	cc.setRatio(scaled, units.FormatCount(scaled)+" users")
}

// kneeFromModel answers claim 5 without a sweep: the model's largest room on
// 4 cores at 10 msg/s with the measured CPU per delivery, marked "(model)".
func kneeFromModel(cc *ClaimCheck, ev *Evidence) {
	run, ok := pickRun(ev, "", func(r Run) float64 {
		if r.Backend == "memory" || r.Backend == "" {
			return r.CPUUsPerDelivery
		}
		return 0
	}, func(r Run) float64 { return float64(r.Delivered) })
	if !ok {
		return
	}
	n := LargestRoom(DeliveryCapacity(BlogCores, run.CPUUsPerDelivery), BlogRatePerS, 1)
	cc.Basis = fmt.Sprintf("no sweep knee: the model √(4 cores × 10⁶ / %s µs / 10/s) with CPU per delivery measured in %s; latency not checked",
		units.FormatSig(run.CPUUsPerDelivery, 3), run.Source)
	cc.setRatio(n, units.FormatCount(n)+" users (model)")
}

// checkExponent fits the growth of CPU per message with room size over runs
// of one backend at one rate (fixed per-second costs weigh differently at
// different rates), taking the group with the most room sizes.
func checkExponent(cc *ClaimCheck, ev *Evidence) {
	if ev == nil {
		return
	}
	type group struct {
		backend string
		rate    float64
	}
	groups := map[group]map[int64][]float64{}
	for _, r := range ev.Runs {
		// Overloaded runs (SLO not met) measure a saturated CPU, not the
		// cost of a delivery: left out.
		if !r.SLOMet || r.CPUUsPerDelivery <= 0 || r.RoomSize <= 0 || r.Sent <= 0 || r.Delivered <= 0 {
			continue
		}
		g := group{r.Backend, r.RatePerS}
		if groups[g] == nil {
			groups[g] = map[int64][]float64{}
		}
		perMsg := r.CPUUsPerDelivery * float64(r.Delivered) / float64(r.Sent)
		groups[g][r.RoomSize] = append(groups[g][r.RoomSize], math.Log(perMsg))
	}
	var best group
	var bestXs, bestYs []float64
	for g, bySize := range groups {
		if len(bySize) < 2 {
			continue
		}
		// Sizes in order: the same runs give the same fit, bit for bit.
		var xs, ys []float64
		for _, n := range slices.Sorted(maps.Keys(bySize)) {
			xs = append(xs, math.Log(float64(n)))
			ys = append(ys, mean(bySize[n]))
		}
		lo, hi := minMax(xs)
		if math.Exp(hi-lo) < 2 {
			continue
		}
		better := len(xs) > len(bestXs) ||
			len(xs) == len(bestXs) && (backendRank(g.backend) < backendRank(best.backend) ||
				backendRank(g.backend) == backendRank(best.backend) && (g.rate > best.rate ||
					g.rate == best.rate && g.backend < best.backend)) // a total order: map order must not decide
		if better {
			best, bestXs, bestYs = g, xs, ys
		}
	}
	if bestXs == nil {
		return
	}
	k := slope(bestXs, bestYs)
	lo, hi := minMax(bestXs)
	cc.MeasuredValue = f64(k)
	cc.Measured = fmt.Sprintf("O(N^%.2f)", k)
	cc.Ratio, cc.RatioText = f64(k/cc.Lo), units.FormatTimes(k/cc.Lo)
	cc.VerdictKind, cc.Verdict = ExponentVerdict(k, cc.Lo)
	cc.Basis = fmt.Sprintf("least-squares fit of log(CPU µs per message) on log(N) over %d room sizes from %s to %s at %s, runs that met their SLO (%s)",
		len(bestXs), units.FormatCount(math.Exp(lo)), units.FormatCount(math.Exp(hi)), units.FormatRate(best.rate), backendName(best.backend))
}

func checkRedisCPU(cc *ClaimCheck, ev *Evidence) {
	if ev == nil {
		return
	}
	var redis, mem []Run
	for _, r := range ev.Runs {
		if r.CPUUsPerDelivery <= 0 || r.RoomSize <= 0 {
			continue
		}
		switch r.Backend {
		case "redis":
			redis = append(redis, r)
		case "memory":
			mem = append(mem, r)
		}
	}
	if len(redis) == 0 || len(mem) == 0 {
		return
	}
	var ratios []float64
	var example string
	for _, r := range redis {
		best := mem[0]
		for _, m := range mem[1:] {
			if math.Abs(math.Log(float64(m.RoomSize)/float64(r.RoomSize))) < math.Abs(math.Log(float64(best.RoomSize)/float64(r.RoomSize))) {
				best = m
			}
		}
		ratios = append(ratios, r.CPUUsPerDelivery/best.CPUUsPerDelivery)
		if example == "" {
			example = fmt.Sprintf("e.g. redis %s µs (%s, room %s) vs memory %s µs (%s, room %s)",
				units.FormatSig(r.CPUUsPerDelivery, 3), r.Source, units.FormatCount(float64(r.RoomSize)),
				units.FormatSig(best.CPUUsPerDelivery, 3), best.Source, units.FormatCount(float64(best.RoomSize)))
		}
	}
	ratio := median(ratios)
	cc.MeasuredValue, cc.Ratio = f64(ratio), f64(ratio)
	cc.Measured = "redis " + units.FormatTimes(ratio) + " memory's CPU/delivery"
	cc.RatioText = units.FormatTimes(ratio)
	cc.VerdictKind, cc.Verdict = LowerVerdict(ratio)
	cc.Basis = fmt.Sprintf("median of %d redis/memory pairs at the closest room sizes; %s", len(ratios), example)
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minMax(v []float64) (float64, float64) {
	lo, hi := v[0], v[0]
	for _, x := range v[1:] {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// slope is the least-squares slope of ys on xs.
func slope(xs, ys []float64) float64 {
	mx, my := mean(xs), mean(ys)
	var num, den float64
	for i := range xs {
		num += (xs[i] - mx) * (ys[i] - my)
		den += (xs[i] - mx) * (xs[i] - mx)
	}
	return num / den
}
