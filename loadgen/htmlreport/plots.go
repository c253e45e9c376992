package htmlreport

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/chatbench/chatbench/loadgen/results"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// BlogKBPerConn is the blog's assumed server memory per WebSocket, drawn as
// a reference line on memory plots.
const BlogKBPerConn = 10

// Plot size in points (the SVG scales to the page width; this sets its
// proportions and text size).
const (
	plotW = 640
	plotH = 340
)

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, // red
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, // green
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, // orange
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, // purple
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}, // brown
}

var (
	grey = color.RGBA{R: 0x77, G: 0x77, B: 0x77, A: 0xff}
	sloC = color.RGBA{R: 0xc0, G: 0x00, B: 0x00, A: 0xff}
)

func col(i int) color.Color { return palette[i%len(palette)] }

func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	sans := font.Font{Typeface: "Liberation", Variant: "Sans"}
	for _, ts := range []*font.Font{&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font, &p.Y.Tick.Label.Font, &p.Legend.TextStyle.Font} {
		size := ts.Size
		*ts = sans
		ts.Size = size
	}
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Legend.Top = true
	p.X.Tick.Marker = plot.TickerFunc(niceTicks)
	p.Y.Tick.Marker = plot.TickerFunc(niceTicks)
	p.Add(plotter.NewGrid())
	return p
}

// svg renders p as an inline <svg> element (no XML prolog), with a font
// fallback so it reads well where Liberation Sans is not installed.
func svg(p *plot.Plot) (string, error) {
	c := vgsvg.New(plotW, plotH)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	s := b.String()
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	s = strings.ReplaceAll(s, "font-family:Liberation Sans;", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")
	return s, nil
}

func line(p *plot.Plot, name string, xys plotter.XYs, c color.Color, dashed bool) error {
	if len(xys) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	l.Color = c
	l.Width = vg.Points(1.8)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	p.Add(l)
	if name != "" {
		p.Legend.Add(name, l)
	}
	return nil
}

// niceTicks labels a linear axis at 1, 2 or 5 × 10^k steps, about six of
// them, with minor ticks between.
func niceTicks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
	}
	raw := (hi - lo) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{2, 5, 10} {
		if step >= raw {
			break
		}
		step = m * mag
	}
	prec := max(0, -int(math.Floor(math.Log10(step))))
	var ts []plot.Tick
	for i := math.Ceil(lo/step*2) / 2; i*step <= hi+step*1e-9; i += 0.5 {
		v := i * step
		if i == math.Trunc(i) {
			label := strconv.FormatFloat(v, 'f', prec, 64)
			if prec == 0 && math.Abs(v) >= 10000 {
				label = fmtCount(int64(math.Round(v)))
			}
			ts = append(ts, plot.Tick{Value: v, Label: label})
		} else {
			ts = append(ts, plot.Tick{Value: v})
		}
	}
	return ts
}

// percentileCurve is a latency distribution as HdrHistogram's plotter draws
// it: x = log10(1/(1-q)) (0 at p0, 1 at p90, 2 at p99, …),
// y = latency in ms, up to the largest value.
func percentileCurve(h *hdr.Histogram) plotter.XYs {
	if h == nil || h.TotalCount() == 0 {
		return nil
	}
	total := float64(h.TotalCount())
	var xys plotter.XYs
	for i := 0; ; i++ {
		q := 1 - math.Pow(0.5, float64(i)/5) // 5 points per halving of the tail, as .hgrm files do
		x := 1 / (1 - q)
		if x >= total || x > 1e7 {
			break
		}
		xys = append(xys, plotter.XY{X: math.Log10(x), Y: float64(h.ValueAtQuantile(q*100)) / 1000})
	}
	xys = append(xys, plotter.XY{X: math.Log10(math.Max(total, 1.0001)), Y: float64(h.Max()) / 1000})
	return xys
}

// Log axes are drawn as linear axes of log10(value), with ticks labelled in
// values: gonum's LogScale centres axis labels at the linear midpoint of the
// data range, which pushes the plot away from its right or top edge.

// percentileTicks labels the log10(1/(1-q)) axis in percentiles: 0%, 90%,
// 99%, 99.9%, …
func percentileTicks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for k := 0; float64(k) <= hi+1e-9 && k < 10; k++ {
		label := strconv.FormatFloat(100*(1-math.Pow(10, -float64(k))), 'f', max(0, k-2), 64) + "%"
		ts = append(ts, plot.Tick{Value: float64(k), Label: label})
		for m := 2; m < 10; m++ {
			if v := float64(k) + math.Log10(float64(m)); v <= hi {
				ts = append(ts, plot.Tick{Value: v})
			}
		}
	}
	return ts
}

