package loadgen_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/errkind"
	"github.com/chatbench/chatbench/loadgen/results"
)

// hostileServer is a broadcast server written on raw TCP so it can break
// the WebSocket protocol on purpose. It upgrades, then rebroadcasts every
// text frame to every connection; each connection turns hostile after it
// has been sent `after` broadcasts (mid-run), as mode says:
//
//	binary    every other broadcast goes out as a binary frame (not hostile: swarm must count them)
//	garbage   random bytes that are not a WebSocket frame
//	huge      a frame header announcing 1 TiB (over swarm's read limit)
//	close     closes at a random broadcast count, by close 1011, close 1001, FIN or RST
//	handshake answers the upgrade with garbage instead of HTTP
type hostileServer struct {
	mode  string
	after int

	ln  net.Listener
	url string
	wg  sync.WaitGroup

	mu     sync.Mutex
	conns  map[*hconn]bool
	bcasts int
	rng    *rand.Rand
	// closes counts the close codes clients sent.
	closes map[uint16]int
}

type hconn struct {
	nc    net.Conn
	sent  int // broadcasts sent to it
	limit int // broadcasts before it turns hostile
	gone  bool
}

func startHostile(t *testing.T, mode string, after int) *hostileServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &hostileServer{mode: mode, after: after, ln: ln, conns: map[*hconn]bool{},
		rng: rand.New(rand.NewPCG(7, 11)), closes: map[uint16]int{}}
	s.url = "ws://" + ln.Addr().String() + "/ws?room={{room}}&user={{user}}"
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(nc) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *hostileServer) serve(nc net.Conn) {
	defer nc.Close()
	br := bufio.NewReader(nc)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if s.mode == "handshake" {
		_, _ = nc.Write([]byte("\x16\x03\x01 this is not HTTP at all\r\n\r\n"))
		return
	}
	sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	_, err = fmt.Fprintf(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(sum[:]))
	if err != nil {
		return
	}
	c := &hconn{nc: nc, limit: s.after}
	s.mu.Lock()
	if s.mode == "close" {
		c.limit = s.after + s.rng.IntN(2*s.after)
	}
	s.conns[c] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	for {
		op, payload, err := readClientFrame(br)
		if err != nil {
			return
		}
		switch op {
		case 0x1:
			s.broadcast(payload)
		case 0x8:
			code := uint16(1005)
			if len(payload) >= 2 {
				code = binary.BigEndian.Uint16(payload)
			}
			s.mu.Lock()
			s.closes[code]++
			s.mu.Unlock()
			return
		}
	}
}

// readClientFrame reads one masked client frame.
func readClientFrame(br *bufio.Reader) (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<20 {
		return 0, nil, errors.New("client frame too large")
	}
	var mask [4]byte
	if h[1]&0x80 != 0 {
		if _, err := io.ReadFull(br, mask[:]); err != nil {
			return 0, nil, err
		}
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		return 0, nil, err
	}
	for i := range payload {
		payload[i] ^= mask[i&3]
	}
	return h[0] & 0x0f, payload, nil
}

