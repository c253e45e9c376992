package loadgen

import "testing"

// histValueAt inverts histIndex: every index's lowest and highest value map
// back to it, and the ranges tile 1 µs..60 s without gaps.
func TestHistValueAtInvertsHistIndex(t *testing.T) {
	next := int64(1)
	for i := 1; i < histCountsLen; i++ {
		lo, w := histValueAt(i)
		if lo > histHighest {
			break
		}
		if lo != next {
			t.Fatalf("index %d starts at %d µs, want %d (a gap or overlap)", i, lo, next)
		}
		if histIndex(lo) != i || histIndex(lo+w-1) != i {
			t.Fatalf("index %d: values %d..%d map to %d..%d", i, lo, lo+w-1, histIndex(lo), histIndex(lo+w-1))
		}
		next = lo + w
	}
	if next <= histHighest {
		t.Fatalf("ranges end at %d µs, below %d", next, histHighest)
	}
}
