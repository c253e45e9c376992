package loadgen

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"time"
)

// A run may hold only part of the load: a shard (--shard i/K: whole rooms,
// for one of K machines) and, within it, a worker's part (--procs: every
// K-th client). Clients keep their global numbers, so client i is in room
// i%Rooms and uses URLs[i%len(URLs)] wherever it runs, and the parts merge
// to the totals of one run.

func (c *Config) checkShard() error {
	switch {
	case c.ShardCount == 0 && c.ShardIndex == 0:
		return nil
	case c.ShardCount < 1 || c.ShardIndex < 0 || c.ShardIndex >= c.ShardCount:
		return fmt.Errorf("shard %d/%d: want i/K with 0 ≤ i < K", c.ShardIndex, c.ShardCount)
	case c.Rooms < c.ShardCount:
		return fmt.Errorf("shard %d/%d: %d room(s) cannot be split over %d machines (each shard holds whole rooms); use --rooms %d or more, or a smaller --room-size",
			c.ShardIndex, c.ShardCount, c.Rooms, c.ShardCount, c.ShardCount)
	}
	return nil
}

func (c *Config) shardName() string {
	if c.ShardCount <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", c.ShardIndex, c.ShardCount)
}

// ShardClients returns the global client numbers of shard i of k (the
// clients of rooms r with r%k == i) in a run of n clients in rooms rooms.
func ShardClients(n, rooms, i, k int) []int {
	ids := make([]int, 0, n/max(k, 1)+1)
	for c := 0; c < n; c++ {
		if k <= 1 || (c%rooms)%k == i {
			ids = append(ids, c)
		}
	}
	return ids
}

// partIDs returns the clients this process runs and, when that is not all
// of them, which clients it owns. Workers take every procCount-th client of
// their shard.
func (c *Config) partIDs() ([]int, []bool) {
	ids := ShardClients(c.Clients, c.Rooms, c.ShardIndex, c.ShardCount)
	if c.procCount > 1 {
		j := 0
		for k, id := range ids {
			if k%c.procCount == c.procIndex {
				ids[j] = id
				j++
			}
		}
		ids = ids[:j]
	}
	if len(ids) == c.Clients {
		return ids, nil
	}
	owned := make([]bool, c.Clients)
	for _, id := range ids {
		owned[id] = true
	}
	return ids, owned
}

// localRooms says which rooms have a member in this process.
func (r *run) localRooms() []bool {
	local := make([]bool, r.cfg.Rooms)
	for _, id := range r.ids {
		local[id%r.cfg.Rooms] = true
	}
	return local
}

// localSenders is the number of senders this process runs.
func (r *run) localSenders() int {
	n := 0
	for _, id := range r.ids {
		if id < r.cfg.Senders {
			n++
		}
	}
	return n
}

// perSenderProbes is the most probes one sender sends in warmup + steady.
func perSenderProbes(cfg Config) int {
	return int(math.Ceil(cfg.Rate*(cfg.Warmup+cfg.Duration).Seconds())) + 1
}

// dueAt is the due time of sender id's probe seq (schedule.go's formula).
func dueAt(cfg Config, sendStart int64, id int, seq int64) int64 {
	interval := float64(time.Second) / cfg.Rate
	phase := int64(float64(id) * interval / float64(cfg.Senders))
	return sendStart + phase + int64(float64(seq)*interval)
}

// originBase returns the monotonic instant at the wall-clock instant origin
// (Unix ns), or now when origin is 0. Workers of one swarm count their due
// times from the same origin, so due times and phases agree between them.
func originBase(origin int64) time.Time {
	now := time.Now()
	if origin == 0 {
		return now
	}
	return now.Add(time.Duration(origin - now.UnixNano()))
}

// memberLog records when members joined and left rooms, for a worker: it
// must say how many of a room's members it held when a probe sent by
// another process was due.
type memberLog struct {
	mu     sync.Mutex
	events []memberEvent

	graceOnce sync.Once
	graceExp  int64
}

type memberEvent struct {
	at    int64
	room  int32
	delta int32
}

