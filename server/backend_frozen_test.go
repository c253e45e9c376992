package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server"
	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/brokertest"
	"github.com/chatbench/chatbench/server/broker/rabbitmq"
	"github.com/chatbench/chatbench/server/broker/redisbroker"
	"github.com/prometheus/client_golang/prometheus"
)

// A frozen backend (SIGSTOP: its connections stay open, nothing answers)
// flips /readyz to 503 and chatbench_backend_up to 0 within 3 s with the
// default health check (every 500 ms, 1.5 s timeout), and
// chatbench_backend_down_seconds_total counts the outage from the start of
// the check that failed: at least the check's timeout when it is noticed.
// After the thaw the node is ready again by itself.
func TestFrozenBackendFlipsReadyz(t *testing.T) {
	integration(t)
	backends := []struct {
		name  string
		start func(t *testing.T, reg prometheus.Registerer) (brokertest.Process, broker.Broker, error)
	}{
		{"redis", func(t *testing.T, reg prometheus.Registerer) (brokertest.Process, broker.Broker, error) {
			p := brokertest.StartRedis(t)
			b, err := redisbroker.New(redisbroker.Config{URL: p.URL(), Registerer: reg})
			return p, b, err
		}},
		{"rabbitmq", func(t *testing.T, reg prometheus.Registerer) (brokertest.Process, broker.Broker, error) {
			p := brokertest.StartRabbit(t)
			b, err := rabbitmq.New(rabbitmq.Config{URL: p.URL(), Registerer: reg})
			return p, b, err
		}},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			reg := server.NewRegistry()
			p, b, err := be.start(t, reg)
			if err != nil {
				t.Fatal(err)
			}
			ts := startServer(t, config(func(c *server.Config) { c.Broker, c.Registry = b, reg }))
			testFrozenBackend(t, ts, p)
		})
	}
}

func testFrozenBackend(t *testing.T, ts *testServer, p brokertest.Process) {
	readyz := func() int {
		resp, err := http.Get(ts.base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := readyz(); code != 200 {
		t.Fatalf("/readyz %d before the freeze", code)
	}
	frozen := time.Now()
	p.Freeze(t)
	thawed := false
	defer func() {
		if !thawed {
			p.Thaw(t)
		}
	}()
	if !brokertest.WaitUntil(10*time.Second, func() bool { return readyz() == 503 }) {
		t.Fatal("/readyz still 200 10s after the backend froze")
	}
	noticed := time.Since(frozen)
	down := counter(t, ts, "chatbench_backend_down_seconds_total")
	up := counter(t, ts, "chatbench_backend_up")
	t.Logf("frozen backend: /readyz 503 after %v; down_seconds %.3f, up %v", noticed, down, up)
	if noticed > 3*time.Second {
		t.Errorf("/readyz flipped %v after the freeze, want within 3s", noticed)
	}
	if up != 0 {
		t.Errorf("chatbench_backend_up = %v with /readyz 503, want 0", up)
	}
	// The failed check started at most one timeout before the freeze (it
	// was waiting for an answer then) and at least one timeout before it
	// was noticed.
	timeout := broker.DefaultHealthTimeout.Seconds()
	if hi := time.Since(frozen).Seconds() + timeout; down < timeout || down > hi {
		t.Errorf("down_seconds %.3f when noticed, want within [%.3f, %.3f]: the outage counts from the failed check's start", down, timeout, hi)
	}
	p.Thaw(t)
	thawed = true
	if !brokertest.WaitUntil(20*time.Second, func() bool { return readyz() == 200 }) {
		t.Fatal("/readyz not 200 within 20s of the thaw")
	}
	if u := counter(t, ts, "chatbench_backend_up"); u != 1 {
		t.Errorf("chatbench_backend_up = %v after recovery, want 1", u)
	}
}