func serverFrame(op byte, payload []byte) []byte {
	f := []byte{0x80 | op}
	switch n := len(payload); {
	case n <= 125:
		f = append(f, byte(n))
	case n <= 0xffff:
		f = append(f, 126, byte(n>>8), byte(n))
	default:
		f = append(f, 127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	return append(f, payload...)
}

// broadcast sends msg to every connection (under the lock: a test server,
// loopback, bounded by a write deadline) and turns connections hostile when
// their count is reached.
func (s *hostileServer) broadcast(msg []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bcasts++
	op := byte(0x1)
	if s.mode == "binary" && s.bcasts%2 == 0 {
		op = 0x2
	}
	frame := serverFrame(op, msg)
	for c := range s.conns {
		if c.gone {
			continue
		}
		_ = c.nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.nc.Write(frame); err != nil {
			c.gone = true
			continue
		}
		c.sent++
		if s.mode != "binary" && c.sent == c.limit {
			s.turn(c)
		}
	}
}

// turn makes c hostile. Called with s.mu held.
func (s *hostileServer) turn(c *hconn) {
	switch s.mode {
	case "garbage":
		g := make([]byte, 256)
		for i := range g {
			g[i] = byte(s.rng.Uint32())
		}
		g[0] = 0xf3 // FIN, all three reserved bits, opcode 3: not a frame swarm may accept
		_, _ = c.nc.Write(g)
		c.gone = true // keep the socket open: swarm must drop it itself
	case "masked":
		// A well-formed text frame, but masked: only clients mask.
		_, _ = c.nc.Write([]byte{0x81, 0x80 | 3, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2, '!' ^ 3})
		c.gone = true
	case "huge":
		_, _ = c.nc.Write([]byte{0x81, 127, 0, 0, 1, 0, 0, 0, 0, 0}) // 1 TiB text frame
		_, _ = c.nc.Write([]byte("cb1.not.all.of.it"))
		c.gone = true
	case "close":
		c.gone = true
		switch s.rng.IntN(4) {
		case 0:
			_, _ = c.nc.Write(serverFrame(0x8, []byte{0x03, 0xf3})) // 1011
			c.nc.Close()
		case 1:
			_, _ = c.nc.Write(serverFrame(0x8, []byte{0x03, 0xe9})) // 1001
			c.nc.Close()
		case 2:
			c.nc.Close() // FIN
		case 3:
			_ = c.nc.(*net.TCPConn).SetLinger(0) // RST
			c.nc.Close()
		}
	}
}

func hostileRun(url string) loadgen.Config {
	cfg := smallRun(url)
	cfg.Grace = 500 * time.Millisecond
	return cfg
}

// runHostile runs swarm against a hostile server and checks what holds for
// every broken server: a result (never a panic), not complete, with its
// reasons, that survives the results file.
func runHostile(t *testing.T, cfg loadgen.Config) *results.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	res, err := loadgen.Run(ctx, cfg)
	if err != nil || res.Outcome.OK() || len(res.Outcome.Reasons) == 0 {
		t.Fatalf("err %v, outcome %+v: a run against a broken server must end with a verdict that is not complete, and say why", err, res.Outcome)
	}
	if ctx.Err() != nil || time.Since(start) > 20*time.Second {
		t.Errorf("run took %v", time.Since(start))
	}
	t.Logf("outcome %s: %v; connect %v, disconnect %v", res.Outcome.Verdict, res.Outcome.Reasons, res.Errors.Connect, res.Errors.Disconnect)
	path := filepath.Join(t.TempDir(), "r.json")
	if err := res.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	back, err := results.ReadRun(path)
	if err != nil || back.Outcome.Verdict != res.Outcome.Verdict || back.Summary != res.Summary || len(back.Outcome.Reasons) == 0 {
		t.Fatalf("results file: %v; outcome %+v, want %+v", err, back.Outcome, res.Outcome)
	}
	return res
}

// sumKinds is the total of m's counts, and m's kinds sorted.
func sumKinds(m map[errkind.Kind]int64) (int64, []string) {
	var n int64
	var ks []string
	for k, v := range m {
		n += v
		ks = append(ks, string(k))
	}
	sort.Strings(ks)
	return n, ks
}

// Binary frames are counted (and their probes too): nothing is lost.
func TestHostileBinaryFramesAreCounted(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	s := startHostile(t, "binary", 0)
	res := mustRun(t, hostileRun(s.url))
	sm := res.Summary
	if sm.Lost != 0 || sm.Delivered == 0 || sm.Delivered != sm.Expected {
		t.Errorf("expected %d delivered %d lost %d: probes in binary frames must count", sm.Expected, sm.Delivered, sm.Lost)
	}
	all := sm.Received
	if b := res.Errors.Frames["binary"]; b < all/3 || b > all*2/3+20 {
		t.Errorf("%d binary frames counted of about %d deliveries, want about half: %v", b, all, res.Errors.Frames)
	}
}

// Garbage on the socket mid-run: every socket is dropped as "protocol"
// (swarm answers close 1002), after the probes before it were counted.
func TestHostileGarbageMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	s := startHostile(t, "garbage", 250)
	res := runHostile(t, hostileRun(s.url))
	sm := res.Summary
	if sm.Connected != 20 || sm.Disconnected != 20 || res.Errors.Disconnect[errkind.Protocol] != 20 {
		t.Errorf("connected %d, disconnected %d %v; want all 20 dropped as protocol errors", sm.Connected, sm.Disconnected, res.Errors.Disconnect)
	}
	// Sockets dropped are no longer expected receivers: what was sent to
	// those still connected is counted as before, and nothing the server
	// never sent is counted delivered.
	s.mu.Lock()
	bcasts := s.bcasts
	s.mu.Unlock()
	if sm.Sent == 0 || sm.Delivered == 0 || sm.Delivered > int64(bcasts)*20 {
		t.Errorf("sent %d expected %d delivered %d lost %d (server broadcast %d × 20): counting must go on up to the break", sm.Sent, sm.Expected, sm.Delivered, sm.Lost, bcasts)
	}
	waitCloses(t, s, 1002, 20)
}

// A masked frame from the server breaks RFC 6455 (only clients mask):
// dropped as a protocol error with close 1002.
func TestHostileMaskedFrame(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	s := startHostile(t, "masked", 250)
	res := runHostile(t, hostileRun(s.url))
	if res.Summary.Disconnected != 20 || res.Errors.Disconnect[errkind.Protocol] != 20 {
		t.Errorf("disconnected %d %v; want all 20 as protocol errors", res.Summary.Disconnected, res.Errors.Disconnect)
	}
	waitCloses(t, s, 1002, 20)
}

