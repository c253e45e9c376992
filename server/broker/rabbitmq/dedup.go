package rabbitmq

import (
	"strconv"
	"strings"
)

// Bounds of the receiver's duplicate filter.
const (
	// dedupWindow is how many of a publisher's most recent sequence numbers
	// the filter remembers (a bitmap, 16 KiB per publisher). A message older
	// than that, behind the newest one seen from its publisher, is taken for
	// a duplicate: resends come after at most a retry buffer's worth, so the
	// retry buffer may not be larger (newGuarantee caps it).
	dedupWindow = 1 << 17
	// dedupPublishers bounds how many publishers (broker instances: a node
	// restarted is a new one) the filter tracks; past it the one heard from
	// least recently is forgotten.
	dedupPublishers = 1024
)

// dedup drops the messages a node received before: redelivered by the broker
// after a reconnect (delivered but not yet acknowledged), or resent by their
// publisher (sent, but not confirmed before its connection failed). It
// remembers, per publisher, which of its last dedupWindow sequence numbers
// arrived. One goroutine at a time (a session's consumer; sessions follow
// one another).
type dedup struct {
	pubs  map[string]*window
	clock uint64 // counts lookups, for forgetting the least recent publisher
}

type window struct {
	top  uint64 // highest sequence number seen
	used uint64 // dedup.clock at the last lookup
	bits [dedupWindow / 64]uint64
}

func newDedup() *dedup { return &dedup{pubs: map[string]*window{}} }

// splitID splits a message id "prefix:seq" (outbox.messageID).
func splitID(id string) (pub string, seq uint64, ok bool) {
	i := strings.LastIndexByte(id, ':')
	if i < 0 {
		return "", 0, false
	}
	seq, err := strconv.ParseUint(id[i+1:], 10, 64)
	return id[:i], seq, err == nil
}

// seen records message seq of publisher pub and reports whether it was
// recorded before (or is older than the window: see dedupWindow).
func (d *dedup) seen(pub string, seq uint64) bool {
	d.clock++
	w := d.pubs[pub]
	if w == nil {
		d.forgetOldest()
		w = &window{top: seq}
		d.pubs[pub] = w
		w.set(seq)
		w.used = d.clock
		return false
	}
	w.used = d.clock
	switch {
	case seq > w.top:
		if seq-w.top >= dedupWindow {
			clear(w.bits[:])
		} else {
			for s := w.top + 1; s < seq; s++ {
				w.clearBit(s)
			}
		}
		w.top = seq
		w.set(seq)
		return false
	case w.top-seq >= dedupWindow:
		return true
	case w.has(seq):
		return true
	default:
		w.set(seq)
		return false
	}
}

// unsee forgets message seq of publisher pub: it was recorded but could not
// be handed on, so its redelivery must pass.
func (d *dedup) unsee(pub string, seq uint64) {
	if w := d.pubs[pub]; w != nil && w.top-seq < dedupWindow {
		w.clearBit(seq)
	}
}

func (d *dedup) forgetOldest() {
	if len(d.pubs) < dedupPublishers {
		return
	}
	var oldest string
	least := ^uint64(0)
	for p, w := range d.pubs {
		if w.used < least {
			oldest, least = p, w.used
		}
	}
	delete(d.pubs, oldest)
}

func (w *window) set(seq uint64)      { w.bits[seq%dedupWindow/64] |= 1 << (seq % 64) }
func (w *window) clearBit(seq uint64) { w.bits[seq%dedupWindow/64] &^= 1 << (seq % 64) }
func (w *window) has(seq uint64) bool { return w.bits[seq%dedupWindow/64]&(1<<(seq%64)) != 0 }
