package brokerkit

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/chatbench/chatbench/server/broker"
)

// TestDeliverAllocatesNothing: handing a received message to its lane, or
// dropping the node's own, allocates nothing.
func TestDeliverAllocatesNothing(t *testing.T) {
	var n atomic.Int64
	_, f := startFake(t, broker.Lifecycle{DeliverQueue: 1 << 16}, func(broker.Message) { n.Add(1) })
	sink := f.last().sink
	foreign := broker.Message{Room: "room-1", Origin: "other", Payload: []byte("x")}
	own := broker.Message{Room: "room-1", Origin: "me", Payload: []byte("x")}
	if a := testing.AllocsPerRun(1000, func() { sink.Deliver(foreign); sink.Deliver(own) }); a != 0 {
		t.Errorf("Deliver allocates %v per message", a)
	}
}

// BenchmarkDeliver: the cost of handing a message to the Handler through
// the lanes (a counting Handler), over rooms rooms.
func BenchmarkDeliver(b *testing.B) {
	for _, rooms := range []int{1, 64} {
		b.Run(fmt.Sprintf("rooms=%d", rooms), func(b *testing.B) {
			var n atomic.Int64
			f := &fakeTransport{}
			s, err := New(Config{Backend: "fake", Lifecycle: broker.Lifecycle{DeliverQueue: 1 << 16}}, f)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if err := s.Start(b.Context(), "me", func(broker.Message) { n.Add(1) }); err != nil {
				b.Fatal(err)
			}
			sink := f.last().sink
			msgs := make([]broker.Message, rooms)
			for i := range msgs {
				msgs[i] = broker.Message{Room: fmt.Sprint("room-", i), Origin: "other", Payload: []byte("x")}
			}
			b.ReportAllocs()
			sent := int64(0)
			for i := 0; b.Loop(); i++ {
				for !sink.Deliver(msgs[i%rooms]) {
				}
				sent++
			}
			for n.Load() < sent {
			}
		})
	}
}