func (m *memberLog) add(r *run, room, delta int) {
	if r.cfg.coord == nil {
		return
	}
	at := r.t.now()
	m.mu.Lock()
	m.events = append(m.events, memberEvent{at, int32(room), int32(delta)})
	m.mu.Unlock()
}

// membersAt returns f(room, due) giving the members of room at due time.
func (m *memberLog) membersAt() func(room int, due int64) int32 {
	m.mu.Lock()
	ev := append([]memberEvent(nil), m.events...)
	m.mu.Unlock()
	sort.SliceStable(ev, func(i, j int) bool { return ev[i].at < ev[j].at })
	// Per room: event times and the member count after each event.
	type roomLog struct {
		at []int64
		n  []int32
	}
	byRoom := map[int32]*roomLog{}
	for _, e := range ev {
		tl := byRoom[e.room]
		if tl == nil {
			tl = &roomLog{}
			byRoom[e.room] = tl
		}
		var n int32
		if len(tl.n) > 0 {
			n = tl.n[len(tl.n)-1]
		}
		tl.at = append(tl.at, e.at)
		tl.n = append(tl.n, n+e.delta)
	}
	return func(room int, due int64) int32 {
		tl := byRoom[int32(room)]
		if tl == nil {
			return 0
		}
		i := sort.Search(len(tl.at), func(i int) bool { return tl.at[i] > due })
		if i == 0 {
			return 0
		}
		return tl.n[i-1]
	}
}

// procAccount is a worker's part of the loss accounting: for every probe
// of a sender with a room member here, how many of its receivers were here
// when it was due and how many copies arrived here; for the worker's own
// senders, whether it was written. The parent adds these up (procs.go).
type procAccount struct {
	SendStart int64
	PerSender int
	Senders   []int32 // senders with probes here, ascending
	Members   []int32 // [k*PerSender+seq]
	Count     []int32
	Sent      []bool
	// Duplicated is the duplicates the receivers here recognised (order tracking).
	Duplicated int64
	// Received is every probe received here (all phases, any run): what
	// the worker's CPU per received message divides by.
	Received int64
}

func (r *run) account(sendStart int64) *procAccount {
	t := r.t
	a := &procAccount{SendStart: sendStart, PerSender: perSenderProbes(r.cfg), Received: r.allDeliveries()}
	if r.cfg.Rate <= 0 {
		return a
	}
	members := r.members.membersAt()
	for c := 0; c < r.cfg.Senders; c++ {
		recs := t.probes[c]
		if recs == nil {
			continue
		}
		a.Senders = append(a.Senders, int32(c))
		for seq := range recs {
			p := &recs[seq]
			a.Members = append(a.Members, members(c%r.cfg.Rooms, dueAt(r.cfg, sendStart, c, int64(seq))))
			a.Count = append(a.Count, p.count.Load())
			a.Sent = append(a.Sent, p.sent.Load())
		}
	}
	for _, sh := range r.shards {
		a.Duplicated += sh.duplicated.Load()
	}
	return a
}

// graceTarget is the steady-phase deliveries this process waits for in
// the grace period: for a worker, its members of every scheduled steady
// probe's room (probes of other processes included); else what was sent.
func (r *run) graceTarget() int64 {
	if r.cfg.coord == nil {
		return r.steadyExpct.Load()
	}
	r.members.graceOnce.Do(func() {
		t := r.t
		ss, se := t.steadyStart.Load(), t.steadyEnd.Load()
		sendStart := ss - int64(r.cfg.Warmup)
		members := r.members.membersAt()
		for c := 0; c < r.cfg.Senders; c++ {
			for seq := range t.probes[c] {
				due := dueAt(r.cfg, sendStart, c, int64(seq))
				if due < ss || due >= se {
					continue
				}
				n := int64(members(c%r.cfg.Rooms, due))
				if r.cfg.NoEcho && r.owned != nil && r.owned[c] && n > 0 {
					n--
				}
				r.members.graceExp += n
			}
		}
	})
	return r.members.graceExp
}
