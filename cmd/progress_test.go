package cmd

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The display shows connections out of N and elapsed out of the send
// phase's length; its last frame is the last status.
func TestSwarmProgressDraws(t *testing.T) {
	var out syncBuffer
	sp := newSwarmProgress(&out, 10, 12*time.Second, true)
	sp.update(loadgen.Status{Phase: "ramp", Connected: 4, Clients: 10})
	sp.update(loadgen.Status{Phase: "steady", Connected: 10, Clients: 10, Elapsed: 7 * time.Second, Total: 12 * time.Second,
		Sends: 30, Deliveries: 300, P99Ms: 2.5})
	sp.stop()
	sp.stop() // once
	s := out.String()
	for _, want := range []string{"connections 10 / 10", "elapsed     7s / 12s", "steady", "sends/s 30  deliveries/s 300  p99 2.5 ms"} {
		if !strings.Contains(s, want) {
			t.Errorf("display lacks %q:\n%s", want, s)
		}
	}
}
