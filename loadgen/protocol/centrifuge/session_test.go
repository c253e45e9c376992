package centrifuge

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/errkind"
	"github.com/chatbench/chatbench/loadgen/protocol/internal/prototest"
	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// push is a publication push as centrifuge v0.40 writes it.
func push(p []byte) string {
	return `{"push":{"channel":"chat:room0","pub":{"data":"` + string(p) + `","info":{"user":"chat","client":"c1"}}}}`
}

func TestReceiveLines(t *testing.T) {
	p := prototest.Probe()
	s := &session{} // pong false: pings are not answered here (no socket)
	prototest.ReceiveProbes(t, s, []byte(push(p)), 1, true)
	prototest.ReceiveProbes(t, s, []byte(push(p)+"\n"+`{"id":7,"publish":{}}`+"\n"+push(p)), 2, true)
	prototest.ReceiveProbes(t, s, []byte(`{"id":9,"publish":{}}`), 0, true)
	prototest.ReceiveProbes(t, s, []byte(`{}`), 0, true)
}

func TestReceiveErrors(t *testing.T) {
	for _, tc := range []struct {
		msg    string
		kind   errkind.Kind
		reason string
	}{
		{`{"id":12,"error":{"code":103,"message":"permission denied"}}`, KindError + "103", "permission denied"},
		{push(prototest.Probe()) + "\n" + `{"push":{"disconnect":{"code":3501,"reason":"bad request"}}}`, KindDisconnect + "3501", "bad request"},
	} {
		err := (&session{}).Receive([]byte(tc.msg), func([]byte) {})
		var pe *loadgen.ProtocolError
		if !errors.As(err, &pe) || pe.Kind != tc.kind || pe.Reason != tc.reason {
			t.Errorf("Receive(%.50q) = %v, want %s: %s", tc.msg, err, tc.kind, tc.reason)
		}
	}
}

// A session's publish commands are JSON with rising ids, the channel and
// the data template around the probe.
func TestAppendMessage(t *testing.T) {
	p := prototest.Probe()
	pr, err := New(map[string]string{"channel": "chat:{{room}}", "data": `{"text":"{{probe}}"}`})
	if err != nil {
		t.Fatal(err)
	}
	s := pr.(*Protocol).newSession(loadgen.Setup{RoomID: "room0"}, false)
	for want := uint32(3); want <= 4; want++ {
		out, binary := s.AppendMessage(make([]byte, wsclient.HeaderRoom), p)
		var cmd struct {
			ID      uint32 `json:"id"`
			Publish struct {
				Channel string `json:"channel"`
				Data    struct {
					Text string `json:"text"`
				} `json:"data"`
			} `json:"publish"`
		}
		if err := json.Unmarshal(out[wsclient.HeaderRoom:], &cmd); err != nil || binary {
			t.Fatalf("%s: %v (binary %v)", out[wsclient.HeaderRoom:], err, binary)
		}
		if cmd.ID != want || cmd.Publish.Channel != "chat:room0" || cmd.Publish.Data.Text != string(p) {
			t.Errorf("got %+v, want id %d on chat:room0 with the probe", cmd, want)
		}
	}
}

func BenchmarkReceive(b *testing.B) {
	prototest.BenchReceive(b, "centrifuge", &session{}, []byte(push(prototest.Probe())))
}