// A frame over swarm's read limit: dropped as "frame_too_big" with close
// 1009, without allocating it.
func TestHostileHugeFrame(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	s := startHostile(t, "huge", 250)
	res := runHostile(t, hostileRun(s.url))
	if res.Summary.Disconnected != 20 || res.Errors.Disconnect[errkind.FrameTooBig] != 20 {
		t.Errorf("disconnected %d %v; want all 20 as frame_too_big", res.Summary.Disconnected, res.Errors.Disconnect)
	}
	waitCloses(t, s, 1009, 20)
}

// A server that closes sockets at random mid-run, four ways: each socket is
// counted once, by kind.
func TestHostileRandomCloses(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	s := startHostile(t, "close", 60)
	res := runHostile(t, hostileRun(s.url))
	n, kinds := sumKinds(res.Errors.Disconnect)
	if res.Summary.Disconnected != 20 || n != 20 {
		t.Errorf("disconnected %d, kinds sum to %d (%v); want 20", res.Summary.Disconnected, n, res.Errors.Disconnect)
	}
	for _, k := range kinds {
		switch k {
		case "close_1011", "close_1001", "eof", "reset", "write_failed":
		default:
			t.Errorf("disconnect kind %q: want close_1011, close_1001, eof, reset (or write_failed when a send saw it first)", k)
		}
	}
	if len(kinds) < 3 {
		t.Errorf("kinds %v: the server closed four ways", kinds)
	}
	if sm := res.Summary; sm.Delivered == 0 || sm.Disconnected != 20 || res.Outcome.Verdict != results.Overloaded {
		t.Errorf("expected %d delivered %d lost %d, disconnected %d, outcome %s: want deliveries before the closes, all 20 lost, overloaded",
			sm.Expected, sm.Delivered, sm.Lost, sm.Disconnected, res.Outcome.Verdict)
	}
}

// Garbage instead of the upgrade response: connect errors of kind handshake.
func TestHostileHandshakeGarbage(t *testing.T) {
	s := startHostile(t, "handshake", 0)
	cfg := hostileRun(s.url)
	cfg.Clients = 5
	res := runHostile(t, cfg)
	if res.Errors.Connect[errkind.Handshake] != 5 || res.Summary.Connected != 0 {
		t.Errorf("connect errors %v, connected %d; want handshake: 5", res.Errors.Connect, res.Summary.Connected)
	}
}

// The server process is killed (SIGKILL) mid-run: every socket is counted
// lost, sends fail and are counted, the results are partial.
func TestHostileServerKilledMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeServeEnv, "1")
	child, err := loadgen.StartChild(context.Background(), exe, []string{"-test.run=^$"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Stop() }()
	cfg := hostileRun(child.WSURL("?room={{room}}&user={{user}}"))
	var once sync.Once
	loadgen.SetBeforeSend(&cfg, func(client int, seq int64) {
		if seq == 15 { // steady phase: 300 ms warmup at 20/s is seqs 0..5
			once.Do(func() { _ = syscall.Kill(child.Pid, syscall.SIGKILL) })
		}
	})
	res := runHostile(t, cfg)
	sm := res.Summary
	n, _ := sumKinds(res.Errors.Disconnect)
	if sm.Connected != 20 || sm.Disconnected != 20 || n != 20 {
		t.Errorf("connected %d, disconnected %d %v; want all 20 lost", sm.Connected, sm.Disconnected, res.Errors.Disconnect)
	}
	if sm.Delivered == 0 || sm.Lost == 0 {
		t.Errorf("delivered %d lost %d: what arrived before the kill must count, the rest is lost", sm.Delivered, sm.Lost)
	}
}

func waitCloses(t *testing.T, s *hostileServer, code uint16, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		got := s.closes[code]
		s.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("clients sent close codes %v, want %d: %d", s.closes, code, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// --read-limit: frames over it drop the socket as frame_too_big, counted.
func TestReadLimitDropsLargerFrames(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	addr := startRefServer(t)
	cfg := smallRun("ws://" + addr + "/ws?room=r&user={{user}}")
	cfg.Size, cfg.ReadLimit = 2000, 1024 // every broadcast frame is over 2 KB
	res, err := loadgen.Run(context.Background(), cfg)
	if err != nil || res.Outcome.OK() {
		t.Fatalf("run with every frame over the read limit: %v, outcome %s; want a run that is not complete", err, res.Outcome.Verdict)
	}
	if n := res.Errors.Disconnect[errkind.FrameTooBig]; n != int64(cfg.Clients) {
		t.Errorf("frame_too_big %d of %d sockets (%v)", n, cfg.Clients, res.Errors.Disconnect)
	}
}
