package loadgen_test

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chatbench/chatbench/loadgen"
)

// The truth server is a reference broadcast server for the accounting
// tests: it injects faults with known probabilities and counts its own truth
// from what it actually wrote to each connection (truthcount_test.go), never
// from its fault decisions. Its wire protocol is the reference server's (a
// text frame is a message, broadcast to the room as
// {"user":"u3","message":"…"}); frames are written by hand (truthframe_test.go)
// so that fragmentation and batching are under the test's control.

// faults are the truth server's fault probabilities. Each is drawn
// independently per copy (per frame for Fragment) from a source seeded with
// Seed, so the decisions repeat for the same sequence of broadcasts.
type faults struct {
	Drop     float64 // the member gets no copy
	Swap     float64 // the member's copy goes to another member of its room instead
	DupNow   float64 // a second copy right after the first
	DupOlder float64 // the member is also sent again a probe of its room it was sent before
	Resend   float64 // the member is also sent an earlier probe of its room, sent to it or not
	Reorder  float64 // the copy is held back and written after the member's next one
	Misroute float64 // a copy also goes to a client of another room
	Fragment float64 // per frame: a text frame + 1 or 2 continuation frames, split inside a probe
	BatchMax int     // > 1: every frame carries 2..BatchMax messages
	NoEcho   bool    // the server does not send a message back to its sender
	Seed     int64
}

// probeKey identifies a probe of the run under test.
type probeKey struct{ client, seq int64 }

// sentProbe is one broadcast as the server saw it.
type sentProbe struct {
	due     int64
	sender  *tconn
	room    string
	members []*tconn // room members when it was broadcast, the sender included
	msg     []byte   // the wrapped message
}

// injected counts the fault decisions, only to check that a test's faults
// fired and to log them; the truth never comes from these.
type injected struct {
	Drop, Swap, DupNow, DupOlder, Resend, Reorder, Misroute int
}

