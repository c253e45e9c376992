package results

import (
	"fmt"
	"io"
	"math"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// WriteHgrm writes h (values in µs) in HdrHistogram's percentile
// distribution text with values in milliseconds, as wrk2 and HdrHistogram's
// Java tools print it.
func WriteHgrm(w io.Writer, h *hdr.Histogram) error {
	const scale = 1000.0 // µs -> ms
	if _, err := fmt.Fprintf(w, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)"); err != nil {
		return err
	}
	if h.TotalCount() > 0 {
		for _, b := range h.CumulativeDistributionWithTicks(5) {
			q := b.Quantile / 100
			if q >= 1 {
				fmt.Fprintf(w, "%12.3f %1.12f %10d\n", float64(b.ValueAt)/scale, q, b.Count)
				continue
			}
			fmt.Fprintf(w, "%12.3f %1.12f %10d %14.2f\n", float64(b.ValueAt)/scale, q, b.Count, 1/(1-q))
		}
	}
	mean, sd := h.Mean()/scale, h.StdDev()/scale
	if math.IsNaN(mean) {
		mean, sd = 0, 0
	}
	const subBuckets = 2048 // 3 significant digits
	_, err := fmt.Fprintf(w, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n#[Max     = %12.3f, Total count    = %12d]\n#[Buckets = %12d, SubBuckets     = %12d]\n",
		mean, sd, float64(h.Max())/scale, h.TotalCount(), HistCountsLen/(subBuckets/2)-1, subBuckets)
	return err
}
