package units

import (
	"errors"
	"math"
	"testing"
)

func near(a, b float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want float64
	}{
		{"8GB", 8e9}, {"8 GB", 8e9}, {"8gb", 8e9}, {"8G", 8e9},
		{"8GiB", 8 * (1 << 30)}, {"8Gi", 8 * (1 << 30)},
		{"512MB", 512e6}, {"512MiB", 512 * (1 << 20)},
		{"10KB", 10000}, {"10kB", 10000}, {"10KiB", 10240},
		{"100B", 100}, {"100", 100}, {"0.5GB", 5e8}, {"1,000B", 1000},
		{"2TB", 2e12}, {"1TiB", 1 << 40},
	}
	for _, c := range cases {
		got, err := ParseSize(c.in)
		if err != nil || !near(got, c.want) {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestParseRate(t *testing.T) {
	cases := []struct {
		in   string
		want float64
	}{
		{"10/s", 10}, {"0.5/s", 0.5}, {"600/min", 10}, {"1/h", 1.0 / 3600}, {"10", 10},
		{"10 msg/s", 10}, {"30/m", 0.5}, {"10/sec", 10}, {"24/day", 24.0 / 86400}, {"1,200/min", 20},
	}
	for _, c := range cases {
		got, err := ParseRate(c.in)
		if err != nil || !near(got, c.want) {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestParseBitrate(t *testing.T) {
	cases := []struct {
		in   string
		want float64 // bits/s
	}{
		{"1Gbps", 1e9}, {"100Mbit/s", 1e8}, {"10Gb/s", 1e10}, {"2.5Gbit/s", 2.5e9},
		{"100MB/s", 8e8}, {"1 Gbps", 1e9}, {"500kbps", 5e5}, {"1bps", 1},
	}
	for _, c := range cases {
		got, err := ParseBitrate(c.in)
		if err != nil || !near(got, c.want) {
			t.Errorf("ParseBitrate(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestParseCount(t *testing.T) {
	cases := []struct {
		in   string
		want int64
	}{{"1000", 1000}, {"1,000,000", 1000000}, {"1e6", 1000000}, {"10k", 10000}, {"2M", 2000000}}
	for _, c := range cases {
		got, err := ParseCount(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseCount(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestParseBadInput(t *testing.T) {
	cases := []struct {
		name  string
		parse func(string) error
		in    string
		want  string
	}{
		{"size", sizeErr, "8XB", `"8XB": want a size like 8GB, 8GiB or 512MB`},
		{"size", sizeErr, "GB", `"GB": want a size like 8GB, 8GiB or 512MB`},
		{"size", sizeErr, "", `"": want a size like 8GB, 8GiB or 512MB`},
		{"size", sizeErr, "8GBps", `"8GBps": want a size like 8GB, 8GiB or 512MB`},
		{"size", sizeErr, "-1GB", `"-1GB": want a size like 8GB, 8GiB or 512MB`},
		{"size", sizeErr, "1.2.3GB", `"1.2.3GB": want a size like 8GB, 8GiB or 512MB`},
		{"rate", rateErr, "10/fortnight", `"10/fortnight": want a rate like 10/s, 600/min, 1/h or 0.5/s`},
		{"rate", rateErr, "fast", `"fast": want a rate like 10/s, 600/min, 1/h or 0.5/s`},
		{"rate", rateErr, "10KB/s", `"10KB/s": want a rate like 10/s, 600/min, 1/h or 0.5/s`},
		{"rate", rateErr, "10s", `"10s": want a rate like 10/s, 600/min, 1/h or 0.5/s`},
		{"bitrate", bitErr, "1G", `"1G": want a bit rate like 1Gbps, 100Mbit/s or 10Gb/s`},
		{"bitrate", bitErr, "100", `"100": want a bit rate like 1Gbps, 100Mbit/s or 10Gb/s`},
		{"bitrate", bitErr, "1Xbps", `"1Xbps": want a bit rate like 1Gbps, 100Mbit/s or 10Gb/s`},
		{"count", countErr, "1.5", `"1.5": want a whole number like 1000 or 1,000,000`},
		{"count", countErr, "many", `"many": want a whole number like 1000 or 1,000,000`},
	}
	for _, c := range cases {
		err := c.parse(c.in)
		var ue *UnitError
		if !errors.As(err, &ue) {
			t.Errorf("%s %q: err = %v, want a UnitError", c.name, c.in, err)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("%s %q: %q, want %q", c.name, c.in, err.Error(), c.want)
		}
	}
}

func sizeErr(s string) error  { _, err := ParseSize(s); return err }
func rateErr(s string) error  { _, err := ParseRate(s); return err }
func bitErr(s string) error   { _, err := ParseBitrate(s); return err }
func countErr(s string) error { _, err := ParseCount(s); return err }

func TestFormat(t *testing.T) {
	cases := []struct{ got, want string }{
		{FormatCount(800000), "800,000"}, {FormatCount(365.2), "365"}, {FormatCount(-1234), "-1,234"},
		{FormatSig(10000, 6), "10,000"}, {FormatSig(10000000, 6), "10,000,000"}, {FormatSig(2.46e-3, 2), "0.0025"},
		{FormatSig(1234.5, 5), "1,234.5"}, {FormatSig(0.333333, 3), "0.333"},
		{FormatBytes(1e6), "1 MB"}, {FormatBytes(1.5e9), "1.5 GB"}, {FormatBytes(146), "146 B"}, {FormatBytes(10000), "10 KB"},
		{FormatBits(12e9), "12 Gbit/s"}, {FormatRate(10), "10/s"}, {FormatRate(0.5), "0.5/s"},
		{FormatRate(1.0 / 60), "1/min"}, {FormatRate(1.0 / 3600), "1/h"}, {FormatRate(7.0 / 60), "7/min"},
		{FormatRate(0.25), "0.25/s"}, {FormatRate(1.0 / 7), "0.143/s"}, {FormatTimes(1000), "1,000×"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("case %d: %q, want %q", i, c.got, c.want)
		}
	}
}
