package results

import (
	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry used everywhere in chatbench: values in µs from 1 µs
// to 60 s with 3 significant digits (larger values count as 60 s).
const (
	HistLowest  = 1
	HistHighest = 60_000_000
	HistSigFigs = 3
)

// NewHist returns an empty HdrHistogram with chatbench's geometry.
func NewHist() *hdr.Histogram { return hdr.New(HistLowest, HistHighest, HistSigFigs) }

// HistCountsLen is the length of the counts array of NewHist's layout.
var HistCountsLen = len(NewHist().Export().Counts)

// HistFromCounts builds a histogram from a counts array of NewHist's layout.
func HistFromCounts(counts []int64) *hdr.Histogram {
	return hdr.Import(&hdr.Snapshot{
		LowestTrackableValue:  HistLowest,
		HighestTrackableValue: HistHighest,
		SignificantFigures:    HistSigFigs,
		Counts:                counts,
	})
}

// Percentiles are latency percentiles in milliseconds, of Count samples.
// With Count 0 nothing was timed and the percentiles mean nothing.
type Percentiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// PercentilesOf reads the percentiles of h (values in µs).
func PercentilesOf(h *hdr.Histogram) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Percentiles{Count: h.TotalCount(),
		P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P99: ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()),
	}
}
