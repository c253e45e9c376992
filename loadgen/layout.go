package loadgen

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// RoomShare is one class of rooms in a weighted room-size distribution:
// rooms of Size members holding Share of the users.
type RoomShare struct {
	Size  int     `json:"size"`
	Share float64 `json:"share"`
}

// Zipf draws room sizes from 1 to Max with P(size k) ∝ k^-S: many small
// rooms, a few large ones, as real chat services have.
type Zipf struct {
	S   float64 `json:"s"`
	Max int     `json:"max"`
}

// layout is which room each client is in and who talks: a function of the
// config alone (and its Seed), so every process of a run computes the same.
type layout struct {
	room    []int32 // client → room
	members []int32 // room → members
	talkers []int32 // room → talkers
	talkIdx []int32 // client → its index among its room's talkers; -1: it does not talk
	talker  []int32 // every talker, ascending; a talker's rank is its index here
	rank    []int32 // client → its rank among every talker; -1: it does not talk
}

// roomSizes returns the size of every room for n clients.
func (c *Config) roomSizes(n int) ([]int, error) {
	switch {
	case len(c.RoomWeights) > 0:
		return weightedRooms(n, c.RoomWeights)
	case c.Zipf != nil:
		return zipfRooms(n, *c.Zipf, c.Seed)
	}
	rooms := 1
	switch {
	case c.Rooms > 0:
		rooms = min(c.Rooms, n)
	case c.RoomSize > 0:
		rooms = (n + c.RoomSize - 1) / c.RoomSize
	}
	sizes := make([]int, rooms)
	for i := range sizes {
		sizes[i] = (n - i + rooms - 1) / rooms
	}
	return sizes, nil
}

// weightedRooms gives each class its share of the users (largest
// remainders, so the shares add up to n) in rooms of its size.
func weightedRooms(n int, ws []RoomShare) ([]int, error) {
	var total float64
	for _, w := range ws {
		if w.Size < 1 || !(w.Share > 0) {
			return nil, fmt.Errorf("room size %d with share %g: want a size of at least 1 and a share above 0", w.Size, w.Share)
		}
		total += w.Share
	}
	shares := make([]float64, len(ws))
	for i, w := range ws {
		shares[i] = w.Share / total
	}
	users := apportion(n, shares)
	var sizes []int
	for i, w := range ws {
		for u := users[i]; u > 0; u -= w.Size {
			sizes = append(sizes, min(u, w.Size))
		}
	}
	return sizes, nil
}

// zipfRooms draws room sizes until they hold n users (the last room takes
// what is left).
func zipfRooms(n int, z Zipf, seed int64) ([]int, error) {
	if z.Max < 1 || !(z.S > 0) {
		return nil, fmt.Errorf("zipf s=%g max=%d: want s above 0 and max of at least 1", z.S, z.Max)
	}
	// Cumulative weights of sizes 1..Max.
	cum := make([]float64, z.Max)
	var sum float64
	for k := 1; k <= z.Max; k++ {
		sum += math.Pow(float64(k), -z.S)
		cum[k-1] = sum
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	var sizes []int
	for left := n; left > 0; {
		k := 1 + sortSearch(cum, rng.Float64()*sum)
		sizes = append(sizes, min(k, left))
		left -= k
	}
	return sizes, nil
}

func sortSearch(cum []float64, x float64) int {
	i, _ := slices.BinarySearch(cum, x)
	return min(i, len(cum)-1)
}

// apportion splits total into parts proportional to shares (which add up
// to 1), by largest remainders, ties to the earlier part.
func apportion(total int, shares []float64) []int {
	out := make([]int, len(shares))
	rem := make([]float64, len(shares))
	given := 0
	for i, s := range shares {
		exact := s * float64(total)
		out[i] = int(exact)
		rem[i] = exact - float64(out[i])
		given += out[i]
	}
	order := make([]int, len(shares))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case rem[a] > rem[b]:
			return -1
		case rem[a] < rem[b]:
			return 1
		}
		return 0
	})
	for k := 0; given < total; k++ {
		out[order[k%len(order)]]++
		given++
	}
	return out
}