// log10Ticks labels a log10(value) axis at 1, 2 and 5 × 10^k (only the
// powers of ten when it spans more than two decades).
func log10Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	few := hi-lo > 2.5
	for k := math.Floor(lo); k <= math.Ceil(hi); k++ {
		for m := 1; m < 10; m++ {
			v := k + math.Log10(float64(m))
			if v < lo-1e-9 || v > hi+1e-9 {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || (!few && (m == 2 || m == 5)) {
				t.Label = axisNum(math.Pow(10, v))
			}
			ts = append(ts, t)
		}
	}
	return ts
}

func axisNum(v float64) string {
	if v >= 1 {
		return fmtCount(int64(math.Round(v)))
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// latencyDistribution plots the due-time and send-time distributions of
// runs together.
func latencyDistribution(title string, runs []Run) (string, error) {
	p := newPlot(title, "percentile (log scale of 1/(1−p), as HdrHistogram plots)", "latency (ms)")
	p.X.Tick.Marker = plot.TickerFunc(percentileTicks)
	n := 0
	for i, r := range runs {
		name := ""
		if len(runs) > 1 {
			name = r.Name + ": "
		}
		due, send := percentileCurve(r.Result.Histograms.LatencyDue), percentileCurve(r.Result.Histograms.LatencySend)
		n += len(due) + len(send)
		if err := line(p, name+"from due time", due, col(2*i), false); err != nil {
			return "", err
		}
		if err := line(p, name+"from send time", send, col(2*i+1), true); err != nil {
			return "", err
		}
	}
	if n == 0 {
		return "", nil
	}
	p.Legend.Left = true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(10), vg.Points(-4)
	p.Y.Min = 0
	return svg(p)
}

// phaseLines marks where phases begin on a time plot, from 0 to top.
func phaseLines(p *plot.Plot, tl []results.Second, top float64) error {
	prev := ""
	var pts plotter.XYLabels
	for _, s := range tl {
		if s.Phase != prev && prev != "" && top > 0 {
			x := float64(s.T) - 0.5
			l, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: top}})
			if err != nil {
				return err
			}
			l.Color = grey
			l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
			p.Add(l)
			pts.XYs = append(pts.XYs, plotter.XY{X: x, Y: 0})
			pts.Labels = append(pts.Labels, " "+s.Phase)
		}
		prev = s.Phase
	}
	if len(pts.XYs) > 0 {
		lb, err := plotter.NewLabels(pts)
		if err != nil {
			return err
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Color = grey
			lb.TextStyle[i].Font.Variant = "Sans"
			lb.TextStyle[i].YAlign = draw.YBottom
		}
		p.Add(lb)
	}
	return nil
}

// mark is a moment marked on a time plot (a fault injected, cleared), in
// seconds from the timeline's zero.
type mark struct {
	at    float64
	label string
}

// markLines draws marks as solid red lines from 0 to top, labelled.
func markLines(p *plot.Plot, marks []mark, top float64) error {
	if len(marks) == 0 || top <= 0 {
		return nil
	}
	var pts plotter.XYLabels
	for _, m := range marks {
		l, err := plotter.NewLine(plotter.XYs{{X: m.at, Y: 0}, {X: m.at, Y: top}})
		if err != nil {
			return err
		}
		l.Color = faultRed
		p.Add(l)
		pts.XYs = append(pts.XYs, plotter.XY{X: m.at, Y: top})
		pts.Labels = append(pts.Labels, m.label)
	}
	lb, err := plotter.NewLabels(pts)
	if err != nil {
		return err
	}
	for i := range lb.TextStyle {
		lb.TextStyle[i].Color = faultRed
		lb.TextStyle[i].Font.Variant = "Sans"
	}
	p.Add(lb)
	return nil
}

var faultRed = color.RGBA{R: 0xc0, G: 0x1c, B: 0x1c, A: 0xff}

