package server

import (
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server/broker"
)

// discardConn is a net.Conn that takes every write at once, so the
// benchmark measures the server's fan-out path (enqueue, writer goroutine,
// batch) without the kernel. written counts frames.
type discardConn struct {
	net.Conn // nil: only Write and SetWriteDeadline are used
	written  *atomic.Int64
}

func (d discardConn) Write(p []byte) (int, error)                { return len(p), nil }
func (d discardConn) SetWriteDeadline(time.Time) error           { return nil }
func (d discardConn) LocalAddr() net.Addr                        { return nil }
func (d discardConn) Close() error                               { return nil }
func (d discardConn) SetDeadline(time.Time) error                { return nil }
func (d discardConn) SetReadDeadline(time.Time) error            { return nil }
func (d discardConn) Read(p []byte) (int, error)                 { select {} }
func (d discardConn) RemoteAddr() net.Addr                       { return nil }
func (d discardConn) WriteBuffers(v *net.Buffers) (int64, error) { return 0, nil }

// benchHub builds a server hub with n members in one room, each writing to a
// discardConn.
func benchHub(b *testing.B, n int) (*Server, *room, *atomic.Int64) {
	b.Helper()
	cfg := DefaultConfig()
	// Writers write at once (no WriteDelay): the benchmark measures the
	// fan-out path, not time spent waiting for a batch.
	cfg.SendQueue, cfg.WriteDelay = 1<<16, 0
	s := &Server{cfg: cfg, broker: broker.NewMemory(nil)}
	s.m = newMetrics(nil)
	s.hub = newHub(s.broker, s.m)
	var written atomic.Int64
	for range n {
		c := newClient(s, "bench", "u")
		c.wire = &wireWriter{conn: countingConn{discardConn{written: &written}}}
		s.hub.join(c)
	}
	return s, s.hub.stripe("bench").rooms["bench"], &written
}

// countingConn counts the frames handed to it (one Write per frame when the
// conn is not a TCP socket: net.Buffers falls back to Write).
type countingConn struct{ discardConn }

func (c countingConn) Write(p []byte) (int, error) {
	c.written.Add(1)
	return len(p), nil
}

// BenchmarkBroadcast measures one broadcast to a room of N members, up to
// the frames being handed to each member's socket. allocs/op must stay
// constant in N (0 per receiver): the frame is shared, queues are reused.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{1, 100, 10_000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			s, _, written := benchHub(b, n)
			wire, _ := broadcastFrame("user", "bench", make([]byte, 100))
			// Warm up queues and writer goroutines.
			s.hub.broadcast("bench", wire)
			waitWritten(b, written, int64(n))
			written.Store(0)
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			var ops int64
			for b.Loop() {
				s.hub.broadcast("bench", wire)
				ops++
			}
			waitWritten(b, written, ops*int64(n))
			b.StopTimer()
			runtime.ReadMemStats(&after)
			deliveries := float64(ops * int64(n))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/delivery")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/deliveries, "allocs/delivery")
		})
	}
}

func waitWritten(b *testing.B, written *atomic.Int64, want int64) {
	b.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for written.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d frames written", written.Load(), want)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// BenchmarkBroadcastFrame measures encoding one message (JSON + header):
// once per message, whatever the room size.
func BenchmarkBroadcastFrame(b *testing.B) {
	msg := make([]byte, 100)
	for i := range msg {
		msg[i] = 'a' + byte(i%26)
	}
	b.ReportAllocs()
	for b.Loop() {
		broadcastFrame("someone", "chat", msg)
	}
}
