package chaos_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen/chaos"
)

// Killing a broker takes effect at once: the fault's stamp follows Kill,
// so a slow Kill would shift the injection (it once waited 2 s for
// processes redis-server does not have). RabbitMQ's script exits as soon
// as its beam, killed first, is gone.
func TestRedisKillIsImmediate(t *testing.T) { killIsImmediate(t, chaos.Redis) }

func TestRabbitMQKillIsImmediate(t *testing.T) { killIsImmediate(t, chaos.RabbitMQ) }

func killIsImmediate(t *testing.T, kind string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := chaos.StartBroker(ctx, kind, t.TempDir())
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
