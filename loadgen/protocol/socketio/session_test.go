package socketio

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/errkind"
	"github.com/chatbench/chatbench/loadgen/protocol/internal/prototest"
	"github.com/chatbench/chatbench/loadgen/wsclient"
)

func TestReceivePackets(t *testing.T) {
	p := string(prototest.Probe())
	root, chat := &session{}, &session{ns: []byte("/chat,")}
	prototest.ReceiveProbes(t, root, []byte(`42["message","`+p+`"]`), 1, true)
	prototest.ReceiveProbes(t, root, []byte(`42/chat,["message","`+p+`"]`), 0, true) // another namespace
	prototest.ReceiveProbes(t, chat, []byte(`42/chat,["message",{"text":"`+p+`"}]`), 1, true)
	prototest.ReceiveProbes(t, chat, []byte(`42["message","`+p+`"]`), 0, true)
	prototest.ReceiveProbes(t, root, []byte(`42["message","`+p+`"]`+"\x1e"+`42["message","`+p+`"]`), 2, true)
	prototest.ReceiveProbes(t, root, []byte(`6`), 0, true)
}

func TestReceiveEnds(t *testing.T) {
	for _, tc := range []struct {
		ns, msg string
		kind    errkind.Kind
		reason  string
	}{
		{"", `41`, KindDisconnect, "the server disconnected the namespace"},
		{"/chat,", `41/chat,`, KindDisconnect, "the server disconnected the namespace"},
		{"", `1`, KindDisconnect, "the server closed the Engine.IO session (close packet)"},
		{"/chat,", `44/chat,{"message":"not authorized"}`, KindConnectError, "not authorized"},
	} {
		err := (&session{ns: []byte(tc.ns)}).Receive([]byte(tc.msg), func([]byte) {})
		var pe *loadgen.ProtocolError
		if !errors.As(err, &pe) || pe.Kind != tc.kind || pe.Reason != tc.reason {
			t.Errorf("Receive(%q) = %v, want %s: %s", tc.msg, err, tc.kind, tc.reason)
		}
	}
}

// A session's event is 42, the namespace, and a JSON array of the event
// name and the data around the probe.
func TestAppendMessage(t *testing.T) {
	p, err := New(map[string]string{"namespace": "/chat", "event": "say:{{room}}", "data": `{"text":"{{probe}}"}`})
	if err != nil {
		t.Fatal(err)
	}
	s := p.(*Protocol).newSession(loadgen.Setup{RoomID: "room4"})
	out, binary := s.AppendMessage(make([]byte, wsclient.HeaderRoom), prototest.Probe())
	pkt := string(out[wsclient.HeaderRoom:])
	var args []json.RawMessage
	if binary || len(pkt) < 8 || pkt[:8] != "42/chat," || json.Unmarshal([]byte(pkt[8:]), &args) != nil || len(args) != 2 ||
		string(args[0]) != `"say:room4"` || string(args[1]) != `{"text":"`+string(prototest.Probe())+`"}` {
		t.Errorf("event %q (binary %v)", pkt, binary)
	}
}

func BenchmarkReceive(b *testing.B) {
	prototest.BenchReceive(b, "socketio", &session{}, []byte(`42["message","`+string(prototest.Probe())+`"]`))
}
