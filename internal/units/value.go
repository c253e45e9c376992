package units

import (
	"fmt"
	"math"
	"strconv"
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

func (r *Rate) String() string { return rateText(float64(*r)) }

// rateText writes a rate as FormatRate does when that text parses back to
// the same rate, else with every digit (12345/s, not 12,300/s): flag text
// is handed on (a workload's rate to swarm's flags) and must not round.
func rateText(perS float64) string {
	s := FormatRate(perS)
	if v, err := ParseRate(s); err == nil && v == perS {
		return s
	}
	return strconv.FormatFloat(perS, 'f', -1, 64) + "/s"
}

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
		out[i] = rateText(v)
	}
	return out
}

func (r *Rates) String() string {
	return strings.Join(r.GetSlice(), ",")
}

// Type names the value in --help.
func (r *Rates) Type() string { return "rate" }

// Size is a flag value holding bytes, parsed by ParseSize. It keeps the
// text as typed: 8GiB and 8GB are different sizes, and a report that
// repeats the user's number should repeat their unit.
type Size struct {
	Bytes float64
	text  string
}

// Set parses s.
func (z *Size) Set(s string) error {
	v, err := ParseSize(s)
	if err != nil {
		return err
	}
	*z = Size{Bytes: v, text: strings.TrimSpace(s)}
	return nil
}

// String is the size as typed, or for a default, a whole number of the
// largest unit that divides it (16MiB, 8GB, 100B): text that parses back
// to the same size.
func (z *Size) String() string {
	if z.text != "" {
		return z.text
	}
	v := z.Bytes
	for _, u := range []struct {
		name string
		b    float64
	}{{"GiB", 1 << 30}, {"GB", 1e9}, {"MiB", 1 << 20}, {"MB", 1e6}, {"KiB", 1 << 10}, {"KB", 1e3}} {
		if v >= u.b && math.Mod(v, u.b) == 0 {
			return strconv.FormatFloat(v/u.b, 'f', -1, 64) + u.name
		}
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + "B"
}

// Type names the value in --help.
func (z *Size) Type() string { return "size" }

// Count is a flag value holding a whole number of things, parsed by
// ParseCount (1000, 1,000,000, 10k, 1e6). An empty value is 0, "not
// given", so a script may pass --room-size "$ROOM" with ROOM unset.
type Count int64

// Set parses s.
func (n *Count) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		*n = 0
		return nil
	}
	v, err := ParseCount(s)
	if err != nil {
		return err
	}
	*n = Count(v)
	return nil
}

func (n *Count) String() string { return strconv.FormatInt(int64(*n), 10) }

// Type names the value in --help.
func (n *Count) Type() string { return "count" }

// WantCores is what a Cores flag expects.
const WantCores = "a number of cores like 4 or 0.5"

// Cores is a flag value holding a number of CPU cores (4, 0.5). Whether
// the number is usable (above 0) is the command's to say.
type Cores float64

// Set parses s.
func (c *Cores) Set(s string) error {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return &UnitError{s, WantCores}
	}
	*c = Cores(v)
	return nil
}

func (c *Cores) String() string { return strconv.FormatFloat(float64(*c), 'g', -1, 64) }

// Type names the value in --help.
func (c *Cores) Type() string { return "cores" }

// Bitrate is a flag value holding bits per second, parsed by
// ParseBitrate (1Gbps, 100Mbit/s, 100MB/s); 0 when not given (an empty
// value, which String writes for 0).
type Bitrate float64

// Set parses s.
func (b *Bitrate) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		*b = 0
		return nil
	}
	v, err := ParseBitrate(s)
	if err != nil {
		return err
	}
	*b = Bitrate(v)
	return nil
}

func (b *Bitrate) String() string {
	if *b == 0 {
		return ""
	}
	// Every digit kept (FormatBits rounds to three), and a prefix only
	// when the text parses back to the same rate.
	v := float64(*b)
	for _, p := range []struct {
		name string
		v    float64
	}{{"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"k", 1e3}} {
		if s := strconv.FormatFloat(v/p.v, 'f', -1, 64) + p.name + "bps"; v >= p.v {
			if back, err := ParseBitrate(s); err == nil && back == v {
				return s
			}
		}
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + "bps"
}

// Type names the value in --help.
func (b *Bitrate) Type() string { return "bitrate" }

// Share is a flag value holding a share from 0 to 1, parsed by ParseShare
// (0.1% or 0.001).
type Share float64

// Set parses s.
func (h *Share) Set(s string) error {
	v, err := ParseShare(s)
	if err != nil {
		return err
	}
	*h = Share(v)
	return nil
}

func (h *Share) String() string { return FormatShare(float64(*h)) }

// Type names the value in --help.
func (h *Share) Type() string { return "share" }

// WantSharePerS is what a SharePerS flag expects.
const WantSharePerS = "a share per second like 1%/s or 0.01"

// SharePerS is a flag value holding a share per second: 1%/s, or 1% (the
// "/s" may be left out).
type SharePerS float64

// Set parses s.
func (h *SharePerS) Set(s string) error {
	v, err := ParseShare(strings.TrimSuffix(strings.TrimSpace(s), "/s"))
	if err != nil {
		return &UnitError{s, WantSharePerS}
	}
	*h = SharePerS(v)
	return nil
}

func (h *SharePerS) String() string { return FormatShare(float64(*h)) + "/s" }

// Type names the value in --help.
func (h *SharePerS) Type() string { return "share/s" }

// CountOrShare is a flag value holding a count of a whole (500) or a share
// of it (10%): which one was given is kept, since a count stays fixed as
// the whole grows and a share keeps its proportion.
type CountOrShare struct {
	Count   int64
	Share   float64
	IsShare bool
}

// WantCountOrShare is what a CountOrShare flag expects.
const WantCountOrShare = "a count like 500 or a share like 10%"

// Set parses s.
func (c *CountOrShare) Set(s string) error {
	if strings.HasSuffix(strings.TrimSpace(s), "%") {
		v, err := ParseShare(s)
		if err != nil {
			return &UnitError{s, WantCountOrShare}
		}
		*c = CountOrShare{Share: v, IsShare: true}
		return nil
	}
	n, err := ParseCount(s)
	if err != nil {
		return &UnitError{s, WantCountOrShare}
	}
	*c = CountOrShare{Count: n}
	return nil
}

func (c *CountOrShare) String() string {
	if c.IsShare {
		return FormatShare(c.Share)
	}
	return strconv.FormatInt(c.Count, 10)
}

// Type names the value in --help.
func (c *CountOrShare) Type() string { return "count|share" }

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