type truthServer struct {
	f   faults
	url string
	hs  *httptest.Server

	mu       sync.Mutex
	rng      *rand.Rand
	conns    []*tconn
	rooms    map[string][]*tconn
	probes   map[probeKey]*sentProbe
	history  map[string][]probeKey // per room, in broadcast order
	inj      injected
	overflow int // copies not queued because a queue was full: the run is invalid
	bad      int // messages without exactly one new probe: the run is invalid

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// startTruth starts a truth server with faults f; it is shut down when the
// test ends (or earlier by shutdown, before reading its truth).
func startTruth(t *testing.T, f faults) *truthServer {
	t.Helper()
	s := &truthServer{f: f, rng: rand.New(rand.NewSource(f.Seed)), rooms: map[string][]*tconn{},
		probes: map[probeKey]*sentProbe{}, history: map[string][]probeKey{}, stop: make(chan struct{})}
	s.hs = httptest.NewServer(http.HandlerFunc(s.accept))
	s.url = "ws" + strings.TrimPrefix(s.hs.URL, "http") + "/ws?room={{room}}&user={{user}}"
	t.Cleanup(s.shutdown)
	return s
}

// shutdown closes every connection and waits for the server's goroutines, so
// that the write logs are final.
func (s *truthServer) shutdown() {
	s.once.Do(func() {
		s.hs.Close()
		s.mu.Lock()
		close(s.stop)
		for _, c := range s.conns {
			_ = c.nc.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
}

const wsAcceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// accept upgrades by hand (the connection is then the server's to frame),
// joins the client to its room and reads its messages.
func (s *truthServer) accept(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	hj, ok := w.(http.Hijacker)
	if key == "" || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || !ok {
		http.Error(w, "websocket upgrade expected", http.StatusBadRequest)
		return
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return
	}
	sum := sha1.Sum([]byte(key + wsAcceptGUID))
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n"
	s.mu.Lock()
	select {
	case <-s.stop:
		s.mu.Unlock()
		_ = nc.Close()
		return
	default:
	}
	c := &tconn{id: len(s.conns), room: r.URL.Query().Get("room"), user: r.URL.Query().Get("user"), nc: nc,
		q: make(chan wItem, 1<<14), rng: rand.New(rand.NewSource(s.f.Seed*7919 + int64(len(s.conns)) + 1))}
	// A member from before the 101: swarm counts a socket connected once
	// it has read the 101, so the server never knows fewer members.
	s.conns = append(s.conns, c)
	s.rooms[c.room] = append(s.rooms[c.room], c)
	s.wg.Add(2)
	s.mu.Unlock()
	go func() { defer s.wg.Done(); c.writeLoop(s.f, s.stop) }()
	defer s.wg.Done()
	if _, err := nc.Write([]byte(resp)); err != nil {
		return
	}
	c.readLoop(brw.Reader, s.broadcast)
}

// broadcast sends one message of from to its room, with the faults.
func (s *truthServer) broadcast(from *tconn, text []byte) {
	var p loadgen.Probe
	rest, ok, _ := loadgen.NextProbe(text, &p)
	_, more, _ := loadgen.NextProbe(rest, new(loadgen.Probe))
	key := probeKey{p.Client, p.Seq}
	msg := []byte(`{"user":"` + from.user + `","message":"` + string(text) + `"}`)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok || more || s.probes[key] != nil {
		s.bad++
		return
	}
	members := s.rooms[from.room]
	sp := &sentProbe{due: p.Due, sender: from, room: from.room, members: slices.Clone(members), msg: msg}
	s.probes[key] = sp
	hist := s.history[from.room]
	for _, m := range members {
		if m == from && s.f.NoEcho {
			continue
		}
		s.deliver(key, sp, m, hist)
	}
	s.history[from.room] = append(hist, key)
}

// deliver sends member m its copy of the probe key, with the faults drawn
// for this copy. hist is the room's earlier broadcasts. Called with s.mu held.
func (s *truthServer) deliver(key probeKey, sp *sentProbe, m *tconn, hist []probeKey) {
	f, r := s.f, s.rng
	// Every draw is made for every copy, so that one fault's probability
	// does not change which copies another fault hits.
	drop, swap, dupNow := r.Float64() < f.Drop, r.Float64() < f.Swap, r.Float64() < f.DupNow
	dupOlder, resend, reorder := r.Float64() < f.DupOlder, r.Float64() < f.Resend, r.Float64() < f.Reorder
	misroute := r.Float64() < f.Misroute
	older := m.sent // what m was sent before this copy (its own room's probes)
	to := m
	if swap && len(sp.members) > 1 {
		s.inj.Swap++
		for to == m {
			to = sp.members[r.Intn(len(sp.members))]
		}
	}
	if drop {
		s.inj.Drop++
	} else {
		if reorder {
			s.inj.Reorder++
		}
		s.enqueue(to, wItem{key: key, msg: sp.msg, hold: reorder})
		if dupNow {
			s.inj.DupNow++
			s.enqueue(to, wItem{key: key, msg: sp.msg})
		}
	}
	if dupOlder && len(older) > 0 {
		// Older than this copy: a swap earlier in this broadcast may have
		// given m this very probe, which is then not resent.
		if k := older[r.Intn(len(older))]; k != key {
			s.inj.DupOlder++
			s.enqueue(m, wItem{key: k, msg: s.probes[k].msg})
		}
	}
	if resend && len(hist) > 0 {
		s.inj.Resend++
		k := hist[r.Intn(len(hist))]
		s.enqueue(m, wItem{key: k, msg: s.probes[k].msg})
	}
	if misroute && len(s.conns) > len(sp.members) {
		s.inj.Misroute++
		o := s.conns[r.Intn(len(s.conns))]
		for o.room == sp.room {
			o = s.conns[r.Intn(len(s.conns))]
		}
		s.enqueue(o, wItem{key: key, msg: sp.msg})
	}
}

// enqueue hands a copy to c's writer. Called with s.mu held.
func (s *truthServer) enqueue(c *tconn, it wItem) {
	if s.probes[it.key].room == c.room {
		c.sent = append(c.sent, it.key)
	}
	select {
	case c.q <- it:
	default:
		s.overflow++
	}
}

// tconn is one client connection of the truth server.
type tconn struct {
	id         int
	room, user string
	nc         net.Conn
	wmu        sync.Mutex // writes: the writer's frames and the reader's pong/close
	q          chan wItem
	rng        *rand.Rand // the writer's own (fragment and batch draws)
	sent       []probeKey // its room's probes queued to it; guarded by truthServer.mu

	mu         sync.Mutex
	log        []probeKey // probes written to it, in order: the truth is counted from this
	frames     int        // data frames written
	fragmented int        // messages written as several frames
	batched    int        // frames carrying more than one message
}

// writeLog returns a copy of what was written to c.
func (c *tconn) writeLog() []probeKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.log)
}

// readLoop reads the client's messages until it closes or fails. swarm
// writes every message as one final frame.
func (c *tconn) readLoop(br *bufio.Reader, onText func(*tconn, []byte)) {
	for {
		op, payload, err := readClientFrame(br)
		if err != nil {
			return
		}
		switch op {
		case wsText:
			onText(c, payload)
		case wsPing:
			if c.writeFrames(appendFrame(nil, true, wsPong, payload)) != nil {
				return
			}
		case wsClose:
			_ = c.writeFrames(appendFrame(nil, true, wsClose, payload))
			return
		}
	}
}
