package units

import (
	"math"
	"strconv"
	"strings"
)

// Number formatting shared by the table and the JSON "text" fields, so both
// show the same digits.

// FormatCount writes a whole number with thousands separators: 800,000.
// Fractions are rounded to the nearest whole number.
func FormatCount(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "∞"
	}
	neg := v < 0
	n := int64(math.Round(math.Abs(v)))
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// FormatSig writes v with at most sig significant digits and no trailing
// zeros; values of 1,000 and more get thousands separators: 1.5, 0.333, 12,345.
func FormatSig(v float64, sig int) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "∞"
	}
	if v == 0 {
		return "0"
	}
	mag := int(math.Floor(math.Log10(math.Abs(v))))
	dec := sig - 1 - mag
	if dec <= 0 {
		p := math.Pow(10, float64(-dec))
		return FormatCount(math.Round(v/p) * p)
	}
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if math.Abs(v) >= 1000 {
		intPart, frac, _ := strings.Cut(s, ".")
		n, _ := strconv.ParseFloat(intPart, 64)
		s = FormatCount(n)
		if frac != "" {
			s += "." + frac
		}
	}
	return s
}

var siPrefixes = []struct {
	p string
	v float64
}{{"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"k", 1e3}}

// FormatBytes writes a byte count with a decimal prefix and three significant
// digits: 1 MB, 1.5 GB, 146 B. KB is written "KB" as the blog does.
func FormatBytes(v float64) string {
	return formatSI(v, "B", map[string]string{"k": "K"})
}

// FormatBits writes a bit rate: 12 Gbit/s.
func FormatBits(bitsPerS float64) string {
	return formatSI(bitsPerS, "bit/s", nil)
}

func formatSI(v float64, unit string, rename map[string]string) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "∞ " + unit
	}
	for _, p := range siPrefixes {
		if math.Abs(v) >= p.v*0.9995 {
			name := p.p
			if r, ok := rename[name]; ok {
				name = r
			}
			return FormatSig(v/p.v, 3) + " " + name + unit
		}
	}
	return FormatSig(v, 3) + " " + unit
}

// FormatRate writes an event rate the way it was likely typed: per second
// when that is short (10/s, 0.5/s), else per minute or hour when that is a
// whole number (7/min, 1/h), else per second to three digits.
func FormatRate(perS float64) string {
	whole := func(v float64) bool { return v >= 1 && math.Abs(v-math.Round(v)) < 1e-9*v }
	switch {
	case perS == 0 || perS >= 1 || whole(perS*1000):
		return FormatSig(perS, 3) + "/s"
	case whole(perS * 60):
		return FormatSig(perS*60, 3) + "/min"
	case whole(perS * 3600):
		return FormatSig(perS*3600, 3) + "/h"
	}
	return FormatSig(perS, 3) + "/s"
}

// FormatTimes writes a ratio as "1,000×" or "2.5×".
func FormatTimes(r float64) string { return FormatSig(r, 2) + "×" }

// FormatShare writes a share as a percentage, as it would be typed: 0.1%.
// Twelve significant digits drop the float noise of v×100.
func FormatShare(v float64) string {
	return strconv.FormatFloat(v*100, 'g', 12, 64) + "%"
}
