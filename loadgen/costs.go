package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chatbench/chatbench/loadgen/results"
	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// clockTicks is USER_HZ, 100 on every Linux configuration Go supports: the
// resolution of the CPU times in /proc (and so of the process collectors of
// Go's and Python's Prometheus clients, which read them there).
const clockTicks = 100

// scrapeTimeout bounds one read of a server's /metrics: a server that
// accepts the connection and never answers costs the run this, not more.
const scrapeTimeout = 2 * time.Second

// meter reads the cost of a set of processes (a server's nodes, or swarm
// itself) at the moments a run samples: every process at once, each read
// bounded by scrapeTimeout.
type meter struct {
	procs  []results.Process
	read   []func(ctx context.Context) (results.Sample, string, error) // sample and identity
	client *http.Client
}

// serverMeter reads the cost of the processes with these pids (from /proc)
// and Prometheus endpoints.
func serverMeter(pids []int, urls []string, tlsCfg *tls.Config) *meter {
	m := &meter{client: wsclient.HTTPClient(tlsCfg)}
	for _, pid := range pids {
		m.add(results.Process{Name: fmt.Sprintf("pid %d", pid), Source: "proc"}, procReader(strconv.Itoa(pid)))
	}
	for _, u := range urls {
		m.add(results.Process{Name: u, Source: "prometheus"}, m.promReader(u))
	}
	return m
}

// selfMeter reads this process's own cost.
func selfMeter(name string) *meter {
	m := &meter{}
	m.add(results.Process{Name: name, Source: "proc"}, procReader("self"))
	return m
}

func (m *meter) add(p results.Process, read func(ctx context.Context) (results.Sample, string, error)) {
	p.ClockResS = 1.0 / clockTicks
	m.procs = append(m.procs, p)
	m.read = append(m.read, read)
}

// Sample moments.
type moment int

const (
	before moment = iota
	ramped        // after the ramp and settle: memory, and CPU from here
	end           // after grace
)

// sample reads every process and records the sample as moment at. A
// process that cannot be read keeps its first error; its cost is then not
// measured.
func (m *meter) sample(ctx context.Context, at moment) {
	var wg sync.WaitGroup
	for i := range m.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), scrapeTimeout)
			defer cancel()
			s, id, err := m.read[i](rctx)
			p := &m.procs[i]
			switch {
			case err != nil:
				if p.Error == "" {
					p.Error = err.Error()
				}
				return
			case p.Identity != "" && id != p.Identity:
				if p.Error == "" {
					p.Error = fmt.Sprintf("it restarted during the run (was %s, now %s)", p.Identity, id)
				}
				return
			}
			p.Identity = id
			switch at {
			case before:
				p.Before = &s
			case ramped:
				p.Ramped, p.SendStart = &s, &s
			case end:
				p.End = &s
			}
		}()
	}
	wg.Wait()
}

// cost returns the processes read so far with conns and received.
func (m *meter) cost(conns, received int64) results.Cost {
	return results.Cost{Processes: append([]results.Process(nil), m.procs...), Conns: conns, Received: received}
}

// procReader reads /proc/<pid>/stat and /proc/<pid>/status ("self" for this process).
func procReader(pid string) func(context.Context) (results.Sample, string, error) {
	return func(context.Context) (results.Sample, string, error) {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			return results.Sample{}, "", err
		}
		// Fields after the ")" that ends the command name: state is field 3;
		// utime, stime and starttime are fields 14, 15 and 22.
		i := bytes.LastIndexByte(stat, ')')
		f := strings.Fields(string(stat[i+1:]))
		if i < 0 || len(f) < 20 {
			return results.Sample{}, "", fmt.Errorf("/proc/%s/stat: unexpected format", pid)
		}
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		s := results.Sample{At: time.Now().UTC(), CPUSec: (ut + st) / clockTicks}
		status, err := os.ReadFile("/proc/" + pid + "/status")
		if err != nil {
			return results.Sample{}, "", err
		}
		realPid := pid
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				s.RSSBytes = kb * 1024
			}
			if v, ok := strings.CutPrefix(line, "Pid:"); ok {
				realPid = strings.TrimSpace(v)
			}
		}
		return s, fmt.Sprintf("%s/%s/pid %s/start %s", hostname(), bootID(), realPid, f[19]), nil
	}
}

var hostOnce = sync.OnceValues(func() (string, string) {
	h, _ := os.Hostname()
	b, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return h, strings.TrimSpace(string(b))
})

func hostname() string { h, _ := hostOnce(); return h }
func bootID() string   { _, b := hostOnce(); return b }

// promReader scrapes process_resident_memory_bytes,
// process_cpu_seconds_total and process_start_time_seconds from a
// Prometheus text endpoint.
func (m *meter) promReader(metricsURL string) func(context.Context) (results.Sample, string, error) {
	return func(ctx context.Context) (results.Sample, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
		if err != nil {
			return results.Sample{}, "", err
		}
		resp, err := m.client.Do(req)
		if err != nil {
			return results.Sample{}, "", err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return results.Sample{}, "", fmt.Errorf("scrape %s: HTTP %d", metricsURL, resp.StatusCode)
		}
		v, err := scrapeValues(resp.Body, "process_resident_memory_bytes", "process_cpu_seconds_total", "process_start_time_seconds")
		if err != nil {
			return results.Sample{}, "", fmt.Errorf("scrape %s: %w", metricsURL, err)
		}
		s := results.Sample{At: time.Now().UTC(), RSSBytes: v[0], CPUSec: v[1]}
		return s, fmt.Sprintf("%s/start %s", metricsURL, strconv.FormatFloat(v[2], 'f', -1, 64)), nil
	}
}

// scrapeValues reads the named unlabelled samples from Prometheus text;
// each must be present and parse.
func scrapeValues(r io.Reader, names ...string) ([]float64, error) {
	out := make([]float64, len(names))
	have := make([]bool, len(names))
	sc := bufio.NewScanner(io.LimitReader(r, 64<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		for i, n := range names {
			if f[0] != n {
				continue
			}
			if v, err := strconv.ParseFloat(f[1], 64); err == nil {
				out[i], have[i] = v, true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for i, n := range names {
		if !have[i] {
			return nil, fmt.Errorf("no %s sample (the server exposes no Prometheus process metrics: use --server-pid)", n)
		}
	}
	return out, nil
}
