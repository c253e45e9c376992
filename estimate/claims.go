package estimate

import (
	"fmt"
	"math"
	"sort"

	"github.com/chatbench/chatbench/internal/units"
	"github.com/chatbench/chatbench/loadgen/results"
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
	// RuleNoLoss: "nothing is lost" across broker faults: holds at 0 lost,
	// refuted at any loss.
	RuleNoLoss = "no-loss"
	// RuleLoses: "it loses messages" across broker faults: holds when any
	// delivery was lost, refuted when none was.
	RuleLoses = "loses"
)

// The verdict thresholds.
const (
	HoldsWithin       = 2.0
	ExponentTolerance = 0.25
)

// The least data a verdict may rest on: the connections a memory figure
// divides by, the deliveries a fan-out or loss figure counts, the CPU clock
// ticks a CPU figure is measured in (100 ticks of 10 ms = 1 s of CPU time,
// so one tick is at most 1% of it).
const (
	MinConns      = results.MinConns
	MinDeliveries = 10_000
	MinCPUTicks   = results.MinCPUTicks
)

// Verdict kinds, for machines; the verdict text always carries the number.
const (
	VerdictHolds         = "holds"
	VerdictOff           = "off"
	VerdictRefuted       = "refuted"
	VerdictUndecided     = "undecided"
	VerdictTooLittle     = "too_little_data"
	VerdictNotMeasured   = "not_measured"
	VerdictNotApplicable = "not_applicable"
)

// RoomRateMode is the sweep mode whose steps fix the room's message rate
// while N grows (sweep --mode room-rate): claim 6's evidence.
const RoomRateMode = "room-rate"

// Sources of a figure in the claims table.
const (
	FigureMeasured = "measured"
	FigureModel    = "model"
	FigureBlog     = "blog"
)

// Claim is one of the blog's claims, as data: the one source of the claims
// for estimate and sweep.
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
	// About is the backend the claim is about ("" any server); a server at
	// a URL counts as a single server, as memory.
	About string `json:"about,omitempty"`
	// Shape is the load a users-per-server claim is stated in.
	Shape *Shape `json:"shape,omitempty"`
}

