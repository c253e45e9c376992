package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dashboardQuery is one target of one panel of deploy/grafana/chatbench.json.
type dashboardQuery struct {
	panel, legend, expr string
}

// dashboardQueries reads the dashboard and returns every panel's queries,
// checking what Grafana needs of each panel: a unique id, a place, the
// dashboard's Prometheus data source.
func dashboardQueries(t *testing.T) []dashboardQuery {
	t.Helper()
	b, err := os.ReadFile("../deploy/grafana/chatbench.json")
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Datasource   struct{ Type, UID string } `json:"datasource"`
		Expr         string                     `json:"expr"`
		LegendFormat string                     `json:"legendFormat"`
		RefID        string                     `json:"refId"`
	}
	type panel struct {
		ID         int                        `json:"id"`
		Type       string                     `json:"type"`
		Title      string                     `json:"title"`
		Datasource struct{ Type, UID string } `json:"datasource"`
		GridPos    struct{ H, W, X, Y int }   `json:"gridPos"`
		Targets    []target                   `json:"targets"`
		Panels     []panel                    `json:"panels"`
	}
	var d struct {
		UID        string  `json:"uid"`
		Title      string  `json:"title"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct{ Name, Type, Query string } `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if d.UID == "" || len(d.Templating.List) != 1 || d.Templating.List[0].Name != "datasource" || d.Templating.List[0].Query != "prometheus" {
		t.Errorf("dashboard uid %q templating %+v: want a uid and one Prometheus data source variable", d.UID, d.Templating.List)
	}
	var out []dashboardQuery
	ids := map[int]bool{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] || p.GridPos.W == 0 || p.GridPos.H == 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("panel %q: id %d (repeated?), gridPos %+v", p.Title, p.ID, p.GridPos)
			}
			ids[p.ID] = true
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
				t.Errorf("panel %q: data source %+v, %d targets", p.Title, p.Datasource, len(p.Targets))
			}
			for _, tg := range p.Targets {
				if tg.Datasource.UID != "${datasource}" || tg.RefID == "" || tg.Expr == "" {
					t.Errorf("panel %q: target %+v", p.Title, tg)
				}
				out = append(out, dashboardQuery{p.Title, tg.LegendFormat, tg.Expr})
			}
		}
	}
	walk(d.Panels)
	return out
}

// grafanaVars are the values Grafana gives its variables in a query here:
// $__rate_interval is at least four scrape intervals (1 s here).
var grafanaVars = strings.NewReplacer("$__rate_interval", "5s", "${__rate_interval}", "5s")

// Every query of the dashboard returns data from a real Prometheus
// scraping a real serve (Redis backend, so the backend panels have data)
// and a real swarm under load, and the values that are known are right:
// the connections, the backend up, nothing lost, no slow consumer, the
// deliveries per second the load asks for.
func TestGrafanaDashboardQueriesReturnData(t *testing.T) {
	if testing.Short() {
		t.Skip("needs prometheus, redis: skipped with -short")
	}
	queries := dashboardQueries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	_, serveAddr, _ := startServe(t, "--max-conns", "0", "--backend", "redis", "--redis-url", "redis://127.0.0.1:6379/0",
		"--redis-prefix", fmt.Sprintf("chatbench-grafana-test-%d:", os.Getpid()))
	// 200 clients in rooms of 20, 40 talking at 5/s: 4,000 deliveries/s.
	const n, perS = 200, 40 * 5 * 20
	swarmAddr := startSwarmMetrics(t, "-n", strconv.Itoa(n), "--room-size", "20", "--senders", "40", "--rate", "5/s",
		"--url", "ws://"+serveAddr+"/ws?room={{room}}&user={{user}}", "--warmup", "1s", "--duration", "40s", "--grace", "1s",
		"--settle", "0", "--metrics-url", "none", "--progress", "never")
	prom := startPrometheus(t, map[string]string{"serve": serveAddr, "swarm": swarmAddr})

	// Wait until every query returns a number and the known ones are
	// right (the rate windows must first cover the steady sending).
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		got, problems := evalDashboard(ctx, prom.base, queries)
		if len(problems) == 0 {
			if problems = checkDashboardValues(got, n, perS); len(problems) == 0 {
				logDashboard(t, got)
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after 40 s:\n%s\nprometheus output:\n%s", strings.Join(problems, "\n"), prom.out.String())
		case <-prom.done:
			t.Fatalf("prometheus exited: %s", prom.out.String())
		case <-tick.C:
		}
	}
}

// evalDashboard runs every query; it returns the samples by panel and
// legend, and the queries that returned no number.
func evalDashboard(ctx context.Context, base string, qs []dashboardQuery) (map[string][]promSample, []string) {
	got := map[string][]promSample{}
	var missing []string
	for _, q := range qs {
		samples, err := promInstant(ctx, base, grafanaVars.Replace(q.expr))
		ok := err == nil && len(samples) > 0
		for _, s := range samples {
			ok = ok && !math.IsNaN(s.Value)
		}
		if !ok {
			missing = append(missing, fmt.Sprintf("%s / %s: %s -> %v %v", q.panel, q.legend, q.expr, samples, err))
			continue
		}
		got[q.panel+" / "+q.legend] = samples
	}
	return got, missing
}

// sumOf adds up the values of one panel target's series.
func sumOf(got map[string][]promSample, key string) float64 {
	var s float64
	for _, x := range got[key] {
		s += x.Value
	}
	return s
}

// checkDashboardValues returns what is wrong with the known values.
func checkDashboardValues(got map[string][]promSample, n, perS float64) []string {
	var out []string
	sum := func(key string) float64 { return sumOf(got, key) }
	for key, want := range map[string]float64{
		"Connections / {{instance}}":                                n,
		"Swarm connections / open":                                  n,
		"Swarm connections / clients":                               n,
		"Backend up / {{backend}} {{instance}}":                     1,
		"Loss / lost / expected":                                    0,
		"Slow consumers and rate limits / disconnected: {{reason}}": 0,
	} {
		if v := sum(key); v != want {
			out = append(out, fmt.Sprintf("%s: %v, want %v", key, v, want))
		}
	}
	for _, key := range []string{"Messages and deliveries per second / deliveries out", "Swarm sends and deliveries per second / deliveries"} {
		if v := sum(key); v < perS*0.8 || v > perS*1.2 {
			out = append(out, fmt.Sprintf("%s: %.0f/s, want about %.0f/s (what the load asks for)", key, v, perS))
		}
	}
	for _, key := range []string{"Memory per connection / serve {{instance}}", "Server CPU per delivery / serve", "Fan-out latency / p99"} {
		if v := sum(key); v <= 0 || math.IsInf(v, 0) {
			out = append(out, fmt.Sprintf("%s: %v, want a positive number", key, v))
		}
	}
	return out
}

func logDashboard(t *testing.T, got map[string][]promSample) {
	sum := func(key string) float64 { return sumOf(got, key) }
	t.Logf("every query returned data; deliveries/s %.0f (serve) %.0f (swarm), p99 %.1f ms, memory/conn %.0f KB (serve), CPU/delivery %.2f µs",
		sum("Messages and deliveries per second / deliveries out"), sum("Swarm sends and deliveries per second / deliveries"),
		sum("Fan-out latency / p99")*1e3, sum("Memory per connection / serve {{instance}}")/1e3, sum("Server CPU per delivery / serve"))
}
