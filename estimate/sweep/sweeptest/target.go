// Package sweeptest is a loopback broadcast server whose capacity and
// faults are known, for tests of sweep: one room of every connection (raw
// text frames, sender included) that holds deliveries past a known number
// of users, on chosen runs, stays busy for a known time after each run, or
// goes away after a known number of runs. A run is a stretch between the
// first connection and the last disconnection.
package sweeptest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Target is the server's known behaviour.
type Target struct {
	// Cap: with more than Cap connections, every delivery is held Delay.
	Cap int
	// FlipFrom: with at least FlipFrom connections, deliveries are held
	// Delay on every run but those with run%3 == 1 (of three repeats of a
	// step, only the middle one passes). 0: off.
	FlipFrom int
	Delay    time.Duration
	// Busy: after each run the server spins one core this long.
	Busy time.Duration
	// DieAfter: after this many runs the server closes its listener and
	// every socket (0: never).
	DieAfter int
	// NoReadyz: the server has no /readyz (404), as most servers.
	NoReadyz bool

	srv   *httptest.Server
	spins sync.WaitGroup
	quit  chan struct{}
	mu    sync.Mutex
	conns map[*websocket.Conn]chan []byte
	runs  int // runs started
	// busyUntil is when the spin after the last run ends; FirstReadyAfter
	// is, per run, how much of the spin was left when the first /readyz
	// after it came.
	busyUntil time.Time
	asked     bool
	left      []time.Duration
}

// Start starts t on a loopback port; Stop ends it.
func (t *Target) Start() *Target {
	t.conns = map[*websocket.Conn]chan []byte{}
	t.quit = make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", t.readyz)
	mux.HandleFunc("/metrics", t.metrics)
	mux.HandleFunc("/ws", t.accept)
	// Assigned before it serves: handlers read t.srv.
	t.srv = httptest.NewUnstartedServer(mux)
	t.srv.Start()
	return t
}

// URL is the WebSocket URL.
func (t *Target) URL() string { return "ws://" + t.srv.Listener.Addr().String() + "/ws" }

// Stop closes the server.
func (t *Target) Stop() {
	close(t.quit)
	t.srv.CloseClientConnections()
	t.srv.Close()
	t.spins.Wait()
}

// BusyLeft is, per run that had a spin, how much of it was left when the
// first /metrics scrape after the run came (negative: it had ended).
func (t *Target) BusyLeft() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]time.Duration(nil), t.left...)
}

// Runs is the number of runs that started.
func (t *Target) Runs() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.runs
}

func (t *Target) readyz(w http.ResponseWriter, r *http.Request) {
	if t.NoReadyz {
		http.NotFound(w, r)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// metrics serves this process's CPU seconds, memory and start time as a
// Prometheus process collector does.
func (t *Target) metrics(w http.ResponseWriter, _ *http.Request) {
	t.mu.Lock()
	if !t.asked && t.Busy > 0 && !t.busyUntil.IsZero() {
		t.asked = true
		t.left = append(t.left, time.Until(t.busyUntil))
	}
	t.mu.Unlock()
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	fmt.Fprintf(w, "process_cpu_seconds_total %g\nprocess_resident_memory_bytes 1e8\nprocess_start_time_seconds %d\n", (ut+st)/100, started)
}

// started stands for the process's start time (constant: one process).
var started = time.Now().Unix()

func (t *Target) accept(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	q := make(chan []byte, 4096)
	t.mu.Lock()
	if len(t.conns) == 0 {
		t.runs++
	}
	t.conns[c] = q
	t.mu.Unlock()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go t.write(ctx, c, q)
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			break
		}
		t.broadcast(b)
	}
	t.leave(c)
}

// hold is how long this run's deliveries are held, with n connected.
func (t *Target) hold(n int) time.Duration {
	if n > t.Cap && t.Cap > 0 || t.FlipFrom > 0 && n >= t.FlipFrom && (t.runs-1)%3 != 1 {
		return t.Delay
	}
	return 0
}

func (t *Target) broadcast(b []byte) {
	t.mu.Lock()
	d := t.hold(len(t.conns))
	item := append([]byte(nil), b...)
	if d > 0 {
		item = append(item, 0) // the writer holds items ending in 0 for Delay
	}
	for _, q := range t.conns {
		select {
		case q <- item:
		default: // a full queue drops: loss the sweep sees
		}
	}
	t.mu.Unlock()
}

func (t *Target) write(ctx context.Context, c *websocket.Conn, q chan []byte) {
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-q:
			if n := len(b); n > 0 && b[n-1] == 0 {
				select { // held past the SLO: the known overload
				case <-ctx.Done():
					return
				case <-time.After(t.Delay):
				}
				b = b[:n-1]
			}
			if c.Write(ctx, websocket.MessageText, b) != nil {
				return
			}
		}
	}
}

// leave ends a connection; the last one ends the run: the spin starts, or
// the server goes away.
func (t *Target) leave(c *websocket.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	last := len(t.conns) == 0
	runs := t.runs
	if last && t.Busy > 0 {
		t.busyUntil, t.asked = time.Now().Add(t.Busy), false
		t.spins.Add(1)
		go t.spin(t.busyUntil)
	}
	t.mu.Unlock()
	c.CloseNow()
	if last && t.DieAfter > 0 && runs >= t.DieAfter {
		go func() {
			t.srv.Listener.Close()
			t.srv.CloseClientConnections()
		}()
	}
}

// spin uses one core until the deadline: a server still working off a
// backlog.
func (t *Target) spin(until time.Time) {
	defer t.spins.Done()
	x := 0
	for time.Now().Before(until) {
		select {
		case <-t.quit:
			return
		default:
		}
		for i := 0; i < 1e5; i++ {
			x += i
		}
	}
	_ = x
}
