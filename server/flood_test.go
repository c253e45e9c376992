package server_test

import (
	"testing"
	"time"

	"github.com/chatbench/chatbench/server"
	"github.com/chatbench/chatbench/server/wstest"
)

// TestSlowConsumerDecisionClosesTheFlooderNotItsVictims: with the message
// rate limit off, one client floods a room of 20 busy clients (each
// sending every 50 ms) as fast as loopback takes it, reading its echoes.
// The members' queues overflow together: the decision must close the
// flooder ("flood") and none of the 20, where the plain slow-consumer rule
// closed all 21 (issue 12). What the others said while the flood drained
// is queued past SendQueue rather than lost.
func TestSlowConsumerDecisionClosesTheFlooderNotItsVictims(t *testing.T) {
	if testing.Short() {
		t.Skip("floods for 3 s")
	}
	if raceEnabled {
		t.Skip("timing-bound: under -race the server is too slow for the flood to outpace its members; checked without -race")
	}
	cs := startChildServer(t, config(func(c *server.Config) { c.MaxMsgRate, c.PingInterval = 0, time.Hour }))
	room := startRealClients(t, cs.addr, "busy", 20, 20, 50*time.Millisecond, 100)
	time.Sleep(500 * time.Millisecond)
	written, err := wstest.Flood(cs.addr, "room=busy&user=flooder", 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	res := room.Stop()
	floods := cs.metric(t, `chatbench_disconnects_total{reason="flood"}`)
	slow := cs.metric(t, `chatbench_disconnects_total{reason="slow_consumer"}`)
	dropped := cs.metric(t, `chatbench_dropped_total{reason="flood"}`)
	t.Logf("flooder wrote %d frames; flood closes %.0f, slow-consumer closes %.0f; %.0f frames dropped for members while the flooder was closed; "+
		"the 20 members: %d messages each sent, %d deliveries missing, %d connections failed, p99 %v",
		written, floods, slow, dropped, res.Sent, res.Lost(), res.Errors, res.P(0.99).Round(time.Microsecond))
	// A flood close happens only when a member's queue overflowed: it is
	// also the proof that the flood did flood.
	if floods != 1 || slow != 0 || res.Errors != 0 || res.Lost() != 0 {
		t.Errorf("flood closes %v, slow-consumer closes %v, members failed %d, deliveries missing %d: want the flooder closed, no member, nothing lost",
			floods, slow, res.Errors, res.Lost())
	}
}
