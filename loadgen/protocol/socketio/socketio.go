// Package socketio is swarm's Socket.IO adapter (--protocol socketio):
// Socket.IO 3 and 4 servers (Engine.IO protocol 4) over WebSocket only, no
// long-polling: Node's socket.io, python-socketio, and their ports.
//
// The URL is the server's Engine.IO endpoint with the WebSocket transport
// asked for, e.g.
//
//	ws://HOST:PORT/socket.io/?EIO=4&transport=websocket&room={{room}}
//
// A session reads the Engine.IO open packet, connects to its namespace
// (40, with the auth payload when given) and waits for the server's
// connect packet, so it is in the room before swarm counts it as a member.
// Each probe is an event (42["message",PROBE] by default) and every event
// the server sends on the namespace is handed to swarm's accounting. The
// server's heartbeat pings (2) are answered with pongs (3): Engine.IO 4
// closes a socket that does not answer within its pingTimeout.
//
// Errors in Socket.IO's terms: a connect error packet (44: an unknown
// namespace, a middleware's refusal) is connect error
// "socketio_connect_error" with the server's message; a namespace
// disconnect (41) or an Engine.IO close (1) ends the session as
// "socketio_disconnect".
//
// Room joining: Socket.IO has no protocol-level rooms; servers join a
// socket to a room in their own code. This adapter assumes the server
// takes the room from the handshake (the URL's query, as above, or the
// auth payload: auth={"room":"{{room}}"}), and that it re-emits each
// message event to that room, the sender included.
//
// Options (--protocol-opt name=value):
//
//	namespace  the namespace to connect to (default /)
//	auth       the connect packet's auth payload, a JSON object; {{room}}, {{user}}, {{client}} allowed (default none)
//	event      the event name the client emits, {{room}} allowed (default message)
//	data       the event's argument, JSON with {{probe}} once (default "{{probe}}", a JSON string)
package socketio

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/errkind"
	"github.com/chatbench/chatbench/loadgen/protocol/internal/opts"
	"github.com/chatbench/chatbench/loadgen/protocol/internal/wire"
)

func init() { loadgen.RegisterProtocol("socketio", New) }

// Error kinds.
const (
	KindConnectError errkind.Kind = "socketio_connect_error"
	KindDisconnect   errkind.Kind = "socketio_disconnect"
)

// Protocol is a configured Socket.IO adapter.
type Protocol struct {
	namespace         string
	auth, event, data opts.Template
	hasAuth           bool
}

// New makes the adapter from its options.
func New(given map[string]string) (loadgen.Protocol, error) {
	o, err := opts.Parse("socketio", given, "namespace", "auth", "event", "data")
	if err != nil {
		return nil, err
	}
	p := &Protocol{namespace: o.String("namespace", "/")}
	if !strings.HasPrefix(p.namespace, "/") || strings.ContainsAny(p.namespace, ",?#{} ") {
		return nil, o.Errorf("namespace", "want a namespace such as / or /chat")
	}
	all := []string{opts.Room, opts.User, opts.Client}
	if _, p.hasAuth = given["auth"]; p.hasAuth {
		if p.auth, err = o.Template("auth", `{"room":"{{room}}"}`, all...); err != nil {
			return nil, err
		}
		var obj map[string]any
		if json.Unmarshal([]byte(p.auth.Expand(loadgen.Setup{RoomID: "room0", User: "u0"})), &obj) != nil {
			return nil, o.Errorf("auth", "want a JSON object")
		}
	}
	if p.event, err = o.Template("event", "message", opts.Room); err != nil {
		return nil, err
	}
	if strings.ContainsAny(string(p.event), "\"\\") {
		return nil, o.Errorf("event", "an event name with quotes or backslashes is not supported")
	}
	if p.data, err = o.Template("data", `"{{probe}}"`, append(all, opts.Probe)...); err != nil {
		return nil, err
	}
	if sample := strings.Replace(p.data.Expand(loadgen.Setup{RoomID: "room0", User: "u0"}), opts.Probe, "p", 1); !json.Valid([]byte(sample)) {
		return nil, o.Errorf("data", "not JSON once {{probe}} is in (a string needs quotes: \"{{probe}}\")")
	}
	return p, nil
}

// nsPrefix is what follows a Socket.IO packet type for the namespace.
func (p *Protocol) nsPrefix() string {
	if p.namespace == "/" {
		return ""
	}
	return p.namespace + ","
}

// Open reads the open packet, connects to the namespace and waits for the
// server's answer (see the package comment).
func (p *Protocol) Open(_ context.Context, s loadgen.Setup) (loadgen.Session, error) {
	msg, _, err := s.Conn.ReadMessage(s.Deadline)
	if err != nil {
		return nil, err
	}
	if len(msg) == 0 || msg[0] != '0' {
		return nil, fmt.Errorf("socketio: the server's first message %.40q is not an Engine.IO open packet (want a URL like ws://HOST/socket.io/?EIO=4&transport=websocket)", msg)
	}
	connect := "40" + p.nsPrefix()
	if p.hasAuth {
		connect += p.auth.Expand(s)
	}
	if err := wire.WriteString(s.Conn, connect, s.Deadline); err != nil {
		return nil, err
	}
	sess := p.newSession(s)
	for {
		msg, _, err := s.Conn.ReadMessage(s.Deadline)
		if err != nil {
			return nil, err
		}
		connected := false
		err = sess.packets(msg, func(kind byte, _ []byte) error {
			connected = connected || kind == '0'
			return nil
		})
		if err != nil {
			return nil, err
		}
		if connected {
			break
		}
	}
	return sess, nil
}

// newSession is client s's session: its namespace and its event packet.
func (p *Protocol) newSession(s loadgen.Setup) *session {
	before, after := p.data.Split(s)
	return &session{conn: s.Conn, ns: []byte(p.nsPrefix()),
		prefix: append([]byte(`42`+p.nsPrefix()+`["`+p.event.Expand(s)+`",`), before...), suffix: append(after, ']')}
}

// connectError is a 44 packet's body as the server's reason.
func connectError(body []byte) error {
	var e struct {
		Message string `json:"message"`
	}
	reason := string(body)
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		reason = e.Message
	}
	return &loadgen.ProtocolError{Kind: KindConnectError, Reason: reason}
}

// disconnect is the error of a session the server ended.
func disconnect(why string) error {
	return &loadgen.ProtocolError{Kind: KindDisconnect, Reason: why}
}

// Keepalive: Engine.IO 4's server pings, the client answers.
func (s *session) Keepalive() time.Duration { return 0 }

// SendKeepalive is never called (Keepalive is 0).
func (s *session) SendKeepalive(time.Time) error { return nil }
