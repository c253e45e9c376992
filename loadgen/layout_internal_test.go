package loadgen

import (
	"math"
	"slices"
	"testing"
)

func layoutOf(t *testing.T, c Config) *layout {
	t.Helper()
	l, err := newLayout(&c)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.room) != c.Clients {
		t.Fatalf("%d clients placed, want %d", len(l.room), c.Clients)
	}
	return l
}

// Equal rooms keep the layout every earlier run had: client i in room
// i%rooms, talkers the first senders clients.
func TestLayoutEqualRooms(t *testing.T) {
	l := layoutOf(t, Config{Clients: 103, Rooms: 10, Senders: 25})
	for c, r := range l.room {
		if int(r) != c%10 {
			t.Fatalf("client %d in room %d, want %d", c, r, c%10)
		}
	}
	if want := []int32{11, 11, 11, 10, 10, 10, 10, 10, 10, 10}; !slices.Equal(l.members, want) {
		t.Errorf("members %v, want %v", l.members, want)
	}
	for c := range l.room {
		if talks := l.talkIdx[c] >= 0; talks != (c < 25) {
			t.Fatalf("client %d talks %v, want %v (the first 25 clients)", c, talks, c < 25)
		}
		if l.talkIdx[c] >= 0 && (int(l.talkIdx[c]) != c/10 || int(l.rank[c]) != c) {
			t.Fatalf("client %d: index %d in its room, rank %d; want %d and %d", c, l.talkIdx[c], l.rank[c], c/10, c)
		}
	}
	l = layoutOf(t, Config{Clients: 50, RoomSize: 20, Senders: 50})
	if !slices.Equal(l.members, []int32{17, 17, 16}) || len(l.talker) != 50 {
		t.Errorf("room size 20: members %v, %d talkers", l.members, len(l.talker))
	}
}

// Weighted room sizes: each class holds its share of the users, in rooms
// of its size; talkers are shared out by room size.
func TestLayoutWeightedRooms(t *testing.T) {
	l := layoutOf(t, Config{Clients: 1000, RoomWeights: []RoomShare{{2, 0.5}, {10, 0.3}, {100, 0.2}}, Senders: 100})
	count := map[int32]int{}
	users := map[int32]int32{}
	for _, m := range l.members {
		count[m]++
		users[m] += m
	}
	if count[2] != 250 || count[10] != 30 || count[100] != 2 || users[2] != 500 || users[10] != 300 || users[100] != 200 {
		t.Errorf("rooms by size %v, users by size %v; want 250 of 2, 30 of 10, 2 of 100", count, users)
	}
	var talk100 int32
	for r, m := range l.members {
		if m == 100 {
			talk100 += l.talkers[r]
		}
	}
	if len(l.talker) != 100 || talk100 != 20 {
		t.Errorf("%d talkers, %d in the rooms of 100; want 100 and 20 (20%% of the users)", len(l.talker), talk100)
	}
}

// Zipf room sizes follow P(k) ∝ k^-s over 1..max (the share of rooms of
// 1-2 members and of 100 or more within 15% of it), every user is placed,
// and the same seed gives the same layout.
func TestLayoutZipfRooms(t *testing.T) {
	c := Config{Clients: 200_000, Zipf: &Zipf{S: 1.1, Max: 500}, Seed: 7, Senders: 500}
	a, b := layoutOf(t, c), layoutOf(t, c)
	if !slices.Equal(a.room, b.room) {
		t.Fatal("the same seed gave two layouts")
	}
	var h, pSmall, pLarge float64
	for k := 1; k <= 500; k++ {
		w := math.Pow(float64(k), -1.1)
		h += w
		if k <= 2 {
			pSmall += w
		}
		if k >= 100 {
			pLarge += w
		}
	}
	pSmall, pLarge = pSmall/h, pLarge/h
	var small, large float64
	rooms := float64(len(a.members) - 1) // the last room holds what was left
	for _, m := range a.members[:len(a.members)-1] {
		switch {
		case m > 500:
			t.Fatalf("a room of %d, over max 500", m)
		case m <= 2:
			small++
		case m >= 100:
			large++
		}
	}
	if s := small / rooms; math.Abs(s-pSmall) > 0.15*pSmall {
		t.Errorf("%.3f of the rooms have 1-2 members, want %.3f", s, pSmall)
	}
	if l := large / rooms; math.Abs(l-pLarge) > 0.15*pLarge {
		t.Errorf("%.3f of the rooms have 100 or more, want %.3f", l, pLarge)
	}
	c.Seed = 8
	if slices.Equal(layoutOf(t, c).room, a.room) {
		t.Error("another seed gave the same layout")
	}
}

func TestApportion(t *testing.T) {
	for _, tc := range []struct {
		total  int
		shares []float64
		want   []int
	}{
		{10, []float64{0.5, 0.5}, []int{5, 5}},
		{25, []float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, []int{3, 3, 3, 3, 3, 2, 2, 2, 2, 2}},
		{7, []float64{0.6, 0.3, 0.1}, []int{4, 2, 1}},
	} {
		if got := apportion(tc.total, tc.shares); !slices.Equal(got, tc.want) {
			t.Errorf("apportion(%d, %v) = %v, want %v", tc.total, tc.shares, got, tc.want)
		}
	}
}

// Shards hold whole rooms.
func TestShardClients(t *testing.T) {
	l := layoutOf(t, Config{Clients: 20, Rooms: 6})
	all := map[int]bool{}
	for i := 0; i < 3; i++ {
		for _, c := range l.shardClients(i, 3) {
			if int(l.room[c])%3 != i || all[c] {
				t.Fatalf("shard %d got client %d (room %d)", i, c, l.room[c])
			}
			all[c] = true
		}
	}
	if len(all) != 20 {
		t.Errorf("shards hold %d of 20 clients", len(all))
	}
}
