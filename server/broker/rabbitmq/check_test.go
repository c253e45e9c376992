package rabbitmq

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestSocketReadsAreSignsOfLife: every byte the server sends (a heartbeat
// frame, a delivery) counts for the health check; nothing sent, nothing
// counted.
func TestSocketReadsAreSignsOfLife(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	c := &liveConn{Conn: client}
	defer c.Close()
	start := time.Now()
	go func() { _, _ = server.Write([]byte{8}) }() // a heartbeat frame's type byte
	if _, err := c.Read(make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	if err := c.live.HeardSince(context.Background(), start); err != nil {
		t.Fatalf("a byte from the server did not count: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := c.live.HeardSince(ctx, time.Now()); err == nil {
		t.Fatal("a silent server passed the check")
	}
}
