package loadgen_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/errkind"
	"github.com/chatbench/chatbench/loadgen/results"
	"github.com/chatbench/chatbench/server"
)

// silentServer completes WebSocket upgrades, then never reads or writes
// again: to its clients it looks like a frozen process (the kernel keeps the
// sockets open and ACKs, nothing answers pings).
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			req, err := http.ReadRequest(bufio.NewReader(nc))
			if err != nil {
				nc.Close()
				continue
			}
			sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
			fmt.Fprintf(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
				base64.StdEncoding.EncodeToString(sum[:]))
			mu.Lock()
			held = append(held, nc)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	return "ws://" + ln.Addr().String() + "/ws?room={{room}}&user={{user}}"
}

// TestSilentServerIsCountedAsPingTimeout: a server that stops answering is
// noticed within PingInterval + PingTimeout, each socket is closed and
// counted (ping_timeout), the run fails, and swarm does not hang on it.
func TestSilentServerIsCountedAsPingTimeout(t *testing.T) {
	cfg := smallRun(silentServer(t))
	cfg.Clients, cfg.Rate, cfg.Duration = 8, 0, 1500*time.Millisecond
	cfg.PingInterval, cfg.PingTimeout = 200*time.Millisecond, 300*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	res, err := loadgen.Run(ctx, cfg)
	took := time.Since(start)
	if err != nil || res.Outcome.Verdict != results.Overloaded || !strings.Contains(res.Outcome.Reasons[0], "ping_timeout 8: the server stopped answering") {
		t.Fatalf("run against a silent server: %v, outcome %+v, want overloaded for 8 sockets lost to ping_timeout", err, res.Outcome)
	}
	if got := res.Errors.Disconnect[errkind.PingTimeout]; got != 8 || res.Summary.Disconnected != 8 {
		t.Fatalf("disconnects %v (%d in all), want %s: 8", res.Errors.Disconnect, res.Summary.Disconnected, errkind.PingTimeout)
	}
	if took > cfg.Duration+5*time.Second {
		t.Fatalf("run took %v with a %v steady phase: swarm hung on the silent server", took, cfg.Duration)
	}
	t.Logf("8 of 8 sockets closed as %s; run took %v (%v)", errkind.PingTimeout, took.Round(time.Millisecond), res.Outcome.Reasons)
}

// TestQuietButLiveServerKeepsItsSockets: swarm's own pings are answered by
// a live server that sends nothing (its own pings are an hour away), so a
// quiet room is never mistaken for a dead server.
func TestQuietButLiveServerKeepsItsSockets(t *testing.T) {
	scfg := server.DefaultConfig()
	scfg.Addr, scfg.PingInterval = "127.0.0.1:0", time.Hour
	srv, err := server.New(scfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	cfg := smallRun("ws://" + srv.Addr() + "/ws?room={{room}}&user={{user}}")
	cfg.Clients, cfg.Rate, cfg.Duration = 8, 0, 1200*time.Millisecond
	cfg.PingInterval, cfg.PingTimeout = 100*time.Millisecond, 200*time.Millisecond
	res := mustRun(t, cfg)
	if res.Summary.Disconnected != 0 || res.Summary.Connected != 8 {
		t.Fatalf("connected %d, lost %d (%v): answered pings must keep sockets", res.Summary.Connected, res.Summary.Disconnected, res.Errors.Disconnect)
	}
}
