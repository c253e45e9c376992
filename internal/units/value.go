package units

import (
	"fmt"
	"math"
	"strings"
)

// The flag values below are pflag.Value types (Set, String, Type), so a
// command's options hold typed values and a bad one is refused while the
// command line is parsed, with the parser's one-line UnitError.

// Rate is a flag value holding events per second, parsed by ParseRate.
type Rate float64

// Set parses s.
func (r *Rate) Set(s string) error {
	v, err := ParseRate(s)
	if err != nil {
		return err
	}
	*r = Rate(v)
	return nil
}

func (r *Rate) String() string { return FormatRate(float64(*r)) }

// Type names the value in --help.
func (r *Rate) Type() string { return "rate" }

// Rates is a repeatable rate flag: the first Set replaces the default,
// each further one adds a rate.
type Rates struct {
	PerS []float64
	set  bool
}

// Set parses s and adds it.
func (r *Rates) Set(s string) error {
	v, err := ParseRate(s)
	if err != nil {
		return err
	}
	if !r.set {
		r.PerS, r.set = nil, true
	}
	r.PerS = append(r.PerS, v)
	return nil
}

// Replace sets the rates to vals (pflag.SliceValue): a flag that wins
// over an earlier Set (a command line over a workload file) replaces it
// rather than adding to it.
func (r *Rates) Replace(vals []string) error {
	next := Rates{}
	for _, v := range vals {
		if err := next.Set(v); err != nil {
			return err
		}
	}
	*r = next
	return nil
}

// Append adds one rate (pflag.SliceValue).
func (r *Rates) Append(s string) error { return r.Set(s) }

// GetSlice is the rates as flag text (pflag.SliceValue).
func (r *Rates) GetSlice() []string {
	out := make([]string, len(r.PerS))
	for i, v := range r.PerS {
		out[i] = FormatRate(v)
	}
	return out
}

func (r *Rates) String() string {
	return strings.Join(r.GetSlice(), ",")
}

// Type names the value in --help.
func (r *Rates) Type() string { return "rate" }

// Size is a flag value holding bytes, parsed by ParseSize.
type Size float64

// Set parses s.
func (z *Size) Set(s string) error {
	v, err := ParseSize(s)
	if err != nil {
		return err
	}
	*z = Size(v)
	return nil
}

// String writes a whole number of KiB, MiB or GiB as such (16MiB), as
// such a size is typed, else as FormatBytes does.
func (z *Size) String() string {
	v := float64(*z)
	for _, u := range []struct {
		name string
		b    float64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if v >= u.b && math.Mod(v, u.b) == 0 {
			return fmt.Sprintf("%g%s", v/u.b, u.name)
		}
	}
	return FormatBytes(v)
}

// Type names the value in --help.
func (z *Size) Type() string { return "size" }

// SizeShare is one entry of a weighted list of sizes: Share of the
// messages are Bytes long.
type SizeShare struct {
	Bytes int
	Share float64
}

// WantSizes is what a Sizes flag expects.
const WantSizes = "a size from 1B to 16MiB, e.g. 100B or 1KB, or a weighted list 100B:90%,1KB:10%"

// maxMessage is the largest message size a Sizes flag takes (16 MiB).
const maxMessage = 1 << 24

// Sizes is a flag value holding a message size or a weighted list of
// them ("100B", "100B:90%,1KB:10%"); Bytes is the size (the list's first).
type Sizes struct {
	Bytes int
	List  []SizeShare // nil for one size
	text  string
}

// Set parses s.
func (z *Sizes) Set(s string) error {
	bad := &UnitError{s, WantSizes}
	if !strings.Contains(s, ":") {
		v, err := ParseSize(s)
		if err != nil || v < 1 || v > maxMessage {
			return bad
		}
		*z = Sizes{Bytes: int(v), text: s}
		return nil
	}
	var list []SizeShare
	for _, part := range strings.Split(s, ",") {
		a, b, _ := strings.Cut(part, ":")
		size, err1 := ParseSize(strings.TrimSpace(a))
		share, err2 := ParseShare(strings.TrimSpace(b))
		if err1 != nil || err2 != nil || size < 1 || size > maxMessage || share <= 0 {
			return bad
		}
		list = append(list, SizeShare{Bytes: int(size), Share: share})
	}
	*z = Sizes{Bytes: list[0].Bytes, List: list, text: s}
	return nil
}

func (z *Sizes) String() string {
	if z.text != "" {
		return z.text
	}
	return fmt.Sprintf("%dB", z.Bytes)
}

// Type names the value in --help.
func (z *Sizes) Type() string { return "size" }
