package stomp

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/protocol/internal/prototest"
)

// message is a MESSAGE frame as RabbitMQ's Web-STOMP sends it.
func message(body []byte, withLength bool) string {
	f := "MESSAGE\nsubscription:0\ndestination:/topic/room0\nmessage-id:T_0@@session-x@@1\nredelivered:false\ncontent-type:text/plain\n"
	if withLength {
		f += "content-length:" + strconv.Itoa(len(body)) + "\n"
	}
	return f + "\n" + string(body) + "\x00"
}

func TestReceiveFrames(t *testing.T) {
	p := prototest.Probe()
	s := &session{}
	for _, tc := range []struct {
		name string
		msg  string
		want int
	}{
		{"content-length", message(p, true), 1},
		{"up to NUL", message(p, false), 1},
		{"heart-beat EOLs around", "\n\r\n" + message(p, true) + "\n\n", 1},
		{"two frames, one message", message(p, true) + message(p, false), 2},
		{"heart-beat only", "\n", 0},
		{"receipt", "RECEIPT\nreceipt-id:joined\n\n\x00", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prototest.ReceiveProbes(t, s, []byte(tc.msg), tc.want, true)
		})
	}
}

func TestReceiveRefusesBrokenFrames(t *testing.T) {
	s := &session{}
	for _, msg := range []string{
		"MESSAGE\ncontent-length:5\n\nabc\x00",  // length past the NUL
		"MESSAGE\ncontent-length:2\n\nabc\x00",  // no NUL after the length
		"MESSAGE\ndestination:/topic/a\n\nabc",  // no NUL at all
		"MESSAGE\ndestination:/topic/a",         // headers never end
		"MESSAGE\ncontent-length:x1\n\nabc\x00", // not a length
	} {
		var fe frameError
		if err := s.Receive([]byte(msg), func([]byte) {}); !errors.As(err, &fe) {
			t.Errorf("Receive(%q) = %v, want a frame error", msg, err)
		}
	}
}

// An ERROR frame is a stomp_error with RabbitMQ's message header and body.
func TestReceiveError(t *testing.T) {
	s := &session{}
	err := s.Receive([]byte("ERROR\nmessage:Bad CONNECT\ncontent-type:text/plain\ncontent-length:32\n\nAccess refused for user 'guest'\n\x00"), func([]byte) {})
	var pe *loadgen.ProtocolError
	if !errors.As(err, &pe) || pe.Kind != KindError || pe.Reason != "Bad CONNECT: Access refused for user 'guest'" {
		t.Fatalf("got %v, want stomp_error with the message and body", err)
	}
}

// STOMP 1.2's rule: the client sends every max(cx, sy), or never when
// either is 0.
func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		client int64
		server string
		want   time.Duration
	}{
		{1000, "heart-beat:0,1000\n", time.Second},
		{1000, "heart-beat:1000,4000\n", 4 * time.Second},
		{5000, "heart-beat:0,1000\n", 5 * time.Second},
		{1000, "heart-beat:1000,0\n", 0},
		{0, "heart-beat:0,1000\n", 0},
		{1000, "version:1.2\n", 0},
	} {
		if got := negotiate(tc.client, []byte(tc.server)); got != tc.want {
			t.Errorf("negotiate(%d, %q) = %v, want %v", tc.client, tc.server, got, tc.want)
		}
	}
}

func BenchmarkReceive(b *testing.B) {
	prototest.BenchReceive(b, "stomp", &session{}, []byte(message(prototest.Probe(), true)))
}
