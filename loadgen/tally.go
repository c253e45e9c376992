package loadgen

import "math"

// Account is one process's part of the loss accounting: for every probe of
// a sender whose room has a member here (or who sends from here), how many
// of its expected receivers were here when it was due and how many of them
// got it; and for the senders here, how many probes they sent. One process
// tallies its own Account; a --procs parent tallies its workers' together,
// with the same code (tally), so a probe sent in one process and received
// in another is accounted exactly.
type Account struct {
	PerSender int64
	Senders   []int32 // ascending
	Members   []int32 // [k*PerSender+seq]: expected receivers here when due
	Delivered []int32 // [k*PerSender+seq]: deliveries here
	Sent      []int32 // [k]: probes sent, or -1 when the sender runs elsewhere
}

// expectedHere is the expected receivers of sender c's probe due at due
// that are in this process: the room's members here then, less the sender
// itself under NoEcho.
func (r *run) expectedHere(c int, due int64) int32 {
	n := r.members.members(int(r.cfg.lay.room[c]), due)
	if cl := r.client(c); r.cfg.NoEcho && cl != nil && cl.joinedAt <= due && due < cl.leftAt.Load() && n > 0 {
		n--
	}
	return n
}

// sentBy is how many probes sender c sent from here (-1: it runs elsewhere).
func (r *run) sentBy(c int) int32 {
	if !r.t.owns(int64(c)) {
		return -1
	}
	if cl := r.client(c); cl != nil {
		return cl.sent.Load()
	}
	return 0
}

// account builds this process's Account.
func (r *run) account(s schedule) *Account {
	a := &Account{PerSender: s.perSender}
	for c, recs := range r.t.probes {
		if len(recs) == 0 {
			continue
		}
		a.Senders = append(a.Senders, int32(c))
		a.Sent = append(a.Sent, r.sentBy(c))
		for seq := range recs {
			a.Members = append(a.Members, r.expectedHere(c, s.due(c, int64(seq))))
			a.Delivered = append(a.Delivered, recs[seq].delivered.Load())
		}
	}
	return a
}

// tallied is the loss accounting of the steady phase.
type tallied struct {
	Sent, Expected, Delivered, Lost int64
	// Excess counts deliveries beyond a probe's expected receivers: zero
	// unless the accounting itself is broken (then reported, never hidden).
	Excess int64
}

// tally adds up accounts (one per process of the run) over the steady
// phase of s: per probe sent, expected = Σ members, delivered = Σ
// deliveries, lost = expected − delivered.
func tally(s schedule, accts []*Account) tallied {
	type probeSum struct{ exp, del []int64 }
	sums := map[int32]*probeSum{}
	sent := map[int32]int32{}
	for _, a := range accts {
		for k, c := range a.Senders {
			if a.Sent[k] >= 0 {
				sent[c] = a.Sent[k]
			}
			ps := sums[c]
			if ps == nil {
				ps = &probeSum{exp: make([]int64, a.PerSender), del: make([]int64, a.PerSender)}
				sums[c] = ps
			}
			for seq := int64(0); seq < a.PerSender && seq < int64(len(ps.exp)); seq++ {
				i := int64(k)*a.PerSender + seq
				ps.exp[seq] += int64(a.Members[i])
				ps.del[seq] += int64(a.Delivered[i])
			}
		}
	}
	var t tallied
	for c, ps := range sums {
		for seq := int64(0); seq < int64(sent[c]) && seq < int64(len(ps.exp)); seq++ {
			if !s.steady(s.due(int(c), seq)) {
				continue
			}
			t.Sent++
			t.Expected += ps.exp[seq]
			t.Delivered += min(ps.del[seq], ps.exp[seq])
			if d := ps.exp[seq] - ps.del[seq]; d > 0 {
				t.Lost += d
			} else {
				t.Excess -= d
			}
		}
	}
	return t
}

// graceTarget is the steady-phase deliveries this process waits for in the
// grace period: its expected receivers of every steady probe sent here or,
// from another process, scheduled.
func (r *run) graceTarget(s schedule) int64 {
	var n int64
	r.eachSettled(s, math.MaxInt64, func(exp, _ int32) { n += int64(exp) })
	return n
}

// settled sums, for the steady probes due before cutoff, this process's
// expected receivers and those still missing (the metrics' view while a
// run goes on; a probe of another process is assumed sent).
func (r *run) settled(s schedule, cutoff int64) (expected, lost int64) {
	r.eachSettled(s, cutoff, func(exp, del int32) {
		expected += int64(exp)
		lost += int64(max(0, exp-del))
	})
	return expected, lost
}

// eachSettled calls f with the expected receivers here and the deliveries
// here of every steady probe due before cutoff that was sent (or, from
// another process, scheduled).
func (r *run) eachSettled(s schedule, cutoff int64, f func(exp, del int32)) {
	for c, recs := range r.t.probes {
		sent := int64(len(recs))
		if n := r.sentBy(c); n >= 0 {
			sent = int64(n)
		}
		for seq := int64(0); seq < sent; seq++ {
			due := s.due(c, seq)
			if due >= cutoff {
				break
			}
			if s.steady(due) {
				f(r.expectedHere(c, due), recs[seq].delivered.Load())
			}
		}
	}
}
