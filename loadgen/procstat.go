package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// ProcSample is a process's resident memory and CPU time at one moment.
type ProcSample struct {
	RSSBytes float64
	CPUSec   float64
	OK       bool
}

// clockTicks is USER_HZ, 100 on every Linux configuration Go supports.
const clockTicks = 100

// ReadProc reads /proc/<pid>/stat and /proc/<pid>/status ("self" for this process).
func ReadProc(pid string) (ProcSample, error) {
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return ProcSample{}, err
	}
	// Fields after the ")" that ends the command name: state is field 3;
	// utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return ProcSample{}, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return ProcSample{}, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	s := ProcSample{CPUSec: (ut + st) / clockTicks, OK: true}
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return ProcSample{}, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			s.RSSBytes = kb * 1024
		}
	}
	return s, nil
}

// scrapeProm reads process_resident_memory_bytes and
// process_cpu_seconds_total from a Prometheus text endpoint.
func scrapeProm(ctx context.Context, client *http.Client, metricsURL string) (ProcSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return ProcSample{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return ProcSample{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ProcSample{}, fmt.Errorf("scrape %s: HTTP %d", metricsURL, resp.StatusCode)
	}
	var s ProcSample
	var haveRSS, haveCPU bool
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 64<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue // a broken sample is not a measurement
		}
		switch f[0] {
		case "process_resident_memory_bytes":
			s.RSSBytes, haveRSS = v, true
		case "process_cpu_seconds_total":
			s.CPUSec, haveCPU = v, true
		}
	}
	if err := sc.Err(); err != nil {
		return ProcSample{}, err
	}
	if !haveRSS || !haveCPU {
		return ProcSample{}, fmt.Errorf("scrape %s: no process_resident_memory_bytes/process_cpu_seconds_total", metricsURL)
	}
	s.OK = true
	return s, nil
}
