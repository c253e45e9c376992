package stomp_test

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen/protocol/internal/prototest"
	"github.com/chatbench/chatbench/loadgen/protocol/stomp"
)

// The shared RabbitMQ's Web-STOMP plugin (scripts/services.sh start
// enables it on 127.0.0.1:15674).
const webSTOMP = "ws://127.0.0.1:15674/ws"

func needWebSTOMP(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration")
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:15674", 2*time.Second)
	if err != nil {
		t.Fatalf("RabbitMQ Web-STOMP is not listening on 127.0.0.1:15674 (scripts/services.sh start enables it): %v", err)
	}
	c.Close()
}

// uniqueTopic is a destination template no other test run shares.
func uniqueTopic(t *testing.T) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "/topic/cbtest-" + hex.EncodeToString(b) + ".{{room}}"
}

// 20 clients in 2 rooms for 4 s with 1 s heart-beats both ways: half the
// clients only listen, so RabbitMQ keeps them only for their heart-beats.
// Every probe reaches its room's 10 members exactly once.
func TestRabbitMQWebSTOMP(t *testing.T) {
	needWebSTOMP(t)
	cfg := prototest.Config(webSTOMP, "stomp", map[string]string{
		"destination": uniqueTopic(t), "heart-beat": "1s", "login": "guest", "passcode": "guest",
	}, 20, 2, 4*time.Second)
	prototest.Exact(t, prototest.Run(t, cfg), 20, 10)
}

// A refused login and an unknown destination are ERROR frames: connect
// errors of kind stomp_error with RabbitMQ's words.
func TestRabbitMQWebSTOMPErrors(t *testing.T) {
	needWebSTOMP(t)
	for _, tc := range []struct {
		name    string
		options map[string]string
		reason  string
	}{
		{"refused login", map[string]string{"passcode": "not-the-password"}, "Access refused for user 'guest'"},
		{"unknown destination", map[string]string{"destination": "/nowhere/{{room}}"}, "Unknown destination"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := prototest.Run(t, prototest.ErrorRun(webSTOMP, "stomp", tc.options, 3))
			prototest.ConnectErrors(t, res, 3, stomp.KindError, tc.reason)
		})
	}
}

// The control: RabbitMQ drops a session that negotiated 1 s heart-beats
// and then sends none, well within the 5 s the run above keeps its
// listening-only sockets.
func TestRabbitMQDropsSilentSTOMP(t *testing.T) {
	needWebSTOMP(t)
	p, err := stomp.New(map[string]string{"heart-beat": "1s", "destination": uniqueTopic(t)})
	if err != nil {
		t.Fatal(err)
	}
	prototest.SilentSessionDropped(t, p, webSTOMP, 4*time.Second)
}
