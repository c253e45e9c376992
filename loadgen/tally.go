package loadgen

import "math"

// Account is one process's part of the loss accounting: for every probe of
// a talker whose room has a member here (or who talks from here), how many
// of its expected receivers were here when it was due, how many of them
// got it, and whether it was sent from here. One process tallies its own
// Account; a --procs parent tallies its workers' together, with the same
// code (tally), so a probe sent in one process and received in another is
// accounted exactly.
type Account struct {
	PerSender int64
	Senders   []int32 // ascending
	Members   []int32 // [k*PerSender+seq]: expected receivers here when due
	Delivered []int32 // [k*PerSender+seq]: deliveries here
	Sent      []bool  // [k*PerSender+seq]: sent from here
}

// expectedHere is the expected receivers of talker c's probe due at due
// that are in this process: the room's members here then, less the sender
// itself under NoEcho.
func (r *run) expectedHere(c int, due int64) int32 {
	n := r.members.members(int(r.cfg.lay.room[c]), due)
	if r.cfg.NoEcho && r.t.owns(int64(c)) && r.members.memberAt(c, due) && n > 0 {
		n--
	}
	return n
}

// sentHere reports whether talker c's probe seq was sent from this process.
func (r *run) sentHere(c int, seq int64) bool {
	return r.t.owns(int64(c)) && r.sent.sent(c, seq)
}

// account builds this process's Account.
func (r *run) account(s *schedule) *Account {
	a := &Account{PerSender: s.perSender}
	for c, recs := range r.t.probes {
		if len(recs) == 0 {
			continue
		}
		a.Senders = append(a.Senders, int32(c))
		base := len(a.Members)
		a.Members = append(a.Members, make([]int32, s.perSender)...)
		a.Delivered = append(a.Delivered, make([]int32, s.perSender)...)
		a.Sent = append(a.Sent, make([]bool, s.perSender)...)
		s.each(c, func(seq, due int64) bool {
			i := base + int(seq)
			a.Members[i] = r.expectedHere(c, due)
			a.Delivered[i] = recs[seq].delivered.Load()
			a.Sent[i] = r.sentHere(c, seq)
			return true
		})
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
func tally(s *schedule, accts []*Account) tallied {
	type probeSum struct {
		exp, del []int64
		sent     []bool
	}
	sums := map[int32]*probeSum{}
	for _, a := range accts {
		for k, c := range a.Senders {
			ps := sums[c]
			if ps == nil {
				ps = &probeSum{exp: make([]int64, a.PerSender), del: make([]int64, a.PerSender), sent: make([]bool, a.PerSender)}
				sums[c] = ps
			}
			for seq := int64(0); seq < a.PerSender && seq < int64(len(ps.exp)); seq++ {
				i := int64(k)*a.PerSender + seq
				ps.exp[seq] += int64(a.Members[i])
				ps.del[seq] += int64(a.Delivered[i])
				ps.sent[seq] = ps.sent[seq] || a.Sent[i]
			}
		}
	}
	var t tallied
	for c, ps := range sums {
		s.each(int(c), func(seq, due int64) bool {
			if seq >= int64(len(ps.exp)) || !ps.sent[seq] || !s.steady(due) {
				return seq < int64(len(ps.exp))
			}
			t.Sent++
			t.Expected += ps.exp[seq]
			t.Delivered += min(ps.del[seq], ps.exp[seq])
			if d := ps.exp[seq] - ps.del[seq]; d > 0 {
				t.Lost += d
			} else {
				t.Excess -= d
			}
			return true
		})
	}
	return t
}

// graceTarget is the steady-phase deliveries this process waits for in the
// grace period: its expected receivers of every steady probe sent here or,
// from another process, scheduled.
func (r *run) graceTarget(s *schedule) int64 {
	var n int64
	r.eachSettled(s, math.MaxInt64, func(exp, _ int32) { n += int64(exp) })
	return n
}

// settled sums, for the steady probes due before cutoff, this process's
// expected receivers and those still missing (the metrics' view while a
// run goes on; a probe of another process is assumed sent).
func (r *run) settled(s *schedule, cutoff int64) (expected, lost int64) {
	r.eachSettled(s, cutoff, func(exp, del int32) {
		expected += int64(exp)
		lost += int64(max(0, exp-del))
	})
	return expected, lost
}

// eachSettled calls f with the expected receivers here and the deliveries
// here of every steady probe due before cutoff that was sent (or, from
// another process, scheduled).
func (r *run) eachSettled(s *schedule, cutoff int64, f func(exp, del int32)) {
	for c, recs := range r.t.probes {
		if len(recs) == 0 {
			continue
		}
		owned := r.t.owns(int64(c))
		s.each(c, func(seq, due int64) bool {
			if due >= cutoff {
				return false
			}
			if s.steady(due) && (!owned || r.sent.sent(c, seq)) {
				f(r.expectedHere(c, due), recs[seq].delivered.Load())
			}
			return true
		})
	}
}
