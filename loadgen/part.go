package loadgen

import (
	"fmt"
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
	case len(c.lay.members) < c.ShardCount:
		return fmt.Errorf("shard %d/%d: %d room(s) cannot be split over %d machines (each shard holds whole rooms); use --rooms %d or more, or a smaller --room-size",
			c.ShardIndex, c.ShardCount, len(c.lay.members), c.ShardCount, c.ShardCount)
	}
	return nil
}

func (c *Config) shardName() string {
	if c.ShardCount <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", c.ShardIndex, c.ShardCount)
}

// shardClients returns the global client numbers of shard i of k: the
// clients of rooms r with r%k == i.
func (l *layout) shardClients(i, k int) []int {
	n := len(l.room)
	ids := make([]int, 0, n/max(k, 1)+1)
	for c := 0; c < n; c++ {
		if k <= 1 || int(l.room[c])%k == i {
			ids = append(ids, c)
		}
	}
	return ids
}

// partIDs returns the clients this process runs and, when that is not all
// of them, which clients it owns. Workers take every procCount-th client of
// their shard.
func (c *Config) partIDs() ([]int, []bool) {
	ids := c.lay.shardClients(c.ShardIndex, c.ShardCount)
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

// PartClients is how many clients a run of cfg opens in this process and
// its workers: its shard's (--shard), or all of them.
func PartClients(cfg Config) int {
	if err := cfg.complete(); err != nil {
		return cfg.Clients
	}
	ids, _ := cfg.partIDs()
	return len(ids)
}
