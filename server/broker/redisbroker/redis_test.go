package redisbroker

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/brokertest"
	"github.com/chatbench/chatbench/server/broker/internal/brokerkit"
)

// TestConformance runs the shared suites against the shared Redis, nodes of
// one run sharing a unique channel prefix.
func TestConformance(t *testing.T) {
	newNode, _ := factory(Config{URL: sharedURL(t)})
	brokertest.Run(t, newNode)
}

func TestSupervised(t *testing.T) {
	newNode, _ := factory(Config{URL: sharedURL(t)})
	brokertest.RunSupervised(t, newNode)
}

// TestFaults runs the fault suite on a redis-server of the test's own.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts its own redis-server (skipped with -short)")
	}
	srv := brokertest.StartRedis(t)
	newNode, _ := factory(Config{URL: srv.URL()})
	brokertest.RunFaults(t, srv, newNode)
}

// TestStartUnreachable: Start fails within its bound, and the error names the
// URL, the cause and how to start Redis.
func TestStartUnreachable(t *testing.T) {
	port := strconv.Itoa(brokertest.FreePort(t)) // nothing listens there
	u := "redis://127.0.0.1:" + port + "/0"
	b, err := New(Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	brokertest.StartFails(t, b, u, "connection refused", "redis-server --port "+port)
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

// TestMetricsLint: the collector registers and lints; a second broker on the
// same registry is refused, not a panic.
func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	b, err := New(Config{URL: "redis://127.0.0.1:1/0", Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	brokertest.LintMetrics(t, reg, b.Collector(), "redis")
	if _, err := New(Config{URL: "redis://127.0.0.1:1/0", Registerer: reg}); err == nil {
		t.Error("second registration on one registry succeeded")
	}
}

// TestMalformedCounted: a foreign PUBLISH on a subscribed channel is dropped
// and counted, and does not disturb delivery.
func TestMalformedCounted(t *testing.T) {
	u := sharedURL(t)
	newNode, prefix := factory(Config{URL: u})
	a := brokertest.StartNode(t, newNode, "a")
	room := brokertest.Room(t, "malformed")
	a.Subscribe(room)
	brokertest.AwaitSubscribed(t, a, a, room)
	rc := redis.NewClient(mustParse(t, u))
	defer rc.Close()
	if err := rc.Publish(context.Background(), prefix+room, "not ours").Err(); err != nil {
		t.Fatal(err)
	}
	b := a.Broker.(*Broker)
	if !brokertest.WaitUntil(5*time.Second, func() bool { return b.Stats().Dropped[brokerkit.DropMalformed] == 1 }) {
		t.Fatalf("malformed message not counted: %+v", b.Stats())
	}
	if b.Stats().Errors[brokerkit.OpReceive] != 1 {
		t.Errorf("errors{op=receive} = %d, want 1", b.Stats().Errors[brokerkit.OpReceive])
	}
	if len(a.Recorder().Messages(room)) != 0 {
		t.Error("malformed message reached the handler")
	}
}

// TestDecode: the envelope round-trips, and a foreign or truncated one is
// refused.
func TestDecode(t *testing.T) {
	m := broker.Message{Room: "r", Origin: "node-1", Payload: []byte(`{"x":1}`)}
	origin, payload, err := decode(string(encode(m)))
	if err != nil || origin != "node-1" || payload != `{"x":1}` {
		t.Fatalf("decode(encode) = %q %q %v", origin, payload, err)
	}
	for _, bad := range []string{"", "x", "\x01", "\x01\x05ab", "\x02\x00"} {
		if _, _, err := decode(bad); err == nil {
			t.Errorf("decode(%q) accepted", bad)
		}
	}
}
