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
}

func newMemberLog(rooms int) *memberLog {
	return &memberLog{at: make([][]int64, rooms), n: make([][]int32, rooms)}
}

// change records delta members of room at the run clock's now and returns
// that time.
func (m *memberLog) change(room int, delta int32, now func() int64) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	at := now()
	var n int32
	if k := len(m.n[room]); k > 0 {
		n = m.n[room][k-1]
	}
	m.at[room] = append(m.at[room], at)
	m.n[room] = append(m.n[room], n+delta)
	return at
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
