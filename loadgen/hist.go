package loadgen

import (
	"math/bits"
	"sync/atomic"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/chatbench/chatbench/loadgen/results"
)

// These match hdrhistogram-go's geometry for results.NewHist (1 µs..60 s, 3
// significant digits): unit magnitude 0, sub-bucket count 2048 (half 1024,
// half magnitude 10). TestAtomicHistMatchesHdr checks the equivalence value
// by value.
const (
	histLowest                  = results.HistLowest
	histHighest                 = results.HistHighest
	subBucketHalfCountMagnitude = 10
	subBucketHalfCount          = 1 << subBucketHalfCountMagnitude
	subBucketMask               = 2*subBucketHalfCount - 1
)

var histCountsLen = results.HistCountsLen

// atomicHist is a histogram with hdrhistogram-go's counts layout whose Record
// is one atomic add: many goroutines record without a lock, and mergeAtomic
// turns several into an hdr.Histogram for merging, percentiles and encoding.
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

// addTo adds the counts into dst (len histCountsLen).
func (h *atomicHist) addTo(dst []int64) {
	for i := range h.counts {
		if c := atomic.LoadInt64(&h.counts[i]); c != 0 {
			dst[i] += c
		}
	}
}

// mergeAtomic sums several atomic histograms into one hdr.Histogram.
func mergeAtomic(hs ...*atomicHist) *hdr.Histogram {
	counts := make([]int64, histCountsLen)
	for _, h := range hs {
		h.addTo(counts)
	}
	return results.HistFromCounts(counts)
}