// timePlot plots one or more per-second series of a timeline, with the
// phases and any marks.
func timePlot(title, yLabel string, tl []results.Second, series []timeSeries, marks ...mark) (string, error) {
	if len(tl) == 0 {
		return "", nil
	}
	p := newPlot(title, "time (s)", yLabel)
	top, points := 0.0, 0
	for i, s := range series {
		var xys plotter.XYs
		for _, row := range tl {
			v, ok := s.value(row)
			if ok {
				xys = append(xys, plotter.XY{X: float64(row.T), Y: v})
				top = math.Max(top, v)
			}
		}
		points += len(xys)
		if err := line(p, s.name, xys, col(i), i > 0 && s.dashed); err != nil {
			return "", err
		}
	}
	if points == 0 {
		return "", nil // e.g. latency of a run of idle sockets
	}
	if err := phaseLines(p, tl, top); err != nil {
		return "", err
	}
	if err := markLines(p, marks, top); err != nil {
		return "", err
	}
	p.Y.Min, p.Y.Max = 0, top*1.3 // headroom for the legend
	if top == 0 {
		p.Y.Max = 1
	}
	return svg(p)
}

type timeSeries struct {
	name   string
	dashed bool
	value  func(results.Second) (float64, bool)
}

// memoryBars compares server memory per connection (and swarm's per
// socket) between runs, with the blog's 10 KB as a line.
func memoryBars(title string, names []string, server, swarm []float64) (string, error) {
	p := newPlot(title, "", "KB per connection (1 KB = 1000 B)")
	w := vg.Points(math.Min(60, 360/float64(2*len(names)+1)))
	sb, err := plotter.NewBarChart(plotter.Values(server), w)
	if err != nil {
		return "", err
	}
	sb.Color, sb.LineStyle.Width = col(0), 0
	sb.Offset = -w / 2
	wb, err := plotter.NewBarChart(plotter.Values(swarm), w)
	if err != nil {
		return "", err
	}
	wb.Color, wb.LineStyle.Width = col(3), 0
	wb.Offset = w / 2
	p.Add(sb, wb)
	p.Legend.Add("server, per connection", sb)
	p.Legend.Add("swarm, per socket", wb)
	top := float64(BlogKBPerConn)
	for i := range server {
		top = math.Max(top, math.Max(server[i], swarm[i]))
	}
	if err := line(p, fmt.Sprintf("the blog's %d KB", BlogKBPerConn),
		plotter.XYs{{X: -0.5, Y: BlogKBPerConn}, {X: float64(len(names)) - 0.5, Y: BlogKBPerConn}}, sloC, true); err != nil {
		return "", err
	}
	p.NominalX(names...)
	p.Y.Min, p.Y.Max = 0, top*1.5 // headroom for the legend
	return svg(p)
}

type seriesKey struct {
	backend string
	rate    float64
}

