package server

import (
	"testing"
	"time"
)

func TestSendMeterCountsTheLastOneToTwoSeconds(t *testing.T) {
	var m sendMeter
	sec := int64(time.Second)
	base := 1000 * sec
	for i := range 30 {
		m.add(base + int64(i)*sec/100) // 30 in the first 0.3 s of second 1000
	}
	for _, tc := range []struct {
		at   int64
		want int64
	}{
		{base + sec/2, 30},    // same second
		{base + sec + 1, 30},  // next second: the previous one still counts
		{base + 2*sec + 1, 0}, // two seconds on: gone
		{base - sec, 0},       // a clock before the meter's window
	} {
		if got := m.recent(tc.at); got != tc.want {
			t.Errorf("recent at +%v = %d, want %d", time.Duration(tc.at-base), got, tc.want)
		}
	}
	m.add(base + sec + 2) // a new second: the first becomes the previous
	m.add(base + sec + 3)
	if got := m.recent(base + sec + 4); got != 32 {
		t.Errorf("recent after rolling into the next second = %d, want 30 + 2", got)
	}
	m.add(base + 5*sec) // a gap: nothing carries over
	if got := m.recent(base + 5*sec); got != 1 {
		t.Errorf("recent after a gap = %d, want 1", got)
	}
}

// room builds members: sent[i] messages in the current second and queue
// lengths q[i].
func floodRoom(now int64, sent, q []int) []*client {
	var members []*client
	for i := range sent {
		c := &client{}
		for range sent[i] {
			c.sent.add(now)
		}
		c.queue = make([][]byte, q[i])
		members = append(members, c)
	}
	return members
}

func TestFindFlooderNeedsATopSenderAndABroadlyCongestedRoom(t *testing.T) {
	const sendQueue = 256
	now := 1000 * int64(time.Second)
	for _, tc := range []struct {
		name string
		sent []int
		q    []int
		want int // index of the flooder, -1: none
	}{
		{"flood reaching everyone", []int{500, 5, 5, 5, 5}, []int{0, 256, 200, 100, 64}, 0},
		{"half the others congested", []int{3, 500, 2, 2, 2}, []int{64, 0, 64, 0, 0}, 1},
		{"busy room, no one sends most of it", []int{200, 150, 150, 150, 150}, []int{0, 256, 256, 256, 256}, -1},
		{"top sender just over half", []int{301, 100, 100, 100}, []int{0, 256, 256, 256}, 0},
		{"top sender exactly half", []int{300, 100, 100, 100}, []int{0, 256, 256, 256}, -1},
		{"one slow consumer, the others keep up", []int{500, 5, 5, 5, 5}, []int{0, 256, 1, 0, 2}, -1},
		{"top sender below half a queue", []int{127, 5, 5}, []int{0, 256, 256}, -1},
		{"top sender at half a queue", []int{128, 5, 5}, []int{0, 256, 256}, 0},
		{"alone", []int{1000}, []int{256}, -1},
		{"nobody sent", []int{0, 0, 0}, []int{256, 256, 256}, -1},
	} {
		members := floodRoom(now, tc.sent, tc.q)
		got := findFlooder(members, now, sendQueue)
		var want *client
		if tc.want >= 0 {
			want = members[tc.want]
		}
		if got != want {
			t.Errorf("%s: found %p, want member %d (%p)", tc.name, got, tc.want, want)
		}
	}
}

// In a large room the congestion check samples about floodSample members,
// not every one.
func TestFindFlooderSamplesALargeRoom(t *testing.T) {
	const n, sendQueue = 10_000, 256
	now := 1000 * int64(time.Second)
	sent, q := make([]int, n), make([]int, n)
	sent[0] = 1000
	for i := 1; i < n; i++ {
		q[i] = sendQueue
	}
	members := floodRoom(now, sent, q)
	if got := findFlooder(members, now, sendQueue); got != members[0] {
		t.Fatalf("the flooder of a congested room of %d was not found", n)
	}
	for i := 1; i < n; i++ {
		members[i].queue = members[i].queue[:0] // nobody congested
	}
	if got := findFlooder(members, now, sendQueue); got != nil {
		t.Fatalf("a flooder found in a room where nobody is congested")
	}
}
