package loadgen

import (
	"sort"
	"sync"
)

// memberLog records when this process's clients joined and left each room,
// on the run clock: expected receivers of a probe are the members when it
// was due, which the log answers for any due time. Join times are taken
// under the log's lock, so each room's events are in time order, and a
// receiver's joinedAt is its join event's time: a copy counts as a
// delivery exactly when the receiver was counted as expected.
type memberLog struct {
	mu sync.Mutex
	at [][]int64 // per room: event times, ascending
	n  [][]int32 // per room: members after each event
	// client[c] is when client c joined and left, alternately.
	client [][]int64
}

func newMemberLog(rooms, clients int) *memberLog {
	return &memberLog{at: make([][]int64, rooms), n: make([][]int32, rooms), client: make([][]int64, clients)}
}

// change records that client c joined (delta 1) or left (-1) room at the
// run clock's now and returns that time.
func (m *memberLog) change(c, room int, delta int32, now func() int64) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	at := now()
	m.client[c] = append(m.client[c], at)
	var n int32
	if k := len(m.n[room]); k > 0 {
		n = m.n[room][k-1]
	}
	m.at[room] = append(m.at[room], at)
	m.n[room] = append(m.n[room], n+delta)
	return at
}

// memberAt reports whether client c was a member of its room at due.
func (m *memberLog) memberAt(c int, due int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	ev := m.client[c]
	i := sort.Search(len(ev), func(i int) bool { return ev[i] > due })
	return i%2 == 1 // after a join, before its leave
}

// members returns how many of this process's clients were in room at due.
func (m *memberLog) members(room int, due int64) int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	at := m.at[room]
	i := sort.Search(len(at), func(i int) bool { return at[i] > due })
	if i == 0 {
		return 0
	}
	return m.n[room][i-1]
}