func (k seriesKey) String() string { return fmt.Sprintf("%s at %s/s", k.backend, fmtNum(k.rate)) }

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func fmtCount(v int64) string {
	s := strconv.FormatInt(v, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func groupSteps(sw Sweep) ([]seriesKey, map[seriesKey][]Step) {
	by := map[seriesKey][]Step{}
	var keys []seriesKey
	for _, st := range sw.Steps {
		k := seriesKey{st.Backend, st.RatePerS}
		if _, ok := by[k]; !ok {
			keys = append(keys, k)
		}
		by[k] = append(by[k], st)
	}
	for _, k := range keys {
		sort.SliceStable(by[k], func(i, j int) bool { return by[k][i].Clients < by[k][j].Clients })
	}
	return keys, by
}

// capacityCurve plots p99 against N for every backend and rate of a sweep,
// with the SLO line and each knee.
func capacityCurve(sw Sweep) (string, error) {
	p := newPlot("Capacity: p99 fan-out latency against clients in the room", "clients in the room (N, log scale)", "p99 latency from due time (ms, log scale)")
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.TickerFunc(log10Ticks), plot.TickerFunc(log10Ticks)
	keys, by := groupSteps(sw)
	var glyphs [2]*plotter.Scatter // the legend's "met" and "missed" entries
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	n := 0
	for i, k := range keys {
		var all, ok, bad plotter.XYs
		for _, st := range by[k] {
			if st.Result == nil || st.Clients <= 0 {
				continue
			}
			y := math.Log10(math.Max(st.Result.Summary.LatencyMs.P99, 0.001)) // log scale: 1 µs floor
			pt := plotter.XY{X: math.Log10(float64(st.Clients)), Y: y}
			all = append(all, pt)
			if st.OK {
				ok = append(ok, pt)
			} else {
				bad = append(bad, pt)
			}
			xmin, xmax = math.Min(xmin, pt.X), math.Max(xmax, pt.X)
			ymin, ymax = math.Min(ymin, y), math.Max(ymax, y)
		}
		n += len(all)
		if err := line(p, k.String(), all, col(i), false); err != nil {
			return "", err
		}
		for j, pts := range []plotter.XYs{ok, bad} {
			if len(pts) == 0 {
				continue
			}
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return "", err
			}
			sc.Color = col(i)
			sc.Radius = vg.Points(3.5)
			sc.Shape = draw.CircleGlyph{}
			if j == 1 {
				sc.Shape = draw.CrossGlyph{}
				sc.Radius = vg.Points(5)
			}
			p.Add(sc)
			if glyphs[j] == nil {
				glyphs[j] = sc
			}
		}
	}
	if n == 0 {
		return "", nil
	}
	for j, name := range []string{"step met the SLO", "step missed the SLO"} {
		if glyphs[j] != nil {
			p.Legend.Add(name, glyphs[j])
		}
	}
	slo := 0.0
	if sw.SLOP99Ms > 0 {
		slo = math.Log10(sw.SLOP99Ms)
		ymin, ymax = math.Min(ymin, slo), math.Max(ymax, slo)
	}
	lo, hi := ymin-0.15, ymax+0.6 // headroom for the legend
	if xmin == xmax {
		xmin, xmax = xmin-0.2, xmax+0.2
	}
	if sw.SLOP99Ms > 0 {
		if err := line(p, fmt.Sprintf("SLO: p99 < %s ms", fmtNum(sw.SLOP99Ms)),
			plotter.XYs{{X: xmin, Y: slo}, {X: xmax, Y: slo}}, sloC, true); err != nil {
			return "", err
		}
	}
	var kl plotter.XYLabels
	for i, k := range keys {
		for _, kn := range sw.Knees {
			if kn.Backend != k.backend || kn.RatePerS != k.rate || kn.Knee <= 0 {
				continue
			}
			x := math.Log10(float64(kn.Knee))
			if err := line(p, "", plotter.XYs{{X: x, Y: lo}, {X: x, Y: ymax}}, col(i), true); err != nil {
				return "", err
			}
			kl.XYs = append(kl.XYs, plotter.XY{X: x, Y: ymax})
			kl.Labels = append(kl.Labels, " knee "+fmtCount(kn.Knee))
		}
	}
	if len(kl.XYs) > 0 {
		lb, err := plotter.NewLabels(kl)
		if err != nil {
			return "", err
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Font.Variant = "Sans"
			lb.TextStyle[i].YAlign = draw.YBottom
		}
		p.Add(lb)
	}
	p.Y.Min, p.Y.Max = lo, hi
	p.Legend.Top, p.Legend.Left = true, true
	return svg(p)
}

// sweepMemory plots server memory per connection against N.
func sweepMemory(sw Sweep) (string, error) {
	p := newPlot("Server memory per connection against clients", "clients in the room (N, log scale)", "server RSS growth per connection (KB)")
	p.X.Tick.Marker = plot.TickerFunc(log10Ticks)
	keys, by := groupSteps(sw)
	n := 0
	xmin, xmax, top := math.Inf(1), math.Inf(-1), float64(BlogKBPerConn)
	for i, k := range keys {
		var xys plotter.XYs
		for _, st := range by[k] {
			if st.Result == nil || !st.Result.Server.MemoryPerConn.OK() || st.Clients <= 0 {
				continue
			}
			v := st.Result.Server.MemoryPerConn.Value / 1000
			x := math.Log10(float64(st.Clients))
			xys = append(xys, plotter.XY{X: x, Y: v})
			xmin, xmax, top = math.Min(xmin, x), math.Max(xmax, x), math.Max(top, v)
		}
		n += len(xys)
		lp, sc, err := plotter.NewLinePoints(xys)
		if err != nil && len(xys) > 0 {
			return "", err
		}
		if len(xys) == 0 {
			continue
		}
		lp.Color, sc.Color = col(i), col(i)
		lp.Width = vg.Points(1.8)
		p.Add(lp, sc)
		p.Legend.Add(k.String(), lp, sc)
	}
	if n == 0 {
		return "", nil
	}
	if xmin == xmax {
		xmin, xmax = xmin-0.2, xmax+0.2
	}
	if err := line(p, fmt.Sprintf("the blog's %d KB", BlogKBPerConn),
		plotter.XYs{{X: xmin, Y: BlogKBPerConn}, {X: xmax, Y: BlogKBPerConn}}, sloC, true); err != nil {
		return "", err
	}
	p.Y.Min, p.Y.Max = 0, top*1.25
	return svg(p)
}
