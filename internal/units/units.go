package units

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// What each parser expects, used in the one-line error for a bad value.
const (
	WantSize    = "a size like 8GB, 8GiB or 512MB"
	WantRate    = "a rate like 10/s, 600/min, 1/h or 0.5/s"
	WantBitrate = "a bit rate like 1Gbps, 100Mbit/s or 10Gb/s"
	WantCount   = "a whole number like 1000 or 1,000,000"
	WantShare   = "a share from 0% to 100%, like 0.1% or 0.001"
)

// UnitError is returned by the parsers for a value that does not parse. Its
// message is the one line a person needs: the value and what was expected.
type UnitError struct {
	Value string
	Want  string
}

func (e *UnitError) Error() string { return fmt.Sprintf("%q: want %s", e.Value, e.Want) }

// sizeUnits maps a lower-cased size suffix to its multiplier in bytes. Decimal
// (SI) prefixes are powers of 1000, binary (IEC) ones powers of 1024; see the
// package documentation for why.
var sizeUnits = map[string]float64{
	"": 1, "b": 1, "byte": 1, "bytes": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
	"ki": 1 << 10, "kib": 1 << 10, "mi": 1 << 20, "mib": 1 << 20,
	"gi": 1 << 30, "gib": 1 << 30, "ti": 1 << 40, "tib": 1 << 40,
}

// splitNumber splits "8.5GiB" into 8.5 and "GiB". Spaces between number and
// unit are allowed; thousands separators (1,000) are accepted.
func splitNumber(s string) (float64, string, bool) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == ',' || (i == 0 && s[i] == '+')) {
		i++
	}
	num := strings.ReplaceAll(s[:i], ",", "")
	if num == "" || num == "+" {
		return 0, "", false
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, "", false
	}
	return v, strings.TrimSpace(s[i:]), true
}

// ParseSize parses a size in bytes: 100B, 10KB, 512MB, 8GB (decimal), 8GiB,
// 512MiB (binary), a bare number is bytes. Case does not matter in a size
// ("8gb" is 8 GB): a size is always bytes, never bits.
func ParseSize(s string) (float64, error) {
	v, unit, ok := splitNumber(s)
	if !ok {
		return 0, &UnitError{s, WantSize}
	}
	m, known := sizeUnits[strings.ToLower(unit)]
	if !known || math.IsInf(v*m, 0) {
		return 0, &UnitError{s, WantSize}
	}
	return v * m, nil
}

// ParseRate parses an event rate and returns events per second: 10/s,
// 600/min, 1/h, 0.5/s, "10 msg/s"; a bare number is per second.
func ParseRate(s string) (float64, error) {
	v, rest, ok := splitNumber(s)
	if !ok {
		return 0, &UnitError{s, WantRate}
	}
	per := rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		word := strings.ToLower(strings.TrimSpace(rest[:i]))
		switch word {
		case "", "msg", "msgs", "message", "messages":
		default:
			return 0, &UnitError{s, WantRate}
		}
		per = strings.TrimSpace(rest[i+1:])
	} else if rest != "" {
		return 0, &UnitError{s, WantRate}
	}
	var secs float64
	switch strings.ToLower(per) {
	case "", "s", "sec", "second":
		secs = 1
	case "min", "minute", "m":
		secs = 60
	case "h", "hr", "hour":
		secs = 3600
	case "d", "day":
		secs = 86400
	default:
		return 0, &UnitError{s, WantRate}
	}
	return v / secs, nil
}

// bitPrefixes are decimal multipliers for bit rates.
var bitPrefixes = map[string]float64{"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}

// ParseBitrate parses a network rate and returns bits per second: 1Gbps,
// 100Mbit/s, 10Gb/s, 2.5Gbit/s; with a capital B it is bytes per second
// (100MB/s = 800 Mbit/s). A bare number is rejected: bits or bytes must be
// said.
func ParseBitrate(s string) (float64, error) {
	bad := &UnitError{s, WantBitrate}
	v, rest, ok := splitNumber(s)
	if !ok || rest == "" {
		return 0, bad
	}
	prefix := ""
	if p := unicode.ToLower(rune(rest[0])); strings.ContainsRune("kmgt", p) && len(rest) > 1 {
		prefix = string(p)
		rest = rest[1:]
	}
	var mult float64
	switch rest {
	case "bps", "bit/s", "bits/s", "b/s", "bit/sec", "b/sec":
		mult = 1
	case "Bps", "B/s", "byte/s", "bytes/s", "B/sec":
		mult = 8
	default:
		return 0, bad
	}
	if r := v * bitPrefixes[prefix] * mult; !math.IsInf(r, 0) {
		return r, nil
	}
	return 0, bad
}

// ParseCount parses a whole number of things: 1000, 1,000,000, 1e6, 10k.
func ParseCount(s string) (int64, error) {
	v, unit, ok := splitNumber(s)
	bad := &UnitError{s, WantCount}
	if !ok {
		// "1e6"
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return 0, bad
		}
		v, unit = f, ""
	}
	switch strings.ToLower(unit) {
	case "":
	case "k":
		v *= 1e3
	case "m":
		v *= 1e6
	default:
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			v = f
			break
		}
		return 0, bad
	}
	if v != math.Trunc(v) || v > math.MaxInt64/2 || v < 0 {
		return 0, bad
	}
	return int64(v), nil
}

// ParseShare parses a share: a percentage ("0.1%") or a ratio ("0.001"),
// from 0 to 1.
func ParseShare(s string) (float64, error) {
	t := strings.TrimSpace(s)
	scale := 1.0
	if p, ok := strings.CutSuffix(t, "%"); ok {
		t, scale = strings.TrimSpace(p), 100
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || v < 0 || v/scale > 1 {
		return 0, &UnitError{Value: s, Want: WantShare}
	}
	return v / scale, nil
}
