//go:build race

package loadgen_test

// raceEnabled: the race detector slows every memory access several times;
// latency bounds are checked strictly only without it (make test runs
// these tests again without -race).
const raceEnabled = true
