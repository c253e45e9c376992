package rabbitmq

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server/broker"
)

func msgs(from, n int) []broker.Message {
	out := make([]broker.Message, n)
	for i := range out {
		out[i] = broker.Message{Room: "r", Payload: fmt.Appendf(nil, "%d", from+i)}
	}
	return out
}

func payloads(es []entry) string {
	s := ""
	for _, e := range es {
		s += string(e.m.Payload) + " "
	}
	return s
}

// TestOutbox: messages are sent once per session in order, confirmed
// oldest first; a new session sends every unconfirmed one again from the
// oldest; a stale session can neither take nor confirm; past the bound new
// messages are refused, never those in flight.
func TestOutbox(t *testing.T) {
	o := newOutbox("p", 5)
	if refused := o.add(msgs(0, 3)); refused != 0 {
		t.Fatalf("refused %d of 3 with room for 5", refused)
	}
	g1 := o.begin()
	got, ok := o.take(g1, make([]entry, 0, 2))
	if !ok || payloads(got) != "0 1 " {
		t.Fatalf("take = %q %v, want 0 1 (bounded by the buffer)", payloads(got), ok)
	}
	got, _ = o.take(g1, make([]entry, 0, 8))
	if payloads(got) != "2 " {
		t.Fatalf("second take = %q, want 2", payloads(got))
	}
	o.confirm(g1) // confirms 0
	if refused := o.add(msgs(3, 4)); refused != 1 {
		t.Fatalf("refused %d, want 1 (4 pending + 4 new, bound 5)", refused)
	}
	g2 := o.begin() // session 1 failed with 1 and 2 unconfirmed
	o.confirm(g1)   // late, stale: changes nothing
	if _, ok := o.take(g1, make([]entry, 0, 8)); ok {
		t.Fatal("a stale session could take")
	}
	got, _ = o.take(g2, make([]entry, 0, 8))
	if payloads(got) != "1 2 3 4 5 " {
		t.Fatalf("new session took %q, want 1 2 3 4 5 (unconfirmed first, in order)", payloads(got))
	}
	for range 5 {
		o.confirm(g2)
	}
	o.confirm(g2) // nothing left: no effect
	if n := o.Pending(); n != 0 {
		t.Fatalf("pending = %d after every confirmation", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	o.Flush(ctx) // returns at once: empty
	if ctx.Err() != nil {
		t.Fatal("Flush of an empty outbox waited")
	}
	o.Hold(msgs(9, 2))
	if n := o.Abandon(); n != 2 {
		t.Fatalf("Abandon = %d, want the 2 held", n)
	}
}

// TestOutboxCompacts: a long run of confirmations keeps the buffer's
// backing array bounded by what is pending, not by what ever passed.
func TestOutboxCompacts(t *testing.T) {
	o := newOutbox("p", 100000)
	g := o.begin()
	buf := make([]entry, 0, 512)
	for round := range 100 {
		o.add(msgs(round*1000, 1000))
		for {
			var ok bool
			buf, ok = o.take(g, buf[:0])
			if !ok {
				t.Fatal("take refused the current session")
			}
			if len(buf) == 0 {
				break
			}
		}
		for range 999 { // one stays pending each round
			o.confirm(g)
		}
	}
	if n := o.Pending(); n != 100 {
		t.Fatalf("pending = %d, want 100", n)
	}
	if c := cap(o.q); c > 20000 {
		t.Errorf("backing array holds %d entries for 100 pending", c)
	}
	got, _ := o.take(o.begin(), make([]entry, 0, 1))
	if payloads(got) != "99900 " { // 99900 of 100000 confirmed, oldest first
		t.Errorf("oldest pending = %q, want 99900", payloads(got))
	}
}