// Claims are the blog's claims that estimate checks (DESIGN.md, "The blog's
// claims that estimate checks"). Claim 7 says two things, checked apart.
var Claims = []Claim{
	{ID: "1", Text: "each WebSocket costs ~10 KB of server memory", Blog: "10 KB", Lo: 10, Hi: 10, Unit: "KB/conn", Rule: RuleRatio,
		Measures: "server RSS delta / connections", Needs: "a swarm run with server memory measured: chatbench serve, or --server-pid"},
	{ID: "2", Text: "8 GB / 10 KB = 800,000 connections", Blog: "800,000", Lo: 800000, Hi: 800000, Unit: "connections", Rule: RuleRatio,
		Measures: "8 GB / measured memory per connection (a projection)", Needs: "as claim 1"},
	{ID: "3", Text: "1,000 users × 10 msg/s = 10,000 messages/s", Blog: "10,000/s", Lo: 10000, Hi: 10000, Unit: "deliveries/s", Rule: RuleRatio,
		Measures: "the run's deliveries/s out against the blog's arithmetic for the run (senders × rate)", Needs: "a swarm run: chatbench swarm --out FILE"},
	{ID: "4", Text: "bandwidth 1,000 × 10 × 100 B = 1 MB/s", Blog: "1 MB/s", Lo: 1e6, Hi: 1e6, Unit: "B/s", Rule: RuleRatio,
		Measures: "the run's deliveries/s × message size against the blog's arithmetic for the run (senders × rate × size)", Needs: "a swarm run: chatbench swarm --out FILE"},
	{ID: "5", Text: "one 4-core/8 GB server: ~1,000–2,000 users", Blog: "1,000–2,000", Lo: 1000, Hi: 2000, Unit: "users", Rule: RuleRatio,
		Measures: "sweep knee (largest N with p99 < SLO and no loss) against the claim scaled to the machine and load", Needs: "chatbench sweep --backend memory --out FILE (or sweep --url for your server)",
		About: "memory", Shape: &BlogShape},
	{ID: "6", Text: "broadcasting is O(N) CPU per message", Blog: "O(N¹)", Lo: 1, Hi: 1, Unit: "exponent", Rule: RuleExponent,
		Measures: "server CPU per message against N with the room's message rate fixed (sweep --mode room-rate)", Needs: "chatbench sweep --mode room-rate --room-rate 20/s --out FILE"},
	{ID: "7a", Text: "Redis pub/sub: ~10,000–20,000 users", Blog: "10,000–20,000", Lo: 10000, Hi: 20000, Unit: "users", Rule: RuleRatio,
		Measures: "sweep knee with --backend redis, or the many-rooms model at its measured CPU per delivery", Needs: "chatbench sweep --backend redis --out FILE",
		About: "redis", Shape: &ManyRoomsShape},
	{ID: "7b", Text: "Redis pub/sub: lower CPU on the app server", Blog: "lower", Lo: 1, Hi: 1, Unit: "redis/memory", Rule: RuleLower,
		Measures: "server CPU µs per delivery, redis backend / memory backend, at the closest room sizes", Needs: "runs with --backend memory and --backend redis, server CPU measured",
		About: "redis"},
	{ID: "8", Text: "RabbitMQ: single server ~50,000–100,000 users", Blog: "50,000–100,000", Lo: 50000, Hi: 100000, Unit: "users", Rule: RuleRatio,
		Measures: "sweep knee with --backend rabbitmq, or the many-rooms model at its measured CPU per delivery", Needs: "chatbench sweep --backend rabbitmq --out FILE",
		About: "rabbitmq", Shape: &ManyRoomsShape},
	{ID: "9", Text: "RabbitMQ ensures no messages are lost, even under heavy load", Blog: "none lost", Unit: "deliveries lost", Rule: RuleNoLoss,
		Measures: "deliveries lost across broker faults (chaos results)", Needs: "chatbench chaos --backend rabbitmq --fault broker-restart --out FILE",
		About: "rabbitmq"},
	{ID: "10", Text: "Redis pub/sub lacks persistence (loses messages)", Blog: "loses", Unit: "deliveries lost", Rule: RuleLoses,
		Measures: "deliveries lost across broker faults (chaos results)", Needs: "chatbench chaos --backend redis --fault broker-restart --out FILE",
		About: "redis"},
}

// ClaimFigure is one number shown beside a claim, labelled with where it
// comes from: measured, a model (perhaps at a measured cost), or the
// blog's arithmetic.
type ClaimFigure struct {
	Label  string  `json:"label"`
	Text   string  `json:"text"`
	Value  float64 `json:"value"`
	Source string  `json:"source"` // measured, model, blog
}

