package server_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server"
	"github.com/chatbench/chatbench/server/wstest"
)

// TestShutdownFinishesWithinTheTimeoutWhateverIsHeld: every kind of
// connection a client can hold open (a request stalled in its headers, an
// idle keep-alive, a WebSocket that never answers the close, one that was
// never named, one whose writer is blocked on a full socket) is closed,
// and Run returns, within ShutdownTimeout + 1 s.
func TestShutdownFinishesWithinTheTimeoutWhateverIsHeld(t *testing.T) {
	const timeout = 500 * time.Millisecond
	ts := startServer(t, config(func(c *server.Config) {
		c.ShutdownTimeout, c.ReadHeaderTimeout, c.NameTimeout, c.WriteTimeout = timeout, time.Minute, time.Minute, time.Minute
		c.MaxMsgRate, c.MaxMessageBytes = 0, 64<<10
	}))
	held := map[string]net.Conn{"headers stalled": slowloris(t, ts.Addr())}

	idle, err := net.Dial("tcp", ts.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if _, err := io.WriteString(idle, "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := idle.Read(make([]byte, 512)); err != nil {
		t.Fatal(err)
	}
	held["keep-alive idle"] = idle

	for name, query := range map[string]string{"no close answer": "user=mute", "never named": ""} {
		nc, _, err := wstest.Upgrade(&net.Dialer{}, ts.Addr(), query)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		held[name] = nc // never read: the 1001 close is never answered
	}

	smallBuf := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	stuck, _, err := wstest.Upgrade(smallBuf, ts.Addr(), "user=stuck")
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	held["writer blocked"] = stuck
	sender := ts.dial("user=sender")
	ts.waitMembers("chat", 3)
	for range 40 {
		send(t, sender, strings.Repeat("w", 60<<10))
	}

	start := time.Now()
	if err := ts.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	took := time.Since(start)
	t.Logf("Run returned %v after shutdown began (ShutdownTimeout %v), holding %d kinds of connection", took.Round(time.Millisecond), timeout, len(held))
	if took > timeout+time.Second {
		t.Errorf("shutdown took %v, want at most %v", took, timeout+time.Second)
	}
	for name, nc := range held {
		_ = nc.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err := io.Copy(io.Discard, nc) // until the server's close (EOF or reset)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("%s: still open after the shutdown", name)
		}
	}
	if _, err := http.Get(ts.base + "/healthz"); err == nil {
		t.Error("still accepting after the shutdown")
	}
}

// TestShutdownTimeoutZeroClosesAtOnce: ShutdownTimeout 0 means no grace: a
// WebSocket that would not answer its close is dropped at once.
func TestShutdownTimeoutZeroClosesAtOnce(t *testing.T) {
	ts := startServer(t, config(func(c *server.Config) { c.ShutdownTimeout = 0 }))
	nc, _, err := wstest.Upgrade(&net.Dialer{}, ts.Addr(), "user=mute")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ts.waitMembers("chat", 1)
	start := time.Now()
	if err := ts.stop(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("shutdown with timeout 0 took %v, want at once (< 500 ms)", took)
	}
}

// TestCloseReleasesAServerThatNeverRan: Close on a server that was created
// and never run frees its port and stops its broker; Run afterwards
// refuses. Close on a running server stops Run, which returns nil.
func TestCloseReleasesAServerThatNeverRan(t *testing.T) {
	cfg := config(func(c *server.Config) { c.Addr = "127.0.0.1:0" })
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr()
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port %s still taken after Close: %v", addr, err)
	}
	ln.Close()
	if err := srv.Run(context.Background()); !errors.Is(err, server.ErrClosed) {
		t.Errorf("Run after Close returned %v, want ErrClosed", err)
	}

	running, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- running.Run(context.Background()) }()
	if err := healthz(running.Addr()); err != nil {
		t.Fatal(err)
	}
	if err := running.Close(); err != nil {
		t.Errorf("Close of a running server: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v after Close, want nil", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Close returned but Run did not")
	}
}
