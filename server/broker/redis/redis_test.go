package redisbroker

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
	"github.com/redis/go-redis/v9"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/brokertest"
	"github.com/chatbench/chatbench/server/broker/internal/brokerkit"
)

// TestConformance runs the shared suite against the shared Redis, nodes of
// one run sharing a unique channel prefix.
func TestConformance(t *testing.T) {
	u := sharedURL(t)
	prefix := uniquePrefix(t)
	brokertest.Run(t, func(t *testing.T, id string) broker.Broker {
		b, err := New(Config{URL: u, Prefix: prefix, NodeID: id})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// TestStartUnreachable: Start fails within its bound, and the error names the
// URL, the cause and how to start Redis; Ready says why.
func TestStartUnreachable(t *testing.T) {
	port := freePort(t) // nothing listens there
	u := "redis://127.0.0.1:" + itoa(port) + "/0"
	b, err := New(Config{URL: u, StartTimeout: 3 * time.Second})
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
	for _, want := range []string{u, "connection refused", "redis-server --port " + itoa(port)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if b.Ready() == nil {
		t.Error("Ready() = nil after a failed Start")
	}
	if err := b.Publish(context.Background(), broker.Message{Room: "r"}); err == nil {
		t.Error("Publish succeeded on a broker that never connected")
	}
}

// TestBadURL: New rejects a malformed URL and redacts the password.
func TestBadURL(t *testing.T) {
	_, err := New(Config{URL: "redis://user:secret@127.0.0.1:6379/notanumber"})
	if err == nil {
		t.Fatal("New accepted a bad URL")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error leaks the password: %v", err)
	}
}

// TestMetricsLint: the collector registers, passes client_golang's linter,
// and exposes the four families with the backend label.
func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	b, err := New(Config{URL: "redis://127.0.0.1:1/0", Registerer: reg})
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
	n, err := testutil.GatherAndCount(reg, "chatbench_backend_errors_total", "chatbench_backend_reconnects_total",
		"chatbench_backend_up", "chatbench_backend_down_seconds_total", "chatbench_backend_dropped_total")
	if err != nil {
		t.Fatal(err)
	}
	if n != 13 { // 5 ops + reconnects + up + down seconds + 5 reasons
		t.Errorf("gathered %d series, want 13", n)
	}
	want := `
# HELP chatbench_backend_up 1 while the backend is connected, 0 otherwise.
# TYPE chatbench_backend_up gauge
chatbench_backend_up{backend="redis"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "chatbench_backend_up"); err != nil {
		t.Error(err)
	}
	// A second broker on the same registry is refused, not a panic.
	if _, err := New(Config{URL: "redis://127.0.0.1:1/0", Registerer: reg}); err == nil {
		t.Error("second registration on one registry succeeded")
	}
}

// TestSlowHandlerDropsAndCounts: a Handler that blocks does not block the
// reader: messages beyond the deliver queue are dropped and counted, the
// connection stays up, and delivery resumes once the handler does.
func TestSlowHandlerDropsAndCounts(t *testing.T) {
	u := sharedURL(t)
	prefix := uniquePrefix(t)
	pub, err := New(Config{URL: u, Prefix: prefix, NodeID: "pub"})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Start(context.Background(), func(broker.Message) {}); err != nil {
		t.Fatal(err)
	}
	sub, err := New(Config{URL: u, Prefix: prefix, NodeID: "sub", DeliverQueue: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	release := make(chan struct{})
	var mu sync.Mutex
	var got []string
	arrived := make(chan struct{}, 1)
	if err := sub.Start(context.Background(), func(m broker.Message) {
		<-release
		mu.Lock()
		got = append(got, string(m.Payload))
		mu.Unlock()
		select {
		case arrived <- struct{}{}:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	room := "slow-" + prefix
	sub.Subscribe(room)
	// Wait for the subscription: the handler is blocked, so watch Redis's
	// own subscriber count for the channel.
	rc := redis.NewClient(mustParse(t, u))
	defer rc.Close()
	if !waitUntil(5*time.Second, func() bool {
		n, _ := rc.PubSubNumSub(context.Background(), prefix+room).Result()
		return n[prefix+room] == 1
	}) {
		t.Fatal("subscription never appeared on the server")
	}
	const n = 200
	for i := range n {
		if err := pub.Publish(context.Background(), broker.Message{Room: room, Origin: "pub", Payload: []byte(itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	if !waitUntil(5*time.Second, func() bool { return sub.Stats().Dropped[brokerkit.DropDeliverFull] > 0 }) {
		t.Fatalf("no drops counted with a blocked handler: %s", fmtStats(sub.Stats()))
	}
	if !waitUntil(5*time.Second, func() bool {
		return sub.Stats().Dropped[brokerkit.DropDeliverFull] >= n-5 // 4 queued + 1 in the handler
	}) {
		t.Fatalf("dropped %d of %d, want >= %d: the reader waited for the handler", sub.Stats().Dropped[brokerkit.DropDeliverFull], n, n-5)
	}
	if err := sub.Ready(); err != nil {
		t.Fatalf("Ready with a slow handler: %v", err)
	}
	close(release)
	// The handler now drains what was accepted (1 in the handler + 4
	// queued); only then is there room for a new message.
	if !waitUntil(5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 5 }) {
		mu.Lock()
		t.Fatalf("handled %d after release, want 5 (1 in the handler + DeliverQueue 4)", len(got))
	}
	if err := pub.Publish(context.Background(), broker.Message{Room: room, Origin: "pub", Payload: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		mu.Lock()
		last := ""
		if len(got) > 0 {
			last = got[len(got)-1]
		}
		mu.Unlock()
		if last == "after" {
			break
		}
		select {
		case <-arrived:
		case <-deadline:
			t.Fatal("delivery did not resume after the handler unblocked")
		}
	}
}

// TestMalformedCounted: a foreign PUBLISH on a subscribed channel is dropped
// and counted, and does not disturb delivery.
func TestMalformedCounted(t *testing.T) {
	u := sharedURL(t)
	prefix := uniquePrefix(t)
	a := brokertest.StartNode(t, func(t *testing.T, id string) broker.Broker {
		b, err := New(Config{URL: u, Prefix: prefix, NodeID: id})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}, "a")
	room := "malformed"
	a.Subscribe(room)
	brokertest.AwaitSubscribed(t, a, a, room)
	rc := redis.NewClient(mustParse(t, u))
	defer rc.Close()
	if err := rc.Publish(context.Background(), prefix+room, "not ours").Err(); err != nil {
		t.Fatal(err)
	}
	b := a.Broker.(*Broker)
	if !waitUntil(5*time.Second, func() bool { return b.Stats().Dropped[brokerkit.DropMalformed] == 1 }) {
		t.Fatalf("malformed message not counted: %s", fmtStats(b.Stats()))
	}
	if b.Stats().Errors[brokerkit.OpReceive] != 1 {
		t.Errorf("errors{op=receive} = %d, want 1", b.Stats().Errors[brokerkit.OpReceive])
	}
	if len(a.Recorder().Messages(room)) != 0 {
		t.Error("malformed message reached the handler")
	}
}

func TestPublishBeforeStart(t *testing.T) {
	b, err := New(Config{URL: "redis://127.0.0.1:1/0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Publish(context.Background(), broker.Message{Room: "r"}); err == nil || errors.Is(err, broker.ErrClosed) {
		t.Errorf("Publish before Start = %v, want a not-started error", err)
	}
}

func mustParse(t *testing.T, u string) *redis.Options {
	t.Helper()
	o, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestPublishQueueFull: with a one-message queue, a burst overflows it;
// every overflow is an error to the caller (ErrQueueFull) and is counted.
func TestPublishQueueFull(t *testing.T) {
	u := sharedURL(t)
	b, err := New(Config{URL: u, Prefix: uniquePrefix(t), PublishQueue: 1})
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
