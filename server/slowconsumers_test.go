package server_test

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server"
)

// TestManySlowConsumersStayWithinTheSendQueueBound: 1,000 clients that never
// read share a room with 5 that do. The server (a process of its own) keeps
// every non-reader's queue at SendQueue frames and drops the rest (policy
// drop), so its memory grows by no more than the bound that SendQueue
// implies (documented on Config.SendQueue):
//
//	conns × (2 × SendQueue × 24 B slice headers + 8 KiB writer stack)
//	  + messages × frame size (the frames are shared)
//
// while the 5 readers get every message. Without the bound the queues alone
// would hold conns × messages × 24 B.
func TestManySlowConsumersStayWithinTheSendQueueBound(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 sockets")
	}
	const (
		slow      = 1000
		readers   = 5
		sendQueue = 64
		messages  = 600
		rate      = 200  // messages per second, for messages/rate seconds
		pad       = 1000 // bytes of message text besides the timestamp
	)
	cs := startChildServer(t, config(func(c *server.Config) {
		c.SendQueue, c.SlowPolicy, c.WriteTimeout, c.WriteDelay, c.PingInterval, c.MaxMsgRate = sendQueue, server.SlowDrop, time.Minute, 10*time.Millisecond, time.Hour, 0
	}))

	// Non-readers with a small receive buffer and a small MSS, so that
	// the kernel buffers on both ends fill after a few frames and the
	// server's queues take the rest. (With loopback's 64 KiB MSS the
	// server's send buffer grows to about 1.5 MB per socket first: kernel
	// memory, not the server's RSS, but 1.5 GB to copy for 1,000 sockets.)
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = errors.Join(syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096),
				syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, 536))
		})
		return errors.Join(err, serr)
	}}
	for i := range slow {
		nc := rawUpgrade(t, d, cs.addr, fmt.Sprintf("room=slow&user=s%d", i))
		t.Cleanup(func() { nc.Close() })
	}
	// Readers; one of them sends a timestamp every 1/rate.
	rc := startRealClients(t, cs.addr, "slow", readers, 1, time.Second/rate, pad)
	// startRealClients began sending at once; the baseline is the server
	// with every socket open, before queues fill. Measure it right away.
	g0, rss0, heap0 := cs.metric(t, "go_goroutines"), cs.gcRSSKB(t), cs.metric(t, "go_memstats_heap_inuse_bytes")
	deadline := time.Now().Add(messages * time.Second / rate)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	rss1, heap1, g1 := cs.rssKB(t), cs.metric(t, "go_memstats_heap_inuse_bytes"), cs.metric(t, "go_goroutines")
	dropped := cs.metric(t, `chatbench_dropped_total{reason="queue_full"}`)
	sent := checkRoom(t, rc, raceSlowdown*time.Second).Sent
	frame := int64(len(`{"user":"real0","room":"slow","message":"1234567890123456789."}`) + pad + 4)
	bound := int64(slow)*(2*sendQueue*24+8<<10) + sent*frame
	unbounded := int64(slow) * sent * 24
	t.Logf("%d non-readers, %d readers, %d messages: server RSS %d -> %d KB (+%d KB), heap in use %.0f -> %.0f KB (+%.0f KB), goroutines %v -> %v; "+
		"%.0f frames dropped (queue_full); bound %d KB; without a bound the queues alone would be %d KB",
		slow, readers, sent, rss0, rss1, rss1-rss0, heap0/1024, heap1/1024, (heap1-heap0)/1024, g0, g1, dropped, bound/1024, unbounded/1024)
	if dropped < float64(slow)*float64(sent-sendQueue)/2 {
		t.Errorf("only %.0f frames dropped for %d non-readers: their queues did not fill", dropped, slow)
	}
	if heap1-heap0 > float64(bound) {
		t.Errorf("heap grew %.0f KB, over the send-queue bound %d KB", (heap1-heap0)/1024, bound/1024)
	}
	if !raceEnabled && (rss1-rss0)*1024 > bound {
		t.Errorf("RSS grew %d KB, over the send-queue bound %d KB", rss1-rss0, bound/1024)
	}
}
