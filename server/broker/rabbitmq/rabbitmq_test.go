package rabbitmq

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/brokertest"
	"github.com/chatbench/chatbench/server/broker/internal/brokerkit"
)

// TestConformance runs the shared suite against the shared RabbitMQ, nodes
// of one run sharing a unique exchange.
func TestConformance(t *testing.T) {
	newNode, _ := factory(t, sharedURL(t))
	brokertest.Run(t, newNode)
}

func TestSupervised(t *testing.T) {
	newNode, _ := factory(t, sharedURL(t))
	brokertest.RunSupervised(t, newNode)
}

// TestFaults runs the fault suite on a RabbitMQ node of the test's own.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts its own rabbitmq node (skipped with -short)")
	}
	node := brokertest.StartRabbit(t)
	newNode, _ := factory(t, node.URL())
	brokertest.RunFaults(t, node, newNode)
}

// TestRoutingKey: keys never contain topic syntax, distinct rooms get
// distinct keys, and long rooms still fit AMQP's 255 bytes.
func TestRoutingKey(t *testing.T) {
	rooms := []string{"", "a", "a.b", "a.*", "#", "a.#.b", "ü☃", strings.Repeat("x", 191), strings.Repeat("x", 192), strings.Repeat("y.", 500)}
	seen := map[string]string{}
	for _, r := range rooms {
		k := RoutingKey(r)
		if strings.ContainsAny(k, ".*#") {
			t.Errorf("RoutingKey(%q) = %q contains topic syntax", r, k)
		}
		if len(k) == 0 || len(k) > 255 {
			t.Errorf("RoutingKey(%q) has length %d", r, len(k))
		}
		if prev, ok := seen[k]; ok {
			t.Errorf("rooms %q and %q share key %q", prev, r, k)
		}
		seen[k] = r
	}
}

// TestLongRoomName: a room too long to encode in a routing key (hashed
// instead) still reaches exactly its subscribers.
func TestLongRoomName(t *testing.T) {
	newNode, _ := factory(t, sharedURL(t))
	a := brokertest.StartNode(t, newNode, "a")
	b := brokertest.StartNode(t, newNode, "b")
	room := brokertest.Room(t, strings.Repeat("long.", 100))
	b.Subscribe(room)
	brokertest.AwaitSubscribed(t, a, b, room)
	if err := a.Publish(broker.Message{Room: room, Origin: "a", Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if !b.Recorder().Wait(5*time.Second, func() bool { return len(b.Recorder().Messages(room)) == 1 }) {
		t.Fatal("no delivery in a long-named room")
	}
	if got := b.Recorder().Messages(room)[0]; got.Room != room {
		t.Errorf("room = %q, want the full name", got.Room)
	}
}

// TestStartUnreachable: Start fails within its bound with the URL
// (password redacted), the cause and how to start RabbitMQ.
func TestStartUnreachable(t *testing.T) {
	addr := "127.0.0.1:" + strconv.Itoa(brokertest.FreePort(t))
	b, err := New(Config{URL: "amqp://guest:guest@" + addr + "/"})
	if err != nil {
		t.Fatal(err)
	}
	err = brokertest.StartFails(t, b, addr, "connection refused", "rabbitmq-server")
	if strings.Contains(err.Error(), "guest:guest") {
		t.Errorf("error leaks the password: %v", err)
	}
}

// TestStartBlackhole: a listener that never answers the AMQP handshake
// still makes Start fail within its bound.
func TestStartBlackhole(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	b, err := New(Config{URL: "amqp://guest:guest@" + l.Addr().String() + "/", Lifecycle: broker.Lifecycle{StartTimeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	t0 := time.Now()
	if err := b.Start(context.Background(), "a", func(broker.Message) {}); err == nil {
		t.Fatal("Start succeeded against a silent listener")
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("Start took %v with StartTimeout 1s", d)
	}
}

// TestMetricsLint: the collector registers and lints.
func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	b, err := New(Config{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	brokertest.LintMetrics(t, reg, b.Collector(), "rabbitmq")
}

// TestMalformedCounted: a foreign message without chatbench's headers is
// dropped and counted, and not handed to the Handler.
func TestMalformedCounted(t *testing.T) {
	u := sharedURL(t)
	newNode, exchange := factory(t, u)
	a := brokertest.StartNode(t, newNode, "a")
	room := brokertest.Room(t, "m")
	a.Subscribe(room)
	brokertest.AwaitSubscribed(t, a, a, room)
	c, err := amqp.Dial(u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	b := a.Broker.(*Broker)
	if err := ch.PublishWithContext(context.Background(), exchange, RoutingKey(room), false, false, amqp.Publishing{Body: []byte("foreign")}); err != nil {
		t.Fatal(err)
	}
	if !brokertest.WaitUntil(5*time.Second, func() bool { return b.Stats().Dropped[brokerkit.DropMalformed] == 1 }) {
		t.Fatalf("malformed message not counted: %+v", b.Stats())
	}
	if len(a.Recorder().Messages(room)) != 0 {
		t.Error("malformed message reached the handler")
	}
}

// TestHealthCheckNotInsidePublishes: health checks as often as the ticker
// allows while large messages (several body frames each) are published
// never split a publish's frames (the server would close the connection
// with UNEXPECTED_FRAME): no reconnect, no receive error, all delivered.
func TestHealthCheckNotInsidePublishes(t *testing.T) {
	newNode, _ := factory(t, sharedURL(t))
	l := broker.Lifecycle{HealthInterval: time.Millisecond, HealthTimeout: 2 * time.Second}
	a := brokertest.StartNodeWith(t, newNode, "a", l)
	b := brokertest.StartNodeWith(t, newNode, "b", l)
	room := brokertest.Room(t, "frames")
	b.Subscribe(room)
	brokertest.AwaitSubscribed(t, a, b, room)
	const n = 20000
	for i := 0; i < n; {
		switch err := a.Publish(broker.Message{Room: room, Origin: "a", Payload: []byte("x")}); {
		case err == nil:
			i++
		case errors.Is(err, broker.ErrQueueFull):
			time.Sleep(time.Millisecond) // the publisher drains the queue: no signal to wait on
		default:
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	if !b.Recorder().Wait(30*time.Second, func() bool { return len(b.Recorder().Messages(room)) == n }) {
		t.Errorf("b got %d of %d", len(b.Recorder().Messages(room)), n)
	}
	if s := a.Broker.(*Broker).Stats(); s.Reconnects != 0 || s.Errors[brokerkit.OpReceive] != 0 {
		t.Errorf("publisher stats %+v: the connection was lost while publishing", s)
	}
}
