package estimate

import (
	"fmt"
	"math"

	"github.com/chatbench/chatbench/internal/units"
)

// KneeClaim is the users-per-server claim knee k speaks to: 7a for Redis,
// 8 for RabbitMQ, 5 for a single server (chatbench's memory backend or a
// server at a URL), by serverBackend.
func KneeClaim(k Knee) Claim {
	id := "5"
	switch serverBackend(k.Backend, k.Server) {
	case "redis":
		id = "7a"
	case "rabbitmq":
		id = "8"
	}
	for _, c := range Claims {
		if c.ID == id {
			return c
		}
	}
	panic("estimate: no claim " + id)
}

// ScaledClaim is claim c's users range scaled by ScaleClaim from the blog's
// 4 cores in the claim's shape to k's machine and load shape.
func ScaledClaim(c Claim, k Knee) (lo, hi float64) {
	return ScaleClaim(c.Lo, *c.Shape, BlogCores, k.Shape, k.Cores), ScaleClaim(c.Hi, *c.Shape, BlogCores, k.Shape, k.Cores)
}

// verdictSide classes a ratio verdict: -1 off low, 0 holds, 1 off high.
func verdictSide(kind string, ratio float64) int {
	switch {
	case kind == VerdictHolds:
		return 0
	case ratio > 1:
		return 1
	}
	return -1
}

// JudgeKnee judges claim c (5, 7a or 8) by a measured knee: the knee
// against the claim scaled to the knee's machine and load. A knee with a
// spread (repeats) whose ends fall on different sides of the verdict is
// undecided; a knee no step failed above (the sweep's --max reached) is a
// lower bound. sweep's table and estimate both call it.
func JudgeKnee(c Claim, k Knee) ClaimCheck {
	cc := ClaimCheck{Claim: c, Server: k.Server, ShapeText: c.Shape.String()}
	lo, hi := ScaledClaim(c, k)
	if k.Clients <= 0 {
		judgeNoKnee(&cc, c, k, lo, hi)
		return cc
	}
	knee := float64(k.Clients)
	kneeText := units.FormatCount(knee) + " users"
	if k.Low != k.High {
		kneeText += fmt.Sprintf(" (%s–%s over %d repeats)", units.FormatCount(float64(k.Low)), units.FormatCount(float64(k.High)), k.Repeat)
	}
	if k.Above == 0 {
		kneeText = "≥ " + kneeText
	}
	cc.figure("knee", kneeText, knee, FigureMeasured)
	cc.figure("the claim scaled to this machine and load", fmt.Sprintf("%s–%s users", units.FormatCount(lo), units.FormatCount(hi)), lo, FigureModel)
	cc.Basis = fmt.Sprintf("%s: knee at %s per sender, %s, on %s cores, %s node(s); the claim (%s on 4 cores, %s) scaled by the delivery capacity it asks",
		k.Source, units.FormatRate(k.RatePerS), k.Shape, units.FormatSig(k.Cores, 3), units.FormatSig(float64(max(k.Nodes, 1)), 2),
		c.Blog, c.Shape)
	if k.Delivered >= 0 && k.Delivered < MinDeliveries {
		cc.tooLittle(float64(k.Delivered), MinDeliveries, "deliveries at the knee")
		return cc
	}
	cc.setRatioRange(knee, lo, hi)
	rLo, kLo, _ := RatioVerdict(float64(k.Low), lo, hi)
	rHi, kHi, _ := RatioVerdict(float64(k.High), lo, hi)
	switch sLo, sHi := verdictSide(kLo, rLo), verdictSide(kHi, rHi); {
	case k.Above == 0 && cc.VerdictKind == VerdictOff && cc.Ratio != nil && *cc.Ratio > 1:
		cc.Verdict += " (at least: no step failed)"
	case k.Above == 0:
		cc.VerdictKind = VerdictUndecided
		cc.Verdict = fmt.Sprintf("undecided (every step passed up to %s: the knee is higher; raise --max)", units.FormatCount(knee))
	case sLo != sHi:
		cc.VerdictKind = VerdictUndecided
		cc.Verdict = fmt.Sprintf("undecided (the knee's spread %s–%s straddles the claim's %s–%s here)",
			units.FormatCount(float64(k.Low)), units.FormatCount(float64(k.High)), units.FormatCount(lo), units.FormatCount(hi))
	}
	return cc
}

