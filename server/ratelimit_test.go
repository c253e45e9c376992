package server

import (
	"testing"
	"time"
)

func TestMsgLimiterAllowsBurstThenRate(t *testing.T) {
	const rate, burst = 100.0, 10
	l := newMsgLimiter(rate, burst)
	now := time.Unix(1000, 0).UnixNano()
	got := 0
	for range 1000 { // 1000 messages at one instant: only the burst passes
		if l.allow(now) {
			got++
		}
	}
	if got != burst {
		t.Fatalf("%d of 1000 simultaneous messages allowed, want the burst %d", got, burst)
	}
	// Then 2 s of messages every 100 µs (10,000/s): rate × 2 s pass.
	got = 0
	for i := range 20_000 {
		if l.allow(now + int64(i+1)*int64(100*time.Microsecond)) {
			got++
		}
	}
	if want := int(rate * 2); got < want-1 || got > want+1 {
		t.Fatalf("%d messages allowed in 2 s of flooding, want %d ± 1", got, want)
	}
	// After a quiet second the burst is back, no more.
	quiet := now + int64(3*time.Second) + int64(time.Second)
	got = 0
	for range 100 {
		if l.allow(quiet) {
			got++
		}
	}
	if got != burst {
		t.Fatalf("%d allowed after a quiet second, want the burst %d", got, burst)
	}
	if !(&msgLimiter{}).allow(now) {
		t.Fatal("the zero limiter (no --max-msg-rate) refused a message")
	}
}

func TestMsgLimiterDoesNotAllocate(t *testing.T) {
	l := newMsgLimiter(1000, 100)
	now := time.Now().UnixNano()
	if n := testing.AllocsPerRun(1000, func() { now += 1000; l.allow(now) }); n != 0 {
		t.Fatalf("allow allocates %v times per message, want 0", n)
	}
}
