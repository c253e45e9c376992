package rabbitmq

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/brokertest"
	"github.com/chatbench/chatbench/server/broker/internal/brokerkit"
)

func factory(u, exchange string, mod func(*Config)) brokertest.NewNode {
	return func(t *testing.T, id string) broker.Broker {
		cfg := Config{URL: u, Exchange: exchange, NodeID: id}
		if mod != nil {
			mod(&cfg)
		}
		b, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// TestConformance runs the shared suite against the shared RabbitMQ, nodes
// of one run sharing a unique exchange.
func TestConformance(t *testing.T) {
	u := sharedURL(t)
	brokertest.Run(t, factory(u, testExchange(t, u), nil))
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
	u := sharedURL(t)
	newNode := factory(u, testExchange(t, u), nil)
	a := brokertest.StartNode(t, newNode, "a")
	b := brokertest.StartNode(t, newNode, "b")
	room := brokertest.Room(t, strings.Repeat("long.", 100))
	b.Subscribe(room)
	brokertest.AwaitSubscribed(t, a, b, room)
	if err := a.Publish(context.Background(), broker.Message{Room: room, Origin: "a", Payload: []byte("x")}); err != nil {
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
	port := freePort(t)
	u := "amqp://guest:guest@127.0.0.1:" + strconv.Itoa(port) + "/"
	b, err := New(Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	t0 := time.Now()
	err = b.Start(context.Background(), func(broker.Message) {})
	if err == nil {
		t.Fatal("Start succeeded with nothing listening")
	}
	if d := time.Since(t0); d > 4*time.Second {
		t.Errorf("Start took %v, want < 4s", d)
	}
	for _, want := range []string{"127.0.0.1:" + strconv.Itoa(port), "connection refused", "rabbitmq-server"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "guest:guest") {
		t.Errorf("error leaks the password: %v", err)
	}
	if b.Ready() == nil {
		t.Error("Ready() = nil after a failed Start")
	}
}

// TestStartBlackhole: a listener that never answers the AMQP handshake
// still makes Start fail within its bound.
func TestStartBlackhole(t *testing.T) {
	l, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	b, err := New(Config{URL: "amqp://guest:guest@" + l.Addr().String() + "/", StartTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	t0 := time.Now()
	if err := b.Start(context.Background(), func(broker.Message) {}); err == nil {
		t.Fatal("Start succeeded against a silent listener")
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("Start took %v with StartTimeout 1s", d)
	}
}

// TestMetricsLint: the collector passes client_golang's linter and exposes
// the four families with backend="rabbitmq".
func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	b, err := New(Config{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	problems, err := testutil.CollectAndLint(b.Collector())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	want := `
# HELP chatbench_backend_reconnects_total Successful reconnections to the backend after the connection was lost.
# TYPE chatbench_backend_reconnects_total counter
chatbench_backend_reconnects_total{backend="rabbitmq"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "chatbench_backend_reconnects_total"); err != nil {
		t.Error(err)
	}
	n, err := testutil.GatherAndCount(reg)
	if err != nil {
		t.Fatal(err)
	}
	if n != 13 { // 5 ops + reconnects + up + down seconds + 5 reasons
		t.Errorf("gathered %d series, want 13", n)
	}
}

// TestSlowHandlerDropsAndCounts: a blocked Handler never blocks the AMQP
// consumer: overflow is dropped and counted, the node stays ready, and
// delivery resumes when the handler does.
func TestSlowHandlerDropsAndCounts(t *testing.T) {
	u := sharedURL(t)
	ex := testExchange(t, u)
	pub := brokertest.StartNode(t, factory(u, ex, nil), "pub")
	sub, err := New(Config{URL: u, Exchange: ex, NodeID: "sub", DeliverQueue: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	release := make(chan struct{})
	var mu sync.Mutex
	var last string
	handled := 0
	gate := make(chan struct{}, 1)
	if err := sub.Start(context.Background(), func(m broker.Message) {
		select {
		case gate <- struct{}{}: // the first message proves the binding
		default:
		}
		<-release
		mu.Lock()
		last = string(m.Payload)
		handled++
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	room := brokertest.Room(t, "slow")
	sub.Subscribe(room)
	// Probe until the (blocked) handler has been entered once.
	entered := false
	for i := 0; i < 100 && !entered; i++ {
		_ = pub.Publish(context.Background(), broker.Message{Room: room, Origin: "probe", Payload: []byte("probe")})
		select {
		case <-gate:
			entered = true
		case <-time.After(50 * time.Millisecond):
		}
	}
	if !entered {
		t.Fatal("binding never became live")
	}
	const n = 300
	for i := range n {
		if err := pub.Publish(context.Background(), broker.Message{Room: room, Origin: "pub", Payload: []byte(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	if !waitUntil(5*time.Second, func() bool { return sub.Stats().Dropped[brokerkit.DropDeliverFull] >= n-5 }) {
		t.Fatalf("dropped %d of %d with a blocked handler, want >= %d: the consumer waited for the handler",
			sub.Stats().Dropped[brokerkit.DropDeliverFull], n, n-5)
	}
	if err := sub.Ready(); err != nil {
		t.Fatalf("Ready with a slow handler: %v", err)
	}
	close(release)
	// The handler now drains what was accepted (1 in the handler + 4
	// queued); only then is there room for a new message.
	if !waitUntil(5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return handled >= 5 }) {
		mu.Lock()
		t.Fatalf("handled %d after release, want 5 (1 in the handler + DeliverQueue 4)", handled)
	}
	if err := pub.Publish(context.Background(), broker.Message{Room: room, Origin: "pub", Payload: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return last == "after" }) {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("delivery did not resume after the handler unblocked: last %q, ready %v, stats %+v", last, sub.Ready(), sub.Stats())
	}
}

// TestMalformedCounted: a foreign message without chatbench's headers is
// dropped and counted, and not handed to the Handler.
func TestMalformedCounted(t *testing.T) {
	u := sharedURL(t)
	ex := testExchange(t, u)
	a := brokertest.StartNode(t, factory(u, ex, nil), "a")
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
	if err := ch.PublishWithContext(context.Background(), ex, RoutingKey(room), false, false, amqp.Publishing{Body: []byte("foreign")}); err != nil {
		t.Fatal(err)
	}
	b := a.Broker.(*Broker)
	if !waitUntil(5*time.Second, func() bool { return b.Stats().Dropped[brokerkit.DropMalformed] == 1 }) {
		t.Fatalf("malformed message not counted: %+v", b.Stats())
	}
	if len(a.Recorder().Messages(room)) != 0 {
		t.Error("malformed message reached the handler")
	}
}

// TestPublishQueueFull: with a one-message queue, a burst overflows it;
// every overflow is an error to the caller (ErrQueueFull) and is counted.
func TestPublishQueueFull(t *testing.T) {
	u := sharedURL(t)
	b, err := New(Config{URL: u, Exchange: testExchange(t, u), PublishQueue: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Start(context.Background(), func(broker.Message) {}); err != nil {
		t.Fatal(err)
	}
	full := 0
	for i := 0; i < 100000 && full < 10; i++ {
		err := b.Publish(context.Background(), broker.Message{Room: "q", Origin: "a", Payload: []byte("x")})
		if errors.Is(err, ErrQueueFull) {
			full++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if full == 0 {
		t.Fatal("a one-message queue never filled during a 100000-message burst")
	}
	s := b.Stats()
	if s.Dropped[brokerkit.DropQueueFull] != uint64(full) || s.Errors[brokerkit.OpPublish] != uint64(full) {
		t.Errorf("%d ErrQueueFull returned, counted dropped=%d errors=%d", full, s.Dropped[brokerkit.DropQueueFull], s.Errors[brokerkit.OpPublish])
	}
}
