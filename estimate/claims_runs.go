package estimate

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/chatbench/chatbench/internal/units"
)

// largest is the run with the most weight(r), first in order on a tie.
func largest(runs []Run, weight func(Run) float64) (Run, bool) {
	var best Run
	found := false
	for _, r := range runs {
		if !found || weight(r) > weight(best) {
			best, found = r, true
		}
	}
	return best, found
}

func checkMemoryPerConn(cc *ClaimCheck, sv *Evidence, project bool) {
	conns := func(r Run) float64 { return float64(max(r.ServerConns, r.Connected)) }
	run, ok := pickMemoryRun(sv, "", conns)
	if !ok {
		most, any := largest(sv.Runs, conns)
		switch {
		case !any:
		case conns(most) < MinConns:
			cc.tooLittle(conns(most), MinConns, "connections")
			cc.Basis = most.Source
		case most.MemWhy != "":
			cc.Basis = most.Source + ": " + most.MemWhy
		}
		return
	}
	cc.Basis = fmt.Sprintf("%s: server RSS / %s connections", run.Source, units.FormatCount(conns(run)))
	perConn := ClaimFigure{"memory per connection", units.FormatSig(run.RSSKBPerConn, 3) + " KB/conn", run.RSSKBPerConn, FigureMeasured}
	if !project {
		cc.Figures = append(cc.Figures, perConn)
		cc.setRatio(run.RSSKBPerConn, FigureMeasured)
		return
	}
	// The figure the verdict compares comes first.
	n := ConnsInRAM(BlogRAMBytes, run.RSSKBPerConn)
	cc.figure("connections in 8 GB", units.FormatCount(n), n, FigureModel)
	cc.Figures = append(cc.Figures, perConn)
	cc.Basis = fmt.Sprintf("8 GB / %s KB measured; ", units.FormatSig(run.RSSKBPerConn, 3)) + cc.Basis + "; all 8 GB for connections"
	cc.setRatio(n, FigureModel)
}

// checkFanout sets the run's measured ingress and egress beside the blog's
// arithmetic done with the run's own numbers, and shows the fan-out model
// at the blog's 1,000 users × 10/s apart, as a model. The verdict compares
// what was measured with the blog's arithmetic for the same load.
func checkFanout(cc *ClaimCheck, sv *Evidence, cx ClaimContext, bytes bool) {
	run, ok := largest(sv.Runs, func(r Run) float64 {
		if r.SteadyS > 0 {
			return float64(r.Delivered)
		}
		return -1
	})
	if !ok || run.SteadyS <= 0 {
		return
	}
	if run.Delivered < MinDeliveries {
		cc.tooLittle(float64(run.Delivered), MinDeliveries, "deliveries")
		cc.Basis = run.Source
		return
	}
	in, out := run.IngressPerS(), run.DeliveriesPerS
	blog := float64(run.Senders) * run.RatePerS
	fanout := BlogUsers * BlogRatePerS * BlogUsers
	cc.Basis = fmt.Sprintf("%s: %s messages → %s deliveries over %s s; the blog's arithmetic for it: %s senders × %s",
		run.Source, units.FormatCount(float64(run.Sent)), units.FormatCount(float64(run.Delivered)), units.FormatSig(run.SteadyS, 3),
		units.FormatCount(float64(run.Senders)), units.FormatRate(run.RatePerS))
	if !bytes {
		cc.figure("out", formatNum(math.Round(out))+" deliveries/s", out, FigureMeasured)
		cc.figure("in", formatNum(math.Round(in))+" messages/s", in, FigureMeasured)
		cc.figure("the blog's arithmetic for this run", formatNum(blog)+" messages/s", blog, FigureBlog)
		cc.figure("fan-out at the blog's 1,000 users × 10/s", formatNum(fanout)+" deliveries/s", fanout, FigureModel)
		cc.setRatioAgainst(out, blog)
		return
	}
	egress, ingress, blogBytes := out*run.Size, in*run.Size, blog*run.Size
	frame := DeliveryFrameBytes(cx.UserLen, cx.RoomLen, run.Size)
	cc.figure("out, message text", units.FormatBytes(egress)+"/s", egress, FigureMeasured)
	cc.figure("in, message text", units.FormatBytes(ingress)+"/s", ingress, FigureMeasured)
	cc.figure("the blog's arithmetic for this run", units.FormatBytes(blogBytes)+"/s", blogBytes, FigureBlog)
	cc.figure("out with framing and envelope", units.FormatBytes(out*frame)+"/s", out*frame, FigureModel)
	blogFrame := DeliveryFrameBytes(cx.UserLen, cx.RoomLen, BlogSizeBytes)
	cc.figure("fan-out at the blog's 1,000 × 10/s × 100 B", units.FormatBytes(fanout*blogFrame)+"/s", fanout*blogFrame, FigureModel)
	cc.Basis += fmt.Sprintf(" × %s; frames of %s modelled (header + JSON envelope)", units.FormatBytes(run.Size), units.FormatBytes(frame))
	cc.setRatioAgainst(egress, blogBytes)
}

