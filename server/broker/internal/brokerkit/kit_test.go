package brokerkit

import (
	"strings"
	"testing"
	"time"
)

func TestBackoffBounded(t *testing.T) {
	min, max := 100*time.Millisecond, 5*time.Second
	for n := range 100 {
		d := Backoff(n, min, max)
		if d < min*3/4 || d > max*5/4 {
			t.Fatalf("Backoff(%d) = %v, outside [%v, %v]", n, d, min*3/4, max*5/4)
		}
	}
	if d := Backoff(0, min, max); d > min*5/4 {
		t.Errorf("first backoff %v, want about %v", d, min)
	}
	if d := Backoff(50, min, max); d < max*3/4 {
		t.Errorf("late backoff %v, want about %v", d, max)
	}
}

func TestRedact(t *testing.T) {
	got := Redact("amqp://guest:secret@127.0.0.1:5672/")
	if strings.Contains(got, "secret") || !strings.Contains(got, "127.0.0.1:5672") {
		t.Errorf("Redact = %q", got)
	}
	if got := Redact("redis://127.0.0.1:6379/0"); got != "redis://127.0.0.1:6379/0" {
		t.Errorf("Redact changed a URL without password: %q", got)
	}
}

func TestRoomsLastCallWins(t *testing.T) {
	r := NewRooms()
	r.Add("a")
	r.Add("b")
	r.Remove("a")
	r.Add("c")
	r.Remove("c")
	r.Add("c")
	select {
	case <-r.Changed():
	default:
		t.Fatal("no change signalled")
	}
	got := r.Snapshot()
	_, hasB := got["b"]
	_, hasC := got["c"]
	if len(got) != 2 || !hasB || !hasC {
		t.Errorf("Snapshot = %v, want b and c", got)
	}
	if _, ok := got["a"]; ok {
		t.Error("a still wanted after Remove")
	}
}

func TestDownTimeCountsOutagesOnly(t *testing.T) {
	m := NewMetrics("test")
	if d := m.DownTime(); d != 0 {
		t.Fatalf("down time %v before any outage", d)
	}
	m.SetUp()
	m.SetDown(time.Time{})
	time.Sleep(20 * time.Millisecond) // the outage being measured
	m.SetUp()
	d := m.DownTime()
	if d < 20*time.Millisecond {
		t.Fatalf("down time %v after a 20ms outage", d)
	}
	time.Sleep(10 * time.Millisecond) // up: must not count
	if d2 := m.DownTime(); d2 != d {
		t.Fatalf("down time grew from %v to %v while up", d, d2)
	}
}

// TestDownTimeFromSince: an outage counts from the time it is said to have
// begun (a failed health check's start), not from when it was noticed; a
// second SetDown during the outage does not move its start.
func TestDownTimeFromSince(t *testing.T) {
	m := NewMetrics("test")
	m.SetUp()
	m.SetDown(time.Now().Add(-time.Hour))
	m.SetDown(time.Time{})
	if d := m.DownTime(); d < time.Hour || d > time.Hour+time.Minute {
		t.Fatalf("down time %v, want about 1h", d)
	}
	m.Stop()
	d := m.DownTime()
	if m.Snapshot().Up {
		t.Fatal("up after Stop")
	}
	time.Sleep(10 * time.Millisecond) // stopped: must not count
	if d2 := m.DownTime(); d2 != d {
		t.Fatalf("down time grew from %v to %v after Stop", d, d2)
	}
}