// ClaimCheck is one claim judged for one server.
type ClaimCheck struct {
	Claim
	// Server is what was measured ("" when nothing was read).
	Server string `json:"server"`
	// Value is the number the verdict compares, ValueSource whether it was
	// measured or modelled; nil when there is none.
	Value       *float64      `json:"value,omitempty"`
	ValueSource string        `json:"value_source,omitempty"`
	Figures     []ClaimFigure `json:"figures,omitempty"`
	Ratio       *float64      `json:"ratio,omitempty"`
	RatioText   string        `json:"ratio_text"`
	Verdict     string        `json:"verdict"` // text with its number
	VerdictKind string        `json:"verdict_kind"`
	Basis       string        `json:"basis"` // how the number was made, from which files
	// ShapeText is the load the verdict is stated in (claims 5, 7a, 8).
	ShapeText string `json:"shape_text,omitempty"`
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

// tooLittle marks cc as resting on too little data.
func (cc *ClaimCheck) tooLittle(have, need float64, what string) {
	cc.VerdictKind = VerdictTooLittle
	cc.Verdict = fmt.Sprintf("too little data (have %s %s, need %s)", units.FormatCount(math.Max(have, 0)), what, units.FormatCount(need))
	cc.RatioText = "-"
}

func (cc *ClaimCheck) figure(label, text string, v float64, source string) {
	cc.Figures = append(cc.Figures, ClaimFigure{Label: label, Text: text, Value: v, Source: source})
}

// setRatio judges value (from source) by RuleRatio against the claim.
func (cc *ClaimCheck) setRatio(v float64, source string) {
	cc.Value, cc.ValueSource = f64(v), source
	r, kind, text := RatioVerdict(v, cc.Lo, cc.Hi)
	cc.Ratio, cc.RatioText, cc.VerdictKind, cc.Verdict = f64(r), units.FormatTimes(r), kind, text
}

// Servers lists the servers the evidence measured, in the order read.
func (e *Evidence) Servers() []string {
	if e == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, r := range e.Runs {
		add(r.Server)
	}
	for _, k := range e.Knees {
		add(k.Server)
	}
	for _, f := range e.Faults {
		add(f.Server)
	}
	for _, s := range e.Skipped {
		add(s.Server)
	}
	return out
}

// only is the part of e that measured server.
func (e *Evidence) only(server string) *Evidence {
	return &Evidence{Files: e.Files,
		Runs:       ofServer(e.Runs, server, func(r Run) string { return r.Server }),
		Knees:      ofServer(e.Knees, server, func(k Knee) string { return k.Server }),
		Faults:     ofServer(e.Faults, server, func(f Fault) string { return f.Server }),
		MemoryRuns: ofServer(e.MemoryRuns, server, func(r Run) string { return r.Server }),
	}
}

// ofServer is the items of xs whose server is server, in order.
func ofServer[T any](xs []T, server string, serverOf func(T) string) []T {
	var out []T
	for _, x := range xs {
		if serverOf(x) == server {
			out = append(out, x)
		}
	}
	return out
}

// applies reports whether claim c is about server, of backend b
// (serverBackend).
func (c Claim) applies(server, b string) bool {
	if c.About == "" || server == "" {
		return true
	}
	return b == c.About || c.About == "memory" && b == ""
}

// CheckClaims judges every claim for every server the evidence measured
// (ev may be nil: then every claim says what would measure it). The checks
// come claim by claim, the servers in the order read.
func CheckClaims(ev *Evidence, cx ClaimContext) []ClaimCheck {
	servers := ev.Servers()
	if len(servers) == 0 {
		servers = []string{""}
	}
	var out []ClaimCheck
	for _, c := range Claims {
		for _, s := range servers {
			out = append(out, checkClaim(c, s, ev, cx))
		}
	}
	return out
}

func checkClaim(c Claim, server string, ev *Evidence, cx ClaimContext) ClaimCheck {
	cc := ClaimCheck{Claim: c, Server: server, VerdictKind: VerdictNotMeasured}
	if c.Shape != nil {
		cc.ShapeText = c.Shape.String()
	}
	if !c.applies(server, ev.backendOf(server)) {
		cc.VerdictKind, cc.RatioText = VerdictNotApplicable, "-"
		cc.Verdict = fmt.Sprintf("n/a (about %s; needs: %s)", c.About, c.Needs)
		return cc
	}
	if ev != nil {
		sv := ev.only(server)
		switch c.ID {
		case "1", "2":
			checkMemoryPerConn(&cc, sv, c.ID == "2")
		case "3", "4":
			checkFanout(&cc, sv, cx, c.ID == "4")
		case "5", "7a", "8":
			checkUsers(&cc, sv)
		case "6":
			checkExponent(&cc, sv)
		case "7b":
			checkRedisCPU(&cc, ev, server)
		case "9", "10":
			checkFaults(&cc, sv)
		}
	}
	if cc.VerdictKind == VerdictNotMeasured {
		cc.Verdict = "not measured (needs: " + c.Needs + ")"
		if ev != nil && ev.onlySkipped(server) {
			cc.Verdict = "not measured (every run of this server was not used: see below; needs: " + c.Needs + ")"
		}
		cc.RatioText = "-"
	}
	return cc
}

// onlySkipped reports whether every run read of server was skipped.
func (e *Evidence) onlySkipped(server string) bool {
	o := e.only(server)
	if len(o.Runs)+len(o.Knees)+len(o.Faults) > 0 {
		return false
	}
	for _, s := range e.Skipped {
		if s.Server == server {
			return true
		}
	}
	return false
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
