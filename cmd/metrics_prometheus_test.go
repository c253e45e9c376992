package cmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// prometheusPath finds Debian's prometheus; the test fails (not skips)
// without it, saying how to install it.
func prometheusPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHATBENCH_PROMETHEUS"), "/usr/bin/prometheus"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	t.Fatal("prometheus not found: install it with 'apt-get install prometheus' (scripts/services.sh start does), or set CHATBENCH_PROMETHEUS")
	return ""
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// promSample is one series of an instant query's result.
type promSample struct {
	Metric map[string]string
	Value  float64
}

// promInstant runs an instant query through Prometheus's HTTP API.
func promInstant(ctx context.Context, base, query string) ([]promSample, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", query, body.Error)
	}
	var out []promSample
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %v", query, r.Value[1])
		}
		out = append(out, promSample{Metric: r.Metric, Value: v})
	}
	return out, nil
}

// promQuery runs an instant query and returns each series' value by the
// value of label.
func promQuery(ctx context.Context, base, query, label string) (map[string]float64, error) {
	samples, err := promInstant(ctx, base, query)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, s := range samples {
		out[s.Metric[label]] = s.Value
	}
	return out, nil
}

// startSwarmMetrics starts "chatbench swarm args... --metrics-addr
// 127.0.0.1:0" and returns the address of its metrics.
func startSwarmMetrics(t *testing.T, args ...string) string {
	t.Helper()
	swarm := chatbench(append(append([]string{"swarm"}, args...), "--metrics-addr", "127.0.0.1:0")...)
	swarmErr, err := swarm.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := swarm.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = swarm.Process.Kill(); _ = swarm.Wait() })
	line, err := bufio.NewReader(swarmErr).ReadString('\n')
	const prefix = "chatbench swarm: metrics on http://"
	if err != nil || !strings.HasPrefix(line, prefix) {
		t.Fatalf("swarm's first stderr line %q (%v), want %q...", line, err, prefix)
	}
	go func() { _, _ = io.Copy(io.Discard, swarmErr) }()
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(line), prefix), "/metrics")
}

// promServer is a Prometheus process of a test.
type promServer struct {
	base string        // http://ADDR
	out  *bytes.Buffer // its output
	done chan struct{} // closed when it exited
}

// startPrometheus starts Debian's prometheus scraping each job's target
// every second; it is stopped when the test ends.
func startPrometheus(t *testing.T, targets map[string]string) *promServer {
	t.Helper()
	promBin := prometheusPath(t)
	dir := t.TempDir()
	conf := "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
	for job, addr := range targets {
		conf += fmt.Sprintf("  - job_name: %s\n    static_configs: [{targets: [%q]}]\n", job, addr)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	promAddr := freeLoopbackAddr(t)
	prom := exec.Command(promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr, "--log.level=warn")
	ps := &promServer{base: "http://" + promAddr, out: &bytes.Buffer{}, done: make(chan struct{})}
	prom.Stdout, prom.Stderr = ps.out, ps.out
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = prom.Wait(); close(ps.done) }()
	t.Cleanup(func() {
		_ = prom.Process.Signal(syscall.SIGTERM)
		select {
		case <-ps.done:
		case <-time.After(5 * time.Second):
			_ = prom.Process.Kill()
			<-ps.done
		}
	})
	return ps
}

// A real Prometheus server scrapes a serve node and a swarm run
// (--metrics-addr) and reads their values back through its query API.
func TestPrometheusScrapesServeAndSwarm(t *testing.T) {
	if testing.Short() {
		t.Skip("needs prometheus: skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	_, serveAddr, _ := startServe(t, "--max-conns", "0")
	const n = 40
	swarmAddr := startSwarmMetrics(t, "-n", strconv.Itoa(n), "--url", "ws://"+serveAddr+"/ws?room=r&user={{user}}",
		"--rate", "2/s", "--warmup", "1s", "--duration", "25s", "--grace", "1s", "--settle", "0",
		"--metrics-url", "none", "--progress", "never")
	prom := startPrometheus(t, map[string]string{"serve": serveAddr, "swarm": swarmAddr})
	base := prom.base
	var last string
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		swarmConns, err1 := promQuery(ctx, base, "chatbench_swarm_connections", "job")
		serveConns, err2 := promQuery(ctx, base, "chatbench_connections", "job")
		deliv, err3 := promQuery(ctx, base, "chatbench_swarm_deliveries_total", "job")
		p99, err4 := promQuery(ctx, base, "histogram_quantile(0.99, chatbench_swarm_latency_seconds_bucket)", "job")
		last = fmt.Sprintf("swarm connections %v, serve connections %v, deliveries %v, p99 %v s (errors %v %v %v %v)",
			swarmConns, serveConns, deliv, p99, err1, err2, err3, err4)
		if swarmConns["swarm"] == n && serveConns["serve"] == n && deliv["swarm"] > 0 &&
			p99["swarm"] > 0 && p99["swarm"] < 1 && !math.IsNaN(p99["swarm"]) {
			t.Logf("read back through Prometheus: %s", last)
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Prometheus never read back the expected values; last: %s\nprometheus output:\n%s", last, prom.out.String())
		case <-prom.done:
			t.Fatalf("prometheus exited: %s", prom.out.String())
		case <-tick.C:
		}
	}
}
