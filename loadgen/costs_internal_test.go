package loadgen

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A /metrics endpoint with broken samples is an error, never a panic or a
// zero; good samples are read, with the process's start time as identity.
func TestScrapeToleratesBrokenSamples(t *testing.T) {
	body := "# HELP x y\nprocess_resident_memory_bytes \nprocess_cpu_seconds_total\nprocess_start_time_seconds 17\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) }))
	defer srv.Close()
	m := serverMeter(nil, []string{srv.URL}, nil)
	read := m.read[0]
	if s, _, err := read(context.Background()); err == nil {
		t.Fatalf("broken samples: %+v; want an error", s)
	}
	body = "process_resident_memory_bytes 2.5e+07\nprocess_cpu_seconds_total 1.5\nprocess_start_time_seconds 17.25\n"
	s, id, err := read(context.Background())
	if err != nil || s.RSSBytes != 2.5e7 || s.CPUSec != 1.5 || !strings.HasSuffix(id, "/start 17.25") {
		t.Fatalf("got %+v %q, %v; want RSS 2.5e7, CPU 1.5, start 17.25", s, id, err)
	}
}

// A server that accepts and never answers costs one scrape timeout per
// sample, and all its nodes are read at once: three silent nodes cost one
// timeout, not three.
func TestSilentNodesCostOneTimeout(t *testing.T) {
	block := make(chan struct{})
	var urls []string
	for range 3 {
		srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
		defer srv.Close()
		urls = append(urls, srv.URL)
	}
	defer close(block) // before the servers close: they wait for their handlers
	m := serverMeter(nil, urls, nil)
	t0 := time.Now()
	m.sample(context.Background(), before)
	if d := time.Since(t0); d > scrapeTimeout+time.Second {
		t.Errorf("sampling 3 silent nodes took %v, want about one scrape timeout (%v)", d, scrapeTimeout)
	}
	for _, p := range m.procs {
		if p.Error == "" || p.Before != nil {
			t.Errorf("%s: error %q, sample %v; want an error and no sample", p.Name, p.Error, p.Before)
		}
	}
}
