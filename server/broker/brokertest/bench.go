package brokertest

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server/broker"
)

// benchWindow bounds the messages in flight between publisher and
// subscriber, so the benchmark measures sustained throughput without
// overflowing a queue (a lost message would fail it).
const benchWindow = 1000

// BenchRoundTrip runs benchRoundTrip over 1 and 16 rooms, each on nodes of
// a fresh newNode from factory.
func BenchRoundTrip(b *testing.B, factory func(b *testing.B) NewNode) {
	for _, rooms := range []int{1, 16} {
		b.Run(fmt.Sprintf("rooms=%d", rooms), func(b *testing.B) { benchRoundTrip(b, factory(b), rooms) })
	}
}

// benchRoundTrip measures one message from Publish on node a to the Handler
// of node b, over rooms rooms, with at most benchWindow in flight. Node b
// also publishes one own message (echoed back to it) for every message of a,
// as every node of a real cluster receives its own broadcasts.
func benchRoundTrip(b *testing.B, newNode NewNode, rooms int) {
	ctx := context.Background()
	pub, sub := newNode(b, "a", broker.Lifecycle{}), newNode(b, "b", broker.Lifecycle{})
	defer pub.Close()
	defer sub.Close()
	var got, probes atomic.Int64
	wake := make(chan struct{}, 1)
	if err := pub.Start(ctx, "a", func(broker.Message) {}); err != nil {
		b.Fatal(err)
	}
	if err := sub.Start(ctx, "b", func(m broker.Message) {
		switch m.Origin {
		case "a":
			got.Add(1)
		case probeOrigin:
			probes.Add(1)
		default:
			return
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}); err != nil {
		b.Fatal(err)
	}
	names := make([]string, rooms)
	for i := range names {
		names[i] = fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)
		sub.Subscribe(names[i])
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, r := range names {
		before := probes.Load()
		for probes.Load() == before {
			if time.Now().After(deadline) {
				b.Fatal("subscriptions not live within 10s")
			}
			_ = pub.Publish(broker.Message{Room: r, Origin: probeOrigin, Payload: []byte("p")})
			select {
			case <-wake:
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	payload := make([]byte, 100)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	start := got.Load()
	sent := int64(0)
	for i := 0; i < b.N; i++ {
		for sent-(got.Load()-start) >= benchWindow {
			select {
			case <-wake:
			case <-time.After(10 * time.Second):
				b.Fatalf("stalled: sent %d, received %d", sent, got.Load()-start)
			}
		}
		room := names[i%rooms]
		for tries := 0; ; tries++ {
			err := pub.Publish(broker.Message{Room: room, Origin: "a", Payload: payload})
			if err == nil {
				break
			}
			if tries == 100000 {
				b.Fatalf("publish: %v", err)
			}
			runtime.Gosched() // the publish queue is full: let the publisher drain it
		}
		_ = sub.Publish(broker.Message{Room: room, Origin: "b", Payload: payload})
		sent++
	}
	for got.Load()-start < sent {
		select {
		case <-wake:
		case <-time.After(10 * time.Second):
			b.Fatalf("lost messages: sent %d, received %d", sent, got.Load()-start)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(sent), "ns/msg")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(sent), "cpu-ns/msg")
}

// cpuTime is the CPU time (user and system) this process has used: both
// nodes' share of the work, without the backend's.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
