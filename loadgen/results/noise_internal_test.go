package results

import (
	"math"
	"testing"
)

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want)) }

// The per-second spread, worked by hand.
func TestSecondsSpread(t *testing.T) {
	for _, tc := range []struct {
		name     string
		xs       []float64
		se, neff float64
		df       float64
	}{
		// mean 3, Σ(x−m)² = 10, Σ lag products = 4: r₁ = 0.4,
		// n_eff = 5·0.6/1.4 = 2.142857, sd = √(10/4), se = sd/√n_eff.
		{"trend", []float64{1, 2, 3, 4, 5}, 1.0801234, 15.0 / 7, 15.0/7 - 1},
		// r₁ < 0 earns no credit: n_eff = n = 6; sd = √(6/5), se = sd/√6 = 1/√5.
		{"alternating", []float64{10, 12, 10, 12, 10, 12}, 1 / math.Sqrt(5), 6, 5},
		// Every second the same: no spread at all.
		{"flat", []float64{7, 7, 7}, 0, 3, 2},
		// A step from 0 to 10 halfway: deviations ±5, Σ(x−m)² = 500, lag
		// products 18·25 − 25 = 425, r₁ = 0.85, n_eff = 20·0.15/1.85,
		// sd = √(500/19); df held at 1.
		{"step", []float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10},
			math.Sqrt(500.0/19) / math.Sqrt(3/1.85), 3 / 1.85, 1},
	} {
		s, ok := secondsSpread(tc.xs)
		if !ok || !near(s.se, tc.se, 1e-6) || !near(s.neff, tc.neff, 1e-6) || !near(s.df, tc.df, 1e-6) || s.n != len(tc.xs) {
			t.Errorf("%s: %+v ok=%v, want se %.7g, n_eff %.7g, df %.7g", tc.name, s, ok, tc.se, tc.neff, tc.df)
		}
	}
	if s, ok := secondsSpread([]float64{1, 2}); ok || s.n != 2 {
		t.Errorf("2 seconds gave a spread: %+v", s)
	}
}

// Welch's band of two equal spreads with 5 degrees of freedom each has 10
// degrees of freedom: t(0.975, 10) = 2.228139 (any t table).
func TestWelchBand(t *testing.T) {
	s := spread{se: 1 / math.Sqrt(5), df: 5}
	if got, want := welchBand(s, s), 2.228139*math.Sqrt(0.4); !near(got, want, 1e-6) {
		t.Errorf("band %.7g, want %.7g", got, want)
	}
	// One side without spread: the other's t(0.975, 5) = 2.570582.
	if got, want := welchBand(s, spread{df: 1}), 2.570582/math.Sqrt(5); !near(got, want, 1e-6) {
		t.Errorf("one-sided band %.7g, want %.7g", got, want)
	}
	if got := welchBand(spread{df: 3}, spread{df: 4}); got != 0 {
		t.Errorf("no spread gave band %v", got)
	}
}

// Exact p-values computed independently with Python's fractions: for L
// losses in all over equal exposures, 2·min(P(X ≤ b), P(X ≥ b)) with
// X ~ Binomial(L, 1/2).
func TestLossNoise(t *testing.T) {
	for _, tc := range []struct {
		a, b int64
		p    float64
	}{
		{10, 12, 0.8318119049072266},
		{12, 10, 0.8318119049072266},
		{0, 5, 0.0625},
		{0, 6, 0.03125},
		{0, 0, 1},
		{10, 1000, 5.359574874624727e-281},
	} {
		band, p := lossNoise(tc.a, 100000, tc.b, 100000)
		if !near(p, tc.p, 1e-6) && !(tc.p < 1e-200 && p < 1e-200) {
			t.Errorf("%d vs %d of 100000: p = %g, want %g", tc.a, tc.b, p, tc.p)
		}
		// 1.959964 · √(p̄(1−p̄)·2/100000), p̄ the pooled ratio.
		pool := float64(tc.a+tc.b) / 200000
		if want := 1.959964 * math.Sqrt(pool*(1-pool)*2e-5); !near(band, want, 1e-6) {
			t.Errorf("%d vs %d: band %g, want %g", tc.a, tc.b, band, want)
		}
	}
	// Unequal exposures: 1 lost of 100 vs 0 of 300: X ~ Binomial(1, 3/4),
	// P(X ≤ 0) = 1/4, so p = 1/2.
	if _, p := lossNoise(1, 100, 0, 300); !near(p, 0.5, 1e-9) {
		t.Errorf("unequal exposures: p = %g, want 0.5", p)
	}
}

func TestCPUBound(t *testing.T) {
	c := Cost{Processes: []Process{{ClockResS: 0.01}, {ClockResS: 0.001}, {}}}
	if got := cpuBound(c); !near(got, 0.021, 1e-12) {
		t.Errorf("bound %v, want 0.021 (10 ms + 1 ms + the 10 ms assumed when unknown)", got)
	}
}
