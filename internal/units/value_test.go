package units

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// The flag values parse as their parsers do, keep the typed value, and
// refuse a bad value with the parser's UnitError.
func TestFlagValues(t *testing.T) {
	var r Rate
	if err := r.Set("600/min"); err != nil || r != 10 || r.String() != "10/s" {
		t.Errorf("Rate 600/min: %v %v %q", err, float64(r), r.String())
	}
	rs := Rates{PerS: []float64{10}}
	if err := rs.Set("1/s"); err != nil || rs.Set("30/min") != nil || len(rs.PerS) != 2 || rs.PerS[0] != 1 || rs.PerS[1] != 0.5 {
		t.Errorf("Rates: the first Set replaces the default, the next adds: %v", rs.PerS)
	}
	var z Size
	if err := z.Set("16MiB"); err != nil || z.Bytes != 16<<20 || z.String() != "16MiB" {
		t.Errorf("Size 16MiB: %v %+v", err, z)
	}
	// A size keeps its text: 8GB stays 8GB (not 8 GB), 1.5GiB stays binary.
	if err := z.Set(" 1.5GiB"); err != nil || z.Bytes != 1.5*(1<<30) || z.String() != "1.5GiB" {
		t.Errorf("Size 1.5GiB: %v %+v %q", err, z, z.String())
	}
	for _, d := range []struct {
		bytes float64
		want  string
	}{{16 << 20, "16MiB"}, {8e9, "8GB"}, {100, "100B"}, {1500, "1500B"}, {0, "0B"}, {1234567000, "1234567KB"}} {
		if got := (&Size{Bytes: d.bytes}).String(); got != d.want {
			t.Errorf("default Size %v writes %q, want %q", d.bytes, got, d.want)
		}
	}
	var zs Sizes
	if err := zs.Set("100B:90%,1KB:10%"); err != nil || zs.Bytes != 100 || len(zs.List) != 2 || zs.List[1] != (SizeShare{1000, 0.1}) || zs.String() != "100B:90%,1KB:10%" {
		t.Errorf("Sizes list: %v %+v", err, zs)
	}
	if err := zs.Set("4KiB"); err != nil || zs.Bytes != 4096 || zs.List != nil {
		t.Errorf("Sizes 4KiB: %v %+v", err, zs)
	}
	var (
		n  Count
		c  Cores
		b  Bitrate
		h  Share
		hs SharePerS
		cs CountOrShare
	)
	for _, c := range []struct {
		set  func(string) error
		v    string
		want string
	}{
		{r.Set, "fast", WantRate}, {rs.Set, "-1/s", WantRate}, {z.Set, "8XB", WantSize},
		{zs.Set, "0B", WantSizes}, {zs.Set, "32MiB", WantSizes}, {zs.Set, "100B:0%", WantSizes},
		{n.Set, "lots", WantCount}, {n.Set, "-5", WantCount}, {n.Set, "1.5", WantCount},
		{c.Set, "four", WantCores}, {c.Set, "NaN", WantCores}, {c.Set, "Inf", WantCores},
		{b.Set, "1G", WantBitrate}, {h.Set, "200%", WantShare}, {h.Set, "-0.1", WantShare},
		{hs.Set, "1%/min", WantSharePerS},
		{cs.Set, "ten", WantCountOrShare}, {cs.Set, "150%", WantCountOrShare}, {cs.Set, "2.5", WantCountOrShare},
	} {
		var ue *UnitError
		if err := c.set(c.v); !errors.As(err, &ue) || ue.Value != c.v || ue.Want != c.want {
			t.Errorf("Set(%q) = %v, want a UnitError wanting %q", c.v, err, c.want)
		}
	}
}