// newLayout assigns the clients to rooms round-robin over the rooms that
// still have room (with equal rooms: client i in room i%rooms, so a room's
// members spread over URLs and --procs workers), and makes the first
// members of each room its talkers: senders of them in all, apportioned to
// the rooms by size.
func newLayout(c *Config) (*layout, error) {
	n := c.Clients
	sizes, err := c.roomSizes(n)
	if err != nil {
		return nil, err
	}
	if len(sizes) > math.MaxInt32 || n > math.MaxInt32 {
		return nil, errors.New("too many clients or rooms")
	}
	l := &layout{room: make([]int32, n), members: make([]int32, len(sizes)), talkers: make([]int32, len(sizes)),
		talkIdx: make([]int32, n), rank: make([]int32, n)}
	open := make([]int32, len(sizes))
	for i := range open {
		open[i] = int32(i)
	}
	at := 0
	for cl := 0; cl < n; cl++ {
		r := open[at]
		l.room[cl] = r
		l.members[r]++
		if int(l.members[r]) == sizes[r] {
			open = slices.Delete(open, at, at+1)
			if len(open) == 0 {
				break
			}
			at %= len(open)
		} else {
			at = (at + 1) % len(open)
		}
	}
	shares := make([]float64, len(sizes))
	for r, m := range l.members {
		shares[r] = float64(m) / float64(n)
	}
	for r, t := range apportion(c.Senders, shares) {
		l.talkers[r] = int32(min(t, int(l.members[r])))
	}
	seen := make([]int32, len(sizes))
	for cl := 0; cl < n; cl++ {
		r := l.room[cl]
		l.talkIdx[cl], l.rank[cl] = -1, -1
		if seen[r] < l.talkers[r] {
			l.talkIdx[cl] = seen[r]
			seen[r]++
			l.rank[cl] = int32(len(l.talker))
			l.talker = append(l.talker, int32(cl))
		}
	}
	return l, nil
}

// roomSizesText says how the room sizes were given, for the results.
func (c *Config) roomSizesText() string {
	switch {
	case len(c.RoomWeights) > 0:
		var parts []string
		for _, w := range c.RoomWeights {
			parts = append(parts, fmt.Sprintf("%d:%g%%", w.Size, w.Share*100))
		}
		return "weighted " + strings.Join(parts, ",")
	case c.Zipf != nil:
		return fmt.Sprintf("zipf s=%g max=%d seed=%d", c.Zipf.S, c.Zipf.Max, c.Seed)
	case c.Rooms > 0:
		return fmt.Sprintf("%d equal rooms", c.Rooms)
	case c.RoomSize > 0:
		return fmt.Sprintf("fixed %d", c.RoomSize)
	}
	return "one room of all clients"
}

// ParseRoomSizes parses a room-size distribution: "zipf:S:MAX" (e.g.
// zipf:1.1:500) or a weighted list "SIZE:SHARE,..." (e.g.
// "2:50%,10:30%,100:20%": rooms of 2 hold half the users).
func ParseRoomSizes(s string) ([]RoomShare, *Zipf, error) {
	if rest, ok := strings.CutPrefix(s, "zipf:"); ok {
		a, b, ok := strings.Cut(rest, ":")
		sv, err1 := strconv.ParseFloat(a, 64)
		mv, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || !(sv > 0) || mv < 1 {
			return nil, nil, fmt.Errorf("%q: want zipf:S:MAX with S above 0 and MAX at least 1, e.g. zipf:1.1:500", s)
		}
		return nil, &Zipf{S: sv, Max: mv}, nil
	}
	var ws []RoomShare
	for _, part := range strings.Split(s, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(part), ":")
		size, err1 := strconv.Atoi(a)
		share, err2 := strconv.ParseFloat(strings.TrimSuffix(b, "%"), 64)
		if !ok || err1 != nil || err2 != nil || size < 1 || !(share > 0) {
			return nil, nil, fmt.Errorf("%q: want SIZE:SHARE,... (e.g. 2:50%%,10:30%%,100:20%%) or zipf:S:MAX", s)
		}
		if strings.HasSuffix(b, "%") {
			share /= 100
		}
		ws = append(ws, RoomShare{Size: size, Share: share})
	}
	return ws, nil, nil
}
