package units

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// checkParsed is what holds for every parser and every input: no panic; an
// error is a *UnitError naming the input; a value is finite and not
// negative; surrounding spaces change nothing.
func checkParsed(t *testing.T, name string, parse func(string) (float64, error), s string) {
	t.Helper()
	v, err := parse(s)
	if err != nil {
		var ue *UnitError
		if !errors.As(err, &ue) || ue.Value != s || v != 0 {
			t.Fatalf("%s(%q) = %v, %v: want a *UnitError for the input", name, s, v, err)
		}
		return
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		t.Fatalf("%s(%q) = %v: want a finite value ≥ 0", name, s, v)
	}
	if v2, err := parse(" " + s + " "); err != nil || v2 != v {
		t.Fatalf("%s(%q) = %v but with spaces around %v, %v", name, s, v, v2, err)
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"8GB", "8GiB", "512MB", "10 KB", "1,000,000", "0.5TiB", "100", "8gb", "", "GB", "-1GB", "1.2.3MB", "1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkParsed(t, "ParseSize", ParseSize, s) })
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"10/s", "600/min", "1/h", "0.5/s", "10 msg/s", "1/d", "3", "", "/s", "10/fortnight", "1,000/m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkParsed(t, "ParseRate", ParseRate, s) })
}

func FuzzParseBitrate(f *testing.F) {
	for _, s := range []string{"1Gbps", "100Mbit/s", "10Gb/s", "2.5Gbit/s", "100MB/s", "1kbps", "100", "", "Gbps", "1 Tbps"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkParsed(t, "ParseBitrate", ParseBitrate, s) })
}

func FuzzParseCount(f *testing.F) {
	for _, s := range []string{"1000", "1,000,000", "1e6", "10k", "2m", "", "1.5", "-3", "9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseCount(s)
		if err != nil {
			var ue *UnitError
			if !errors.As(err, &ue) || ue.Value != s {
				t.Fatalf("ParseCount(%q): %v: want a *UnitError for the input", s, err)
			}
			return
		}
		if v < 0 {
			t.Fatalf("ParseCount(%q) = %d: want ≥ 0", s, v)
		}
		if strings.TrimSpace(s) == s {
			if v2, err := ParseCount(" " + s + " "); err != nil || v2 != v {
				t.Fatalf("ParseCount(%q) = %d but with spaces around %d, %v", s, v, v2, err)
			}
		}
	})
}

// Found by fuzzing: a number too large for its unit made +Inf ("∞ B RAM" in
// the estimate), and a negative count parsed through the 1e6 path.
func TestParseRejectsOverflowAndNegativeCounts(t *testing.T) {
	huge := "1" + strings.Repeat("0", 300)
	for _, tc := range []struct {
		name  string
		parse func(string) (float64, error)
		in    string
	}{
		{"ParseSize", ParseSize, huge + "TB"},
		{"ParseSize", ParseSize, huge + "TiB"},
		{"ParseBitrate", ParseBitrate, huge + "TB/s"},
	} {
		if v, err := tc.parse(tc.in); err == nil {
			t.Errorf("%s(1e300…) = %v, want an error", tc.name, v)
		}
	}
	for _, in := range []string{"-3", "-1e6", "-Inf"} {
		if v, err := ParseCount(in); err == nil {
			t.Errorf("ParseCount(%q) = %d, want an error", in, v)
		}
	}
	// Negative zero is zero, not a negative count.
	if v, err := ParseCount(" -0.0"); err != nil || v != 0 {
		t.Errorf("ParseCount(\" -0.0\") = %d, %v; want 0", v, err)
	}
}
