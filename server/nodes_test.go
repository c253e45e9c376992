package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server"
	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/rabbitmq"
	"github.com/chatbench/chatbench/server/broker/redisbroker"
	"github.com/coder/websocket"
)

// brokerFactory makes one broker per node; nodes made by one factory share
// their rooms.
type brokerFactory struct {
	name string
	make func(t *testing.T) func() broker.Broker
}

// nodeBrokers lists the backends the multi-node tests run on.
var nodeBrokers = []brokerFactory{
	{"memory", func(*testing.T) func() broker.Broker {
		bus := broker.NewBus()
		return func() broker.Broker { return broker.NewMemory(bus) }
	}},
	{"redis", func(t *testing.T) func() broker.Broker {
		integration(t)
		prefix := fmt.Sprintf("cbtest-%d-%d:", os.Getpid(), time.Now().UnixNano())
		return func() broker.Broker {
			b, err := redisbroker.New(redisbroker.Config{URL: os.Getenv("CHATBENCH_REDIS_URL"), Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}},
	{"rabbitmq", func(t *testing.T) func() broker.Broker {
		integration(t)
		exchange := fmt.Sprintf("cbtest-%d-%d", os.Getpid(), time.Now().UnixNano())
		return func() broker.Broker {
			b, err := rabbitmq.New(rabbitmq.Config{URL: os.Getenv("CHATBENCH_AMQP_URL"), Exchange: exchange})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}},
}

// integration skips under -short; otherwise the backend must be running
// (server.New fails with how to start it).
func integration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Redis and RabbitMQ (scripts/services.sh start): skipped with -short")
	}
}

// Several nodes over one backend: every message reaches every member of the
// room on every node, exactly once, and no member of another room.
func TestNodesShareRoomsThroughTheBackend(t *testing.T) {
	for _, bf := range nodeBrokers {
		t.Run(bf.name, func(t *testing.T) {
			newBroker := bf.make(t)
			room := fmt.Sprintf("nodes-%s-%s", bf.name, t.Name())
			nodes := []*testServer{
				startServer(t, config(func(c *server.Config) { c.Broker = newBroker() })),
				startServer(t, config(func(c *server.Config) { c.Broker = newBroker() })),
				startServer(t, config(func(c *server.Config) { c.Broker = newBroker() })),
			}
			var members []*member
			for i, n := range nodes {
				for j := range 2 {
					members = append(members, newMember(t, n.dial(fmt.Sprintf("room=%s&user=n%du%d", room, i, j))))
				}
				n.waitMembers(room, 2)
			}
			other := nodes[1].dial("room=elsewhere-" + room + "&user=o")
			nodes[1].waitMembers("elsewhere-"+room, 1)

			// Subscriptions reach the backend asynchronously: wait until a
			// message from each node reaches every member.
			waitSubscribed(t, nodes, members, room)

			const perNode = 5
			for i := range nodes {
				for k := range perNode {
					send(t, members[2*i].conn, fmt.Sprintf("from node %d #%d", i, k))
				}
			}
			for mi, c := range members {
				got := map[string]int{}
				for range len(nodes) * perNode {
					m := c.next(t)
					if m.Room != room {
						t.Fatalf("member %d got a message for room %q", mi, m.Room)
					}
					got[m.Message]++
				}
				for i := range nodes {
					for k := range perNode {
						if n := got[fmt.Sprintf("from node %d #%d", i, k)]; n != 1 {
							t.Errorf("member %d got message %d/%d %d times, want once", mi, i, k, n)
						}
					}
				}
			}
			send(t, other, "other room")
			if m := readMsg(t, other); m.Message != "other room" {
				t.Errorf("member of another room got %+v", m)
			}
		})
	}
}

// member reads a connection in the background so that tests can wait for
// a message with a timeout without closing the connection (a read context
// that expires closes a coder/websocket connection).
type member struct {
	conn *websocket.Conn
	ch   chan chatMsg
}

func newMember(t *testing.T, c *websocket.Conn) *member {
	m := &member{conn: c, ch: make(chan chatMsg, 4096)}
	go func() {
		defer close(m.ch)
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			var msg chatMsg
			if err := json.Unmarshal(b, &msg); err != nil {
				t.Errorf("bad frame %q", b)
				return
			}
			m.ch <- msg
		}
	}()
	return m
}

// next returns the next message, failing the test after 10 s.
func (m *member) next(t *testing.T) chatMsg {
	t.Helper()
	select {
	case msg, ok := <-m.ch:
		if !ok {
			t.Fatalf("connection closed")
		}
		return msg
	case <-time.After(10 * time.Second):
		t.Fatalf("no message in 10s")
	}
	return chatMsg{}
}

// waitSubscribed sends "sync" messages from each node until every member has
// seen one from every node, then drains what is left of them, so later
// reads see only the test's messages. Bounded: 100 rounds of at most 100 ms.
func waitSubscribed(t *testing.T, nodes []*testServer, members []*member, room string) {
	t.Helper()
	seen := make([]map[int]bool, len(members))
	for i := range seen {
		seen[i] = map[int]bool{}
	}
	for range 100 {
		for i := range nodes {
			send(t, members[2*i].conn, fmt.Sprintf("sync %d", i))
		}
		deadline := time.After(100 * time.Millisecond)
		done := func() bool {
			for _, s := range seen {
				if len(s) != len(nodes) {
					return false
				}
			}
			return true
		}
	collect:
		for !done() {
			for mi, m := range members {
				select {
				case msg := <-m.ch:
					var from int
					if _, err := fmt.Sscanf(msg.Message, "sync %d", &from); err == nil {
						seen[mi][from] = true
					}
					continue collect
				default:
				}
			}
			select {
			case <-deadline:
				break collect
			case <-time.After(time.Millisecond):
			}
		}
		if done() {
			// Drain the syncs still in flight: each node sends a barrier
			// after its syncs; messages from one publisher arrive in order,
			// so a member that has every node's barrier has every sync it
			// will ever get.
			for i := range nodes {
				send(t, members[2*i].conn, fmt.Sprintf("barrier %d", i))
			}
			for _, m := range members {
				barriers := map[int]bool{}
				for len(barriers) < len(nodes) {
					var from int
					if _, err := fmt.Sscanf(m.next(t).Message, "barrier %d", &from); err == nil {
						barriers[from] = true
					}
				}
			}
			return
		}
	}
	t.Fatalf("nodes did not see each other's messages in room %q", room)
}
