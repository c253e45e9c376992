package results

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// The noise estimates 'report diff' judges a change by (docs/report.md,
// "How a change is told from noise"). Each says how far apart two figures
// may be by chance alone, at NoiseLevel, from what the two results files
// hold; none needs the runs' raw samples.

// NoiseLevel is the confidence of every noise band: a change outside the
// band would arise by chance less than 5% of the time.
const NoiseLevel = 0.95

// MinSpreadSeconds is the fewest steady seconds a per-second spread may
// rest on: two give a standard deviation but no autocorrelation.
const MinSpreadSeconds = 3

// spread is what a run's timeline says about the noise of one of its
// figures: the figure's standard error and the degrees of freedom behind it.
type spread struct {
	mean float64 // of the per-second values
	se   float64 // standard error of the run's figure
	df   float64 // degrees of freedom of se (effective seconds − 1, at least 1)
	n    int     // seconds used
	neff float64 // effective independent seconds
}

// secondsSpread estimates the mean of a run's per-second values xs and its
// standard error by batch means (each second one batch): the standard
// deviation of the seconds over √n_eff, where n_eff = n(1−r₁)/(1+r₁)
// discounts seconds that follow each other (lag-1 autocorrelation r₁ > 0:
// a backlog or a GC that spans seconds) and is held to [1, n] (negative
// r₁ earns no credit). With n_eff = 1 the standard error is the per-second
// spread itself. ok is false below MinSpreadSeconds.
func secondsSpread(xs []float64) (s spread, ok bool) {
	n := len(xs)
	if n < MinSpreadSeconds {
		return spread{n: n}, false
	}
	var mean float64
	for _, x := range xs {
		mean += x
	}
	mean /= float64(n)
	var ss, lag float64
	for i, x := range xs {
		ss += (x - mean) * (x - mean)
		if i > 0 {
			lag += (x - mean) * (xs[i-1] - mean)
		}
	}
	neff := float64(n)
	if ss > 0 && lag > 0 {
		r1 := lag / ss
		neff = math.Max(1, float64(n)*(1-r1)/(1+r1))
	}
	sd := math.Sqrt(ss / float64(n-1))
	return spread{mean: mean, se: sd / math.Sqrt(neff), df: math.Max(1, neff-1), n: n, neff: neff}, true
}

// welchBand is the half-width of the NoiseLevel band of the difference of
// two figures with spreads a and b: t · √(se_a² + se_b²), with Student's t
// at the Welch–Satterthwaite degrees of freedom.
func welchBand(a, b spread) float64 {
	v := a.se*a.se + b.se*b.se
	if v == 0 {
		return 0
	}
	df := v * v / (math.Pow(a.se, 4)/a.df + math.Pow(b.se, 4)/b.df)
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(1 - (1-NoiseLevel)/2)
	return t * math.Sqrt(v)
}

// lossNoise judges two loss ratios lostA/expA and lostB/expB. band is the
// half-width of the normal-approximation band, z · √(p̄(1−p̄)(1/expA + 1/expB))
// with p̄ the pooled ratio: the binomial standard error of the difference.
// p is the two-sided p-value of the exact conditional test: given L = lostA
// + lostB losses in all, lostB ~ Binomial(L, expB/(expA+expB)) when both
// runs lose at the same rate (exact for rare losses, where the normal
// approximation is not: 0 vs 5 losses gives p = 1/16).
func lossNoise(lostA, expA, lostB, expB int64) (band, p float64) {
	na, nb := float64(expA), float64(expB)
	pool := float64(lostA+lostB) / (na + nb)
	z := distuv.UnitNormal.Quantile(1 - (1-NoiseLevel)/2)
	band = z * math.Sqrt(pool*(1-pool)*(1/na+1/nb))
	total := lostA + lostB
	if total == 0 {
		return band, 1
	}
	bin := distuv.Binomial{N: float64(total), P: nb / (na + nb)}
	x := float64(lostB)
	low := bin.CDF(x)        // P(X ≤ lostB)
	high := 1 - bin.CDF(x-1) // P(X ≥ lostB)
	return band, math.Min(1, 2*math.Min(low, high))
}

// cpuBound is the most the CPU seconds of c can be off by the clocks'
// resolution alone: each process's CPU is the difference of two readings
// of a clock that counts whole ticks, so it is off by less than one tick.
func cpuBound(c Cost) float64 {
	var b float64
	for _, p := range c.Processes {
		res := p.ClockResS
		if res <= 0 {
			res = 0.01 // as perMessage assumes
		}
		b += res
	}
	return b
}
