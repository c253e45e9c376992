//go:build race

package server_test

// raceEnabled: the race detector slows every memory access several times
// and keeps shadow memory it never returns, so tests loosen latency bounds
// (raceSlowdown) and skip RSS bounds under it.
const raceEnabled = true

const raceSlowdown = 10
