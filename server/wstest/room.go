package wstest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Room is n well-behaved clients in one room: every one reads, the first
// senders each send a timestamped message every period. It records how
// many of the timestamped messages each member got and their latencies,
// for tests that measure what an attack costs the others.
type Room struct {
	conns []*websocket.Conn
	mu    sync.Mutex
	lat   []time.Duration
	got   []atomic.Int64
	sent  atomic.Int64
	errs  atomic.Int64
	reads sync.WaitGroup

	ctx                context.Context
	cancel             context.CancelFunc
	stopSend, sendDone chan struct{}
}

// JoinRoom connects n clients to url (ws://host/ws?room=R) as users
// real0..real<n-1> and starts them. Each message carries pad bytes of
// padding besides its timestamp.
func JoinRoom(ctx context.Context, url string, n, senders int, period time.Duration, pad int) (*Room, error) {
	r := &Room{got: make([]atomic.Int64, n), stopSend: make(chan struct{}), sendDone: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(ctx)
	for i := range n {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, _, err := websocket.Dial(dctx, fmt.Sprintf("%s&user=real%d", url, i), nil)
		cancel()
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("real client %d: %w", i, err)
		}
		r.conns = append(r.conns, c)
	}
	for i, c := range r.conns {
		r.reads.Add(1)
		go r.read(i, c)
	}
	padding := "." + strings.Repeat("x", pad)
	var sending sync.WaitGroup
	for _, c := range r.conns[:senders] {
		sending.Add(1)
		go func() {
			defer sending.Done()
			r.send(c, period, padding)
		}()
	}
	go func() {
		sending.Wait()
		close(r.sendDone)
	}()
	return r, nil
}

func (r *Room) read(i int, c *websocket.Conn) {
	defer r.reads.Done()
	for {
		_, b, err := c.Read(r.ctx)
		if err != nil {
			if r.ctx.Err() == nil {
				r.errs.Add(1)
			}
			return
		}
		var m struct{ Message string }
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		ts, _, _ := strings.Cut(m.Message, ".")
		ns, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			continue
		}
		r.got[i].Add(1)
		r.mu.Lock()
		r.lat = append(r.lat, time.Since(time.Unix(0, ns)))
		r.mu.Unlock()
	}
}

// send writes a timestamped message on c every period until stopped.
func (r *Room) send(c *websocket.Conn, period time.Duration, padding string) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-r.stopSend:
			return
		case <-tick.C:
		}
		wctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
		err := c.Write(wctx, websocket.MessageText, []byte(strconv.FormatInt(time.Now().UnixNano(), 10)+padding))
		cancel()
		if err != nil {
			if r.ctx.Err() == nil {
				r.errs.Add(1)
			}
			return
		}
		r.sent.Add(1)
	}
}

// Sent is how many messages the senders have sent so far.
func (r *Room) Sent() int64 { return r.sent.Load() }

// RoomResult is what a Room measured.
type RoomResult struct {
	Sent      int64
	Got       []int64         // per member
	Latencies []time.Duration // sorted
	Errors    int64           // clients whose connection failed
}

// P returns the q-quantile latency (0 when none was measured).
func (rr RoomResult) P(q float64) time.Duration {
	if len(rr.Latencies) == 0 {
		return 0
	}
	return rr.Latencies[min(int(q*float64(len(rr.Latencies))), len(rr.Latencies)-1)]
}

// Lost is how many (member, message) deliveries are missing.
func (rr RoomResult) Lost() int64 {
	var lost int64
	for _, g := range rr.Got {
		lost += max(rr.Sent-g, 0)
	}
	return lost
}

// Stop stops sending, waits (up to 5 s) for every member to get every
// message, closes the clients and returns what they measured.
func (r *Room) Stop() RoomResult {
	close(r.stopSend)
	<-r.sendDone
	sent := r.sent.Load()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !r.allGot(sent) {
		time.Sleep(10 * time.Millisecond)
	}
	r.Close()
	res := RoomResult{Sent: sent, Errors: r.errs.Load()}
	for i := range r.got {
		res.Got = append(res.Got, r.got[i].Load())
	}
	r.mu.Lock()
	res.Latencies = slices.Clone(r.lat)
	r.mu.Unlock()
	slices.Sort(res.Latencies)
	return res
}

func (r *Room) allGot(sent int64) bool {
	for i := range r.got {
		if r.got[i].Load() < sent {
			return false
		}
	}
	return true
}

// Close stops the clients at once (Stop calls it).
func (r *Room) Close() {
	r.cancel()
	for _, c := range r.conns {
		c.CloseNow()
	}
	r.reads.Wait()
}
