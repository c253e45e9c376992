// Package stomp is swarm's STOMP 1.2 over WebSocket adapter (--protocol
// stomp): RabbitMQ's Web-STOMP, Spring's STOMP endpoints, ActiveMQ, Artemis.
//
// A session sends CONNECT (login, passcode, host, heart-beat) and waits for
// CONNECTED; it then SUBSCRIBEs to its room's destination with a receipt
// and waits for the RECEIPT, so it is a member of the room before swarm
// counts it as one. Each probe is the body of a SEND to the same
// destination; every MESSAGE frame's body is handed to swarm's accounting.
// Heart-beats are negotiated as STOMP 1.2 says (the client offers its
// interval both ways); the client sends an EOL after half its interval of
// its own silence, well within what the server expects, and the server's
// EOLs are read and dropped. An ERROR frame (a refused login, a
// forbidden destination) ends the session as a connect or disconnect error
// of kind "stomp_error", with the server's message header and body as the
// reason.
//
// Room joining: one destination per room, from the destination template
// (RabbitMQ: /topic/NAME fans out to every subscriber; /exchange/X/KEY and
// /amq/queue/... too). The WebSocket subprotocol offered is v12.stomp.
//
// Options (--protocol-opt name=value):
//
//	login        CONNECT login ({{user}}, {{client}} allowed; default guest)
//	passcode     CONNECT passcode (default guest)
//	host         CONNECT host: the virtual host (default /)
//	destination  SUBSCRIBE and SEND destination, with {{room}} (default /topic/{{room}})
//	body         SEND body, with {{probe}} once (default {{probe}})
//	heart-beat   the client's heart-beat interval, both ways (default 10s; 0: none)
package stomp

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/errkind"
	"github.com/chatbench/chatbench/loadgen/protocol/internal/opts"
	"github.com/chatbench/chatbench/loadgen/protocol/internal/wire"
)

func init() { loadgen.RegisterProtocol("stomp", New) }

// KindError is the kind of every ERROR frame from the server.
const KindError errkind.Kind = "stomp_error"

// Protocol is a configured STOMP adapter.
type Protocol struct {
	login, passcode, host, destination, body opts.Template
	heartBeat                                time.Duration
}

// New makes the adapter from its options.
func New(given map[string]string) (loadgen.Protocol, error) {
	o, err := opts.Parse("stomp", given, "login", "passcode", "host", "destination", "body", "heart-beat")
	if err != nil {
		return nil, err
	}
	p := &Protocol{}
	who := []string{opts.User, opts.Client}
	for _, t := range []struct {
		dst       *opts.Template
		name, def string
		allowed   []string
	}{
		{&p.login, "login", "guest", who},
		{&p.passcode, "passcode", "guest", who},
		{&p.host, "host", "/", nil},
		{&p.destination, "destination", "/topic/{{room}}", []string{opts.Room, opts.User, opts.Client}},
		{&p.body, "body", "{{probe}}", []string{opts.Probe, opts.Room, opts.User, opts.Client}},
	} {
		if *t.dst, err = o.Template(t.name, t.def, t.allowed...); err != nil {
			return nil, err
		}
	}
	if p.heartBeat, err = o.Duration("heart-beat", 10*time.Second, 0); err != nil {
		return nil, err
	}
	if strings.ContainsAny(string(p.destination), "\n:") {
		return nil, o.Errorf("destination", "a STOMP header value holds no newline or colon")
	}
	return p, nil
}

// Subprotocol is the WebSocket subprotocol STOMP 1.2 servers expect.
func (p *Protocol) Subprotocol() string { return "v12.stomp" }

// Keepalive is how long a client stays silent before it sends a
// heart-beat: half its heart-beat interval (a session's negotiated one is
// never shorter), so a heart-beat delayed on a busy machine still comes
// within the interval the server checks.
func (p *Protocol) Keepalive() time.Duration { return p.heartBeat / 2 }

// Open connects and subscribes (see the package comment).
func (p *Protocol) Open(_ context.Context, s loadgen.Setup) (loadgen.Session, error) {
	hb := p.heartBeat.Milliseconds()
	connect := fmt.Sprintf("CONNECT\naccept-version:1.2\nhost:%s\nlogin:%s\npasscode:%s\nheart-beat:%d,%d\n\n\x00",
		p.host.Expand(s), p.login.Expand(s), p.passcode.Expand(s), hb, hb)
	if err := wire.WriteString(s.Conn, connect, s.Deadline); err != nil {
		return nil, err
	}
	connected, err := await(s, "CONNECTED")
	if err != nil {
		return nil, err
	}
	sess := &session{conn: s.Conn, every: negotiate(hb, connected)}
	dest := p.destination.Expand(s)
	sub := "SUBSCRIBE\nid:0\ndestination:" + dest + "\nack:auto\nreceipt:joined\n\n\x00"
	if err := wire.WriteString(s.Conn, sub, s.Deadline); err != nil {
		return nil, err
	}
	if _, err := await(s, "RECEIPT"); err != nil {
		return nil, err
	}
	before, after := p.body.Split(s)
	sess.prefix = append([]byte("SEND\ndestination:"+dest+"\ncontent-type:text/plain\n\n"), before...)
	sess.suffix = append(after, 0)
	return sess, nil
}

// await reads the server's frames until one is command (its headers are
// returned); an ERROR is the server's refusal.
func await(s loadgen.Setup, command string) ([]byte, error) {
	for {
		msg, _, err := s.Conn.ReadMessage(s.Deadline)
		if err != nil {
			return nil, err
		}
		for {
			f, rest, ok, err := next(msg)
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			switch string(f.command) {
			case command:
				return f.headers, nil
			case "ERROR":
				return nil, errorOf(f)
			}
			msg = rest
		}
	}
}

// negotiate is the client's heart-beat period: STOMP 1.2 section
// "Heart-beating", max of what the client can send and the server wants,
// none when either says 0.
func negotiate(clientMs int64, connected []byte) time.Duration {
	v, _ := header(connected, "heart-beat")
	_, wants, _ := bytes.Cut(v, []byte{','})
	sy, ok := atoi(bytes.TrimSpace(wants))
	if !ok || sy == 0 || clientMs == 0 {
		return 0
	}
	return time.Duration(max(clientMs, int64(sy))) * time.Millisecond
}

// errorOf is an ERROR frame as the server's reason.
func errorOf(f frame) error {
	msg, _ := header(f.headers, "message")
	reason := string(msg)
	if b := strings.TrimSpace(string(f.body)); b != "" {
		reason += ": " + strings.Join(strings.Fields(b), " ")
	}
	return &loadgen.ProtocolError{Kind: KindError, Reason: reason}
}