// Each typed value holds what its parser gives, and writes text that
// parses back to the same value (pflag shows it as the default, and a
// workload file's value is handed on as flag text).
func TestFlagValuesRoundTrip(t *testing.T) {
	var n Count
	if err := n.Set("1,000,000"); err != nil || n != 1e6 || n.String() != "1000000" {
		t.Errorf("Count 1,000,000: %v %d %q", err, n, n.String())
	}
	if err := n.Set("10k"); err != nil || n != 10000 {
		t.Errorf("Count 10k: %v %d", err, n)
	}
	var c Cores
	if err := c.Set("0.5"); err != nil || c != 0.5 || c.String() != "0.5" {
		t.Errorf("Cores 0.5: %v %v %q", err, float64(c), c.String())
	}
	var b Bitrate
	if b.String() != "" {
		t.Errorf("an unset Bitrate writes %q, want empty (not limited)", b.String())
	}
	if err := b.Set("100MB/s"); err != nil || b != 800e6 {
		t.Errorf("Bitrate 100MB/s: %v %v", err, float64(b))
	}
	var h Share
	if err := h.Set("0.1%"); err != nil || h != 0.001 || h.String() != "0.1%" {
		t.Errorf("Share 0.1%%: %v %v %q", err, float64(h), h.String())
	}
	if err := h.Set("0.25"); err != nil || h != 0.25 || h.String() != "25%" {
		t.Errorf("Share 0.25: %v %v %q", err, float64(h), h.String())
	}
	var hs SharePerS
	if err := hs.Set("2%/s"); err != nil || hs != 0.02 || hs.String() != "2%/s" {
		t.Errorf("SharePerS 2%%/s: %v %v %q", err, float64(hs), hs.String())
	}
	var cs CountOrShare
	if err := cs.Set("500"); err != nil || cs != (CountOrShare{Count: 500}) || cs.String() != "500" {
		t.Errorf("CountOrShare 500: %v %+v", err, cs)
	}
	if err := cs.Set("10%"); err != nil || cs != (CountOrShare{Share: 0.1, IsShare: true}) || cs.String() != "10%" {
		t.Errorf("CountOrShare 10%%: %v %+v", err, cs)
	}
	for _, v := range []interface {
		Set(string) error
		String() string
	}{&n, &c, &b, &h, &hs, &cs} {
		before := v.String()
		if err := v.Set(before); err != nil || v.String() != before {
			t.Errorf("%T: %q does not parse back to itself (%v, %q)", v, before, err, v.String())
		}
	}
	for _, perS := range []float64{10, 0.5, 1.0 / 60, 12345, 1.0 / 3} {
		r, back := Rate(perS), Rate(0)
		if err := back.Set(r.String()); err != nil || back != r {
			t.Errorf("Rate %v writes %q, which parses to %v (%v)", perS, r.String(), float64(back), err)
		}
	}
	if r := Rate(1.0 / 60); r.String() != "1/min" {
		t.Errorf("Rate 1/60 writes %q, want 1/min as typed", r.String())
	}
	// An empty count or bit rate is "not given" (a script's unset variable).
	if err := n.Set(" "); err != nil || n != 0 {
		t.Errorf("Count \" \": %v %d", err, n)
	}
	if err := b.Set(""); err != nil || b != 0 {
		t.Errorf("Bitrate \"\": %v %v", err, float64(b))
	}
	for _, bits := range []float64{1e9, 2.5e9, 100e6, 1234, 67387257715} {
		b := Bitrate(bits)
		var back Bitrate
		if err := back.Set(b.String()); err != nil || back != b {
			t.Errorf("Bitrate %v writes %q, which parses to %v (%v)", bits, b.String(), float64(back), err)
		}
	}
}

// Sizes in whole bytes and bit rates of any value write text that parses
// back to them exactly (10,000 random values each, fixed seed).
func TestFlagValuesRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		z := Size{Bytes: float64(rng.Int64N(1 << 50))}
		var back Size
		if err := back.Set(z.String()); err != nil || back.Bytes != z.Bytes {
			t.Fatalf("Size %v writes %q, which parses to %v (%v)", z.Bytes, z.String(), back.Bytes, err)
		}
		b := Bitrate(rng.Float64() * math.Pow(10, float64(rng.IntN(14))))
		var bb Bitrate
		if err := bb.Set(b.String()); b != 0 && (err != nil || bb != b) {
			t.Fatalf("Bitrate %v writes %q, which parses to %v (%v)", float64(b), b.String(), float64(bb), err)
		}
	}
}
