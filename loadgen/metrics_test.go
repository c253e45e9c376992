package loadgen_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/chatbench/chatbench/loadgen"
)

// keepRegisterer registers collectors with a registry and keeps them there
// after Run unregisters them, so a test can read the final values.
type keepRegisterer struct {
	reg *prometheus.Registry
	cs  []prometheus.Collector
}

func (k *keepRegisterer) Register(c prometheus.Collector) error {
	k.cs = append(k.cs, c)
	return k.reg.Register(c)
}

func (k *keepRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := k.Register(c); err != nil {
			panic(err)
		}
	}
}

func (k *keepRegisterer) Unregister(prometheus.Collector) bool { return true }

func family(t *testing.T, mfs []*dto.MetricFamily, name string) *dto.MetricFamily {
	t.Helper()
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	t.Fatalf("metric %s not exposed", name)
	return nil
}

func single(t *testing.T, mfs []*dto.MetricFamily, name string) float64 {
	t.Helper()
	m := family(t, mfs, name).GetMetric()
	if len(m) != 1 {
		t.Fatalf("%s: %d series, want 1", name, len(m))
	}
	if g := m[0].GetGauge(); g != nil {
		return g.GetValue()
	}
	return m[0].GetCounter().GetValue()
}

// swarm's own metrics: served live over HTTP while it runs, lint-clean, and
// at the end equal to the results (loss from a server that drops every 10th
// delivery, foreign probes, the latency histogram of a server that holds
// every delivery 50 ms).
func TestSwarmMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	s := startBcast(t, &bcastServer{dropEvery: 10, foreign: true, delay: 50 * time.Millisecond})
	ms, err := loadgen.ListenMetrics("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	keep := &keepRegisterer{reg: ms.Registry}
	cfg := smallRun(s.url)
	cfg.Metrics = keep

	// Scrape over HTTP during the run until every client shows as connected.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	live := make(chan string, 1)
	go func() {
		defer close(live)
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+ms.Addr()+"/metrics", nil)
			if resp, err := client.Do(req); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.Contains(string(b), "\nchatbench_swarm_connections 20\n") &&
					!strings.Contains(string(b), "\nchatbench_swarm_deliveries_total 0\n") {
					live <- string(b)
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	body := <-live
	if body == "" {
		t.Fatal("no scrape during the run showed chatbench_swarm_connections 20 with deliveries")
	}
	for _, want := range []string{"# TYPE chatbench_swarm_latency_seconds histogram", `chatbench_swarm_latency_seconds_bucket{le="0.1"}`,
		"process_resident_memory_bytes", "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("live scrape lacks %q", want)
		}
	}

	if len(keep.cs) != 1 {
		t.Fatalf("Run registered %d collectors, want 1", len(keep.cs))
	}
	problems, err := testutil.CollectAndLint(keep.cs[0])
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
	mfs, err := ms.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sm := res.Summary
	if sm.Lost == 0 || sm.Foreign == 0 {
		t.Fatalf("the test server should lose deliveries and add foreign probes: %+v", sm)
	}
	for _, c := range []struct {
		name string
		want float64
	}{
		{"chatbench_swarm_clients", 20},
		{"chatbench_swarm_connections", 0}, // all closed at the end
		{"chatbench_swarm_expected_deliveries_total", float64(sm.Expected)},
		{"chatbench_swarm_lost_total", float64(sm.Lost)},
		{"chatbench_swarm_foreign_deliveries_total", float64(sm.Foreign)},
		{"chatbench_swarm_send_errors_total", float64(sm.SendErrors)},
	} {
		if got := single(t, mfs, c.name); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	if got := single(t, mfs, "chatbench_swarm_sends_total"); got < float64(sm.Sent) {
		t.Errorf("sends_total %v < steady-phase sent %d", got, sm.Sent)
	}
	deliv := single(t, mfs, "chatbench_swarm_deliveries_total")
	if deliv != float64(sm.Received) {
		t.Errorf("deliveries_total %v, want every probe received: %d", deliv, sm.Received)
	}
	h := family(t, mfs, "chatbench_swarm_latency_seconds").GetMetric()[0].GetHistogram()
	own := deliv - float64(sm.Foreign)
	if float64(h.GetSampleCount()) != own || h.GetSampleCount() < uint64(sm.Delivered) {
		t.Errorf("latency histogram has %d samples, want every own delivery: %v", h.GetSampleCount(), own)
	}
	if mean := h.GetSampleSum() / float64(h.GetSampleCount()); !(mean > 0) {
		t.Errorf("mean latency %v s", mean)
	}
	var prev uint64
	for _, b := range h.GetBucket() {
		if b.GetCumulativeCount() < prev {
			t.Errorf("bucket le=%v not cumulative", b.GetUpperBound())
		}
		prev = b.GetCumulativeCount()
	}
	// The server holds every delivery 50 ms: nothing can be in the buckets
	// below it, whatever the machine's load.
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() < 0.05 && b.GetCumulativeCount() != 0 {
			t.Errorf("bucket le=%v has %d deliveries, want 0 (every delivery is held 50 ms)", b.GetUpperBound(), b.GetCumulativeCount())
		}
	}
	if mean := h.GetSampleSum() / float64(h.GetSampleCount()); mean < 0.05 {
		t.Errorf("mean latency %.4f s, below the server's 50 ms hold", mean)
	}
}

// A registry that refuses the collector is a config error, before dialing.
func TestSwarmMetricsRegisterTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := loadgen.DefaultConfig()
	cfg.URLs, cfg.Clients, cfg.Metrics = []string{"ws://127.0.0.1:1/ws"}, 1, reg
	// Occupy the names first with a collector of the same descriptors.
	if err := reg.Register(prometheus.NewGauge(prometheus.GaugeOpts{Name: "chatbench_swarm_connections", Help: "x"})); err != nil {
		t.Fatal(err)
	}
	_, err := loadgen.Run(context.Background(), cfg)
	var ce *loadgen.ConfigError
	if err == nil || !errors.As(err, &ce) || !strings.Contains(err.Error(), "metrics") {
		t.Fatalf("Run = %v, want a ConfigError about the metrics", err)
	}
}