// setRatioAgainst judges a measured v against the blog's arithmetic for
// the same load, instead of the claim's own number.
func (cc *ClaimCheck) setRatioAgainst(v, blog float64) {
	lo, hi := cc.Lo, cc.Hi
	cc.Lo, cc.Hi = blog, blog
	cc.setRatio(v, FigureMeasured)
	cc.Lo, cc.Hi = lo, hi
}

// cpuRun is the run of sv with CPU per delivery measured and the most
// deliveries; when there is none, cc says whether too few CPU ticks were
// spent.
func cpuRun(cc *ClaimCheck, sv *Evidence) (Run, bool) {
	run, ok := pickRun(sv, "", func(r Run) float64 { return r.CPUUsPerDelivery }, func(r Run) float64 { return float64(r.Delivered) })
	if ok {
		return run, true
	}
	most, any := largest(sv.Runs, func(r Run) float64 { return r.CPUTicks })
	if any && most.CPUTicks >= 0 && most.CPUTicks < MinCPUTicks {
		cc.tooLittle(math.Floor(most.CPUTicks), MinCPUTicks, "CPU clock ticks")
		cc.Basis = most.Source
	}
	return Run{}, false
}

// checkExponent fits the growth of CPU per message with N over the sweep
// steps of mode "room-rate": the room's message rate is fixed while N
// grows, so every socket gets the same frame rate and per-socket batching
// cannot hide the growth. Steps at a rate per sender that grows with N
// would (their fit says N^-0.3).
func checkExponent(cc *ClaimCheck, sv *Evidence) {
	bySize := map[int64][]float64{}
	var ticks []float64
	sawMode := false
	for _, r := range sv.Runs {
		if r.Mode != RoomRateMode || r.Sent <= 0 || r.Delivered <= 0 {
			continue
		}
		sawMode = true
		if r.CPUUsPerDelivery <= 0 {
			ticks = append(ticks, r.CPUTicks)
			continue
		}
		perMsg := r.CPUUsPerDelivery * float64(r.Delivered) / float64(r.Sent)
		bySize[r.RoomSize] = append(bySize[r.RoomSize], math.Log(perMsg))
	}
	if !sawMode {
		return
	}
	var xs, ys []float64
	for _, n := range slices.Sorted(maps.Keys(bySize)) {
		xs = append(xs, math.Log(float64(n)))
		ys = append(ys, mean(bySize[n]))
	}
	if len(xs) < 2 {
		cc.tooLittle(float64(len(xs)), 2, "room sizes with CPU measured")
		if len(ticks) > 0 {
			few, _ := minMax(ticks)
			cc.Verdict += fmt.Sprintf("; a step needs %d CPU clock ticks, one had %s", MinCPUTicks, units.FormatCount(math.Max(few, 0)))
		}
		return
	}
	lo, hi := minMax(xs)
	if math.Exp(hi-lo) < 2 {
		cc.tooLittle(math.Exp(hi-lo), 2, "× between the smallest and largest N")
		return
	}
	k := slope(xs, ys)
	cc.Value, cc.ValueSource = f64(k), FigureMeasured
	cc.figure("CPU per message grows as", fmt.Sprintf("O(N^%.2f)", k), k, FigureMeasured)
	cc.Ratio, cc.RatioText = f64(k/cc.Lo), units.FormatTimes(k/cc.Lo)
	cc.VerdictKind, cc.Verdict = ExponentVerdict(k, cc.Lo)
	cc.Basis = fmt.Sprintf("least-squares fit of log(CPU µs per message) on log(N) over %d room sizes from %s to %s, sweep --mode room-rate steps that met their SLO",
		len(xs), units.FormatCount(math.Exp(lo)), units.FormatCount(math.Exp(hi)))
}

func checkRedisCPU(cc *ClaimCheck, ev *Evidence, server string) {
	// server's Redis runs against the in-memory runs of the same kind of
	// server (chatbench serve against chatbench serve, a server at a URL
	// against servers at URLs): another implementation's cost says nothing
	// about what Redis adds.
	ours := func(s string) bool { return strings.HasPrefix(s, "chatbench serve") }
	var redis, mem []Run
	for _, r := range ev.Runs {
		if r.CPUUsPerDelivery <= 0 || r.RoomSize <= 0 || ours(r.Server) != ours(server) {
			continue
		}
		switch {
		case r.Backend == "redis" && r.Server == server:
			redis = append(redis, r)
		case r.Backend == "memory":
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
	cc.Value, cc.ValueSource, cc.Ratio = f64(ratio), FigureMeasured, f64(ratio)
	cc.figure("redis / memory CPU per delivery", units.FormatTimes(ratio), ratio, FigureMeasured)
	cc.RatioText = units.FormatTimes(ratio)
	cc.VerdictKind, cc.Verdict = LowerVerdict(ratio)
	cc.Basis = fmt.Sprintf("median of %d redis/memory pairs at the closest room sizes; %s", len(ratios), example)
}
