package loadgen_test

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"slices"
	"time"

	"github.com/chatbench/chatbench/loadgen"
)

// The truth server's writer: reordering, batching and fragmentation of what
// goes out to one connection, and the write log the truth is counted from.

// WebSocket opcodes (RFC 6455 5.2).
const (
	wsCont  = 0x0
	wsText  = 0x1
	wsClose = 0x8
	wsPing  = 0x9
	wsPong  = 0xA
)

const (
	// holdMax bounds how long a reordered copy waits for the member's next
	// one: after it, the copy goes out alone (late, in order).
	holdMax = 150 * time.Millisecond
	// batchWait bounds how long a batch waits to fill up.
	batchWait = 25 * time.Millisecond
)

// wItem is one copy queued to a connection's writer.
type wItem struct {
	key  probeKey
	msg  []byte
	hold bool // reorder: written after the next copy (or after holdMax)
}

// appendFrame appends an unmasked server frame.
func appendFrame(dst []byte, fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		dst = append(dst, b0, byte(n))
	case n <= 0xffff:
		dst = append(dst, b0, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, payload...)
}

func (c *tconn) writeFrames(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.nc.Write(b)
	return err
}

// writeLoop writes what is queued to c until stop or a write fails. A held
// (reordered) copy goes out right after the next copy; with batching, a frame
// goes out when it has its drawn number of messages or has waited batchWait.
func (c *tconn) writeLoop(f faults, stop <-chan struct{}) {
	var (
		held           wItem
		hasHeld        bool
		heldAt, pendAt time.Time
		pend           []wItem
	)
	target := c.batchTarget(f)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		flushNow := false
		select {
		case <-stop:
			return
		case it := <-c.q:
			if it.hold && !hasHeld {
				held, hasHeld, heldAt = it, true, time.Now()
				break
			}
			pend = append(pend, it)
			if hasHeld {
				pend, hasHeld = append(pend, held), false
			}
		case now := <-timer.C:
			if hasHeld && now.Sub(heldAt) >= holdMax {
				pend, hasHeld = append(pend, held), false
			}
			flushNow = len(pend) > 0 && !pendAt.IsZero() && now.Sub(pendAt) >= batchWait
		}
		if len(pend) > 0 && pendAt.IsZero() {
			pendAt = time.Now()
		}
		if len(pend) > 0 && (flushNow || len(pend) >= target) {
			if c.flush(f, pend) != nil {
				return
			}
			pend, pendAt, target = pend[:0], time.Time{}, c.batchTarget(f)
		}
		// Wake at the earlier deadline of the held copy and the batch.
		switch {
		case hasHeld && len(pend) > 0:
			timer.Reset(min(holdMax-time.Since(heldAt), batchWait-time.Since(pendAt)))
		case hasHeld:
			timer.Reset(holdMax - time.Since(heldAt))
		case len(pend) > 0:
			timer.Reset(batchWait - time.Since(pendAt))
		}
	}
}

// batchTarget draws how many messages the next frame carries.
func (c *tconn) batchTarget(f faults) int {
	if f.BatchMax < 2 {
		return 1
	}
	return 2 + c.rng.Intn(f.BatchMax-1)
}

// flush writes pend: one frame of all of it when batching, else one frame
// each. Only what was written goes into the write log.
func (c *tconn) flush(f faults, pend []wItem) error {
	if f.BatchMax < 2 {
		for _, it := range pend {
			if err := c.writeMessage(f, it.msg, []probeKey{it.key}); err != nil {
				return err
			}
		}
		return nil
	}
	var payload []byte
	keys := make([]probeKey, 0, len(pend))
	for i, it := range pend {
		if i > 0 {
			payload = append(payload, '\n')
		}
		payload = append(payload, it.msg...)
		keys = append(keys, it.key)
	}
	return c.writeMessage(f, payload, keys)
}

// writeMessage writes one message (one or several chat messages), as one
// frame or, with probability f.Fragment, as a text frame and 1 or 2
// continuation frames split inside probe text. keys are the probes it holds.
func (c *tconn) writeMessage(f faults, payload []byte, keys []probeKey) error {
	parts := [][]byte{payload}
	if f.Fragment > 0 && c.rng.Float64() < f.Fragment {
		parts = splitInsideProbes(payload, 2+c.rng.Intn(2), c.rng)
	}
	var b []byte
	for i, p := range parts {
		op := byte(wsCont)
		if i == 0 {
			op = wsText
		}
		b = appendFrame(b, i == len(parts)-1, op, p)
	}
	if err := c.writeFrames(b); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, keys...)
	c.frames += len(parts)
	if len(parts) > 1 {
		c.fragmented++
	}
	if len(keys) > 1 {
		c.batched++
	}
	return nil
}

// splitInsideProbes cuts payload into n parts at points strictly inside a
// probe's fields ("cb1.<run>.<client>.<seq>.<due>.s<delay>"), where a reader
// that does not reassemble loses or misreads the probe.
func splitInsideProbes(payload []byte, n int, rng *rand.Rand) [][]byte {
	var inside []int // candidate cut points
	for off := 0; ; {
		i := bytes.Index(payload[off:], []byte(loadgen.ProbePrefix))
		if i < 0 {
			break
		}
		start := off + i
		rest, found, _ := loadgen.NextProbe(payload[start:], new(loadgen.Probe))
		if !found {
			break
		}
		end := len(payload) - len(rest)
		for p := start + 1; p < end; p++ {
			inside = append(inside, p)
		}
		off = end
	}
	var cuts []int
	for len(cuts) < n-1 && len(cuts) < len(inside) {
		p := inside[rng.Intn(len(inside))]
		if !slices.Contains(cuts, p) {
			cuts = append(cuts, p)
		}
	}
	slices.Sort(cuts)
	parts := make([][]byte, 0, n)
	prev := 0
	for _, p := range cuts {
		parts = append(parts, payload[prev:p])
		prev = p
	}
	return append(parts, payload[prev:])
}
