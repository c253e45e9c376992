//go:build race

package cmd

// raceEnabled: the processes tests start are this test binary, built with
// the race detector, which makes every memory access several times slower.
const raceEnabled = true
