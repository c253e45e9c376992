package loadgen

import (
	"math/bits"
	"sync/atomic"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry used everywhere in chatbench: values in µs from 1 µs to
// 60 s with 3 significant digits.
const (
	histLowest  = 1
	histHighest = 60_000_000
	histSigFigs = 3
)

// These match hdrhistogram-go's geometry for (1, 60e6, 3): unit magnitude 0,
// sub-bucket count 2048 (half 1024, half magnitude 10). TestAtomicHistMatchesHdr
// checks the equivalence value by value.
const (
	subBucketHalfCountMagnitude = 10
	subBucketHalfCount          = 1 << subBucketHalfCountMagnitude
	subBucketMask               = 2*subBucketHalfCount - 1
)

var histCountsLen = len(hdr.New(histLowest, histHighest, histSigFigs).Export().Counts)

// NewHist returns an empty hdrhistogram with chatbench's geometry.
func NewHist() *hdr.Histogram { return hdr.New(histLowest, histHighest, histSigFigs) }

// atomicHist is a histogram with hdrhistogram-go's counts layout whose Record
// is one atomic add: many goroutines record without a lock, and Snapshot
// turns it into an hdr.Histogram for merging, percentiles and encoding.
type atomicHist struct {
	counts []int64
}

func newAtomicHist() *atomicHist { return &atomicHist{counts: make([]int64, histCountsLen)} }

func histIndex(v int64) int {
	if v < histLowest {
		v = histLowest
	} else if v > histHighest {
		v = histHighest
	}
	pow2Ceiling := 64 - bits.LeadingZeros64(uint64(v|subBucketMask))
	bucketIdx := pow2Ceiling - (subBucketHalfCountMagnitude + 1)
	subBucketIdx := int(v >> uint(bucketIdx))
	return (bucketIdx+1)<<subBucketHalfCountMagnitude + subBucketIdx - subBucketHalfCount
}

// Record adds one value in µs; values outside 1 µs..60 s are clamped.
func (h *atomicHist) Record(us int64) { atomic.AddInt64(&h.counts[histIndex(us)], 1) }

// load copies the counts into dst (len histCountsLen), adding them.
func (h *atomicHist) addTo(dst []int64) {
	for i := range h.counts {
		if c := atomic.LoadInt64(&h.counts[i]); c != 0 {
			dst[i] += c
		}
	}
}

// histFromCounts builds an hdr.Histogram from a counts array of our layout.
func histFromCounts(counts []int64) *hdr.Histogram {
	return hdr.Import(&hdr.Snapshot{
		LowestTrackableValue:  histLowest,
		HighestTrackableValue: histHighest,
		SignificantFigures:    histSigFigs,
		Counts:                counts,
	})
}

// mergeAtomic sums several atomic histograms into one hdr.Histogram.
func mergeAtomic(hs ...*atomicHist) *hdr.Histogram {
	counts := make([]int64, histCountsLen)
	for _, h := range hs {
		h.addTo(counts)
	}
	return histFromCounts(counts)
}
