package chaos_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen/chaos"
)

// Killing redis-server (no process under it) takes effect at once: the
// fault's stamp follows Kill, so a slow Kill would shift the injection
// (it once waited 2 s for processes redis does not have).
func TestRedisKillIsImmediate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := chaos.StartBroker(ctx, chaos.Redis, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	start := time.Now()
	if err := b.Kill(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 200*time.Millisecond {
		t.Fatalf("Kill took %v, want under 200 ms", took)
	}
	// Gone: nothing listens on its port any more.
	if c, err := net.DialTimeout("tcp", b.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still answers after Kill", b.Addr())
	}
}
