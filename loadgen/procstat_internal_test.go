package loadgen

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A /metrics endpoint with broken samples is an error, never a panic; good
// samples are read.
func TestScrapePromToleratesBrokenSamples(t *testing.T) {
	body := "# HELP x y\nprocess_resident_memory_bytes \nprocess_cpu_seconds_total\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) }))
	defer srv.Close()
	if s, err := scrapeProm(context.Background(), srv.Client(), srv.URL); err == nil || s.OK {
		t.Fatalf("broken samples: %+v, %v; want an error", s, err)
	}
	body = "process_resident_memory_bytes 2.5e+07\nprocess_cpu_seconds_total 1.5\n"
	s, err := scrapeProm(context.Background(), srv.Client(), srv.URL)
	if err != nil || !s.OK || s.RSSBytes != 2.5e7 || s.CPUSec != 1.5 {
		t.Fatalf("got %+v, %v; want RSS 2.5e7 and CPU 1.5", s, err)
	}
}

// An inflated message over the read limit, or a corrupt deflate stream, is a
// protocol error of its kind (so the socket is failed with 1009 or 1002 and
// counted as such), not an unclassified error.
func TestInflateErrorsAreProtocolErrors(t *testing.T) {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	_, _ = fw.Write(bytes.Repeat([]byte("cb1."), 5000)) // 20,000 bytes inflated
	_ = fw.Flush()
	payload := bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff}) // as permessage-deflate sends it
	var got int
	if err := inflateMessage(payload, 1<<20, func(p []byte) { got = len(p) }); err != nil || got != 20000 {
		t.Fatalf("within the limit: %d bytes, %v", got, err)
	}
	var pe *protocolError
	if err := inflateMessage(payload, 1000, func([]byte) {}); !errors.As(err, &pe) || pe.kind != ErrFrameTooBig {
		t.Errorf("over the limit: %v, want a %s protocol error", err, ErrFrameTooBig)
	}
	if err := inflateMessage([]byte{0xff, 0xff, 0xff, 0xff}, 1<<20, func([]byte) {}); !errors.As(err, &pe) || pe.kind != ErrProtocol {
		t.Errorf("corrupt stream: %v, want a %s protocol error", err, ErrProtocol)
	}
}
