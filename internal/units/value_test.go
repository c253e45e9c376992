package units

import (
	"errors"
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
	if err := z.Set("16MiB"); err != nil || z != 16<<20 || z.String() != "16MiB" {
		t.Errorf("Size 16MiB: %v %v", err, float64(z))
	}
	var zs Sizes
	if err := zs.Set("100B:90%,1KB:10%"); err != nil || zs.Bytes != 100 || len(zs.List) != 2 || zs.List[1] != (SizeShare{1000, 0.1}) || zs.String() != "100B:90%,1KB:10%" {
		t.Errorf("Sizes list: %v %+v", err, zs)
	}
	if err := zs.Set("4KiB"); err != nil || zs.Bytes != 4096 || zs.List != nil {
		t.Errorf("Sizes 4KiB: %v %+v", err, zs)
	}
	for _, c := range []struct {
		set  func(string) error
		v    string
		want string
	}{
		{r.Set, "fast", WantRate}, {rs.Set, "-1/s", WantRate}, {z.Set, "8XB", WantSize},
		{zs.Set, "0B", WantSizes}, {zs.Set, "32MiB", WantSizes}, {zs.Set, "100B:0%", WantSizes},
	} {
		var ue *UnitError
		if err := c.set(c.v); !errors.As(err, &ue) || ue.Value != c.v || ue.Want != c.want {
			t.Errorf("Set(%q) = %v, want a UnitError wanting %q", c.v, err, c.want)
		}
	}
}