// judgeNoKnee judges a search whose fewest tried (k.Above) already failed:
// the knee is below it, so a claim above it is off at least that much; one
// at or below it is not decided.
func judgeNoKnee(cc *ClaimCheck, c Claim, k Knee, lo, hi float64) {
	above := float64(k.Above)
	cc.figure("knee", "< "+units.FormatCount(above)+" users (even the fewest tried failed)", above, FigureMeasured)
	cc.figure("the claim scaled to this machine and load", fmt.Sprintf("%s–%s users", units.FormatCount(lo), units.FormatCount(hi)), lo, FigureModel)
	cc.Basis = fmt.Sprintf("%s: every step failed the SLO down to %s users at %s per sender, %s, on %s cores; the claim (%s on 4 cores, %s) scaled by the delivery capacity it asks",
		k.Source, units.FormatCount(above), units.FormatRate(k.RatePerS), k.Shape, units.FormatSig(k.Cores, 3), c.Blog, c.Shape)
	if above <= lo {
		cc.VerdictKind = VerdictOff
		cc.Verdict = fmt.Sprintf("off (knee < %s, below the claim's %s–%s here)", units.FormatCount(above), units.FormatCount(lo), units.FormatCount(hi))
		return
	}
	cc.VerdictKind = VerdictUndecided
	cc.Verdict = fmt.Sprintf("undecided (knee < %s, which does not rule out the claim's %s–%s here; lower --start)",
		units.FormatCount(above), units.FormatCount(lo), units.FormatCount(hi))
}

// setRatioRange judges v against [lo, hi] rather than the claim's numbers.
func (cc *ClaimCheck) setRatioRange(v, lo, hi float64) {
	cLo, cHi := cc.Lo, cc.Hi
	cc.Lo, cc.Hi = lo, hi
	cc.setRatio(v, FigureMeasured)
	cc.Lo, cc.Hi = cLo, cHi
}

// checkUsers judges a users-per-server claim for one server: by its sweep
// knee when there is one (the knee closest to the claim's rate, then the
// largest), else by the model at its measured CPU per delivery, labelled
// a model.
func checkUsers(cc *ClaimCheck, sv *Evidence) {
	dist := func(k *Knee) float64 {
		if k.RatePerS <= 0 {
			return math.Inf(1)
		}
		return math.Abs(math.Log(k.RatePerS / cc.Shape.RatePerS))
	}
	var best *Knee
	for i := range sv.Knees {
		k := &sv.Knees[i]
		if k.Mode == RoomRateMode {
			continue // the room's rate is fixed, not each user's: a knee for claim 6's steps, not users per server
		}
		if best == nil || dist(k) < dist(best) || dist(k) == dist(best) && k.Clients > best.Clients {
			best = k
		}
	}
	if best != nil {
		*cc = JudgeKnee(cc.Claim, *best)
		return
	}
	usersFromModel(cc, sv)
}

// usersFromModel answers a users-per-server claim without a sweep: the
// users 4 cores serve in the claim's shape at the server's measured CPU per
// delivery. Latency is not checked: it is a model.
func usersFromModel(cc *ClaimCheck, sv *Evidence) {
	run, ok := cpuRun(cc, sv)
	if !ok {
		return
	}
	n := math.Floor(cc.Shape.UsersAt(DeliveryCapacity(BlogCores, run.CPUUsPerDelivery)) + 1e-9)
	limit := "CPU"
	cpu := ClaimFigure{"CPU per delivery", units.FormatSig(run.CPUUsPerDelivery, 3) + " µs", run.CPUUsPerDelivery, FigureMeasured}
	// The blog's server has 8 GB: at the measured memory per connection
	// it may hold fewer users than its CPU serves.
	if mr, ok := pickMemoryRun(sv, "", func(r Run) float64 { return float64(r.ServerConns) }); ok {
		if m := math.Floor(ConnsInRAM(BlogRAMBytes, mr.RSSKBPerConn)); m < n {
			n, limit = m, fmt.Sprintf("memory: 8 GB / %s KB measured in %s", units.FormatSig(mr.RSSKBPerConn, 3), mr.Source)
		}
	}
	cc.figure("users on 4 cores, 8 GB", units.FormatCount(n)+" users", n, FigureModel) // compared: first
	cc.Figures = append(cc.Figures, cpu)
	cc.Basis = fmt.Sprintf("no sweep knee: the model, 4 cores × 10⁶ / %s µs per delivery in %s, with CPU per delivery measured in %s over %s deliveries; limit: %s; latency not checked",
		units.FormatSig(run.CPUUsPerDelivery, 3), cc.Shape, run.Source, units.FormatCount(float64(run.Delivered)), limit)
	cc.setRatio(n, FigureModel)
}
