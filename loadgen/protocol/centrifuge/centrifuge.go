// Package centrifuge is swarm's adapter for the Centrifuge / Centrifugo
// client protocol, JSON over WebSocket (--protocol centrifuge): servers
// built on github.com/centrifugal/centrifuge and Centrifugo (URL
// ws://HOST:PORT/connection/websocket).
//
// A session sends a connect command (with a token when given) and waits
// for its reply; it then subscribes to its room's channel and waits for the
// reply, so it is a member of the room before swarm counts it as one. Each
// probe is the data of a publish command to the same channel (the server
// must allow clients to publish: Centrifugo's allow_publish_for_subscriber,
// or an OnPublish handler); every publication push is handed to swarm's
// accounting. The server's pings (an empty command, {}) are answered with
// {} when the connect reply asks for pongs. Replies and pushes may share a
// frame, one JSON object a line: each is read.
//
// Errors in Centrifuge's terms: an error reply to connect or subscribe (or
// to a publish, mid-run) is "centrifuge_error_CODE" (e.g. 101 unauthorized,
// 103 permission denied); a disconnect (a close frame with a 3xxx code and
// reason, or a disconnect push) during the handshake is
// "centrifuge_disconnect_CODE" (e.g. 3500 invalid token), with the
// server's message or reason. A disconnect after the handshake is counted
// under close_CODE with the server's reason.
//
// Room joining: one channel per room, from the channel template
// (client-side subscription).
//
// Options (--protocol-opt name=value):
//
//	token    connection token (JWT) for the connect command, {{user}} and {{client}} allowed (default none)
//	channel  channel to subscribe and publish to, with {{room}} (default {{room}}; Centrifugo namespaces: chat:{{room}})
//	data     publication data, JSON with {{probe}} once (default "{{probe}}", a JSON string)
package centrifuge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/errkind"
	"github.com/chatbench/chatbench/loadgen/protocol/internal/opts"
	"github.com/chatbench/chatbench/loadgen/protocol/internal/wire"
)

func init() { loadgen.RegisterProtocol("centrifuge", New) }

// Error kinds (+ the code).
const (
	KindError      errkind.Kind = "centrifuge_error_"
	KindDisconnect errkind.Kind = "centrifuge_disconnect_"
)

// Protocol is a configured Centrifuge adapter.
type Protocol struct {
	token, channel, data opts.Template
}

// New makes the adapter from its options.
func New(given map[string]string) (loadgen.Protocol, error) {
	o, err := opts.Parse("centrifuge", given, "token", "channel", "data")
	if err != nil {
		return nil, err
	}
	p := &Protocol{}
	if _, ok := given["token"]; ok {
		if p.token, err = o.Template("token", "", opts.User, opts.Client); err != nil {
			return nil, err
		}
	}
	if p.channel, err = o.Template("channel", "{{room}}", opts.Room, opts.User, opts.Client); err != nil {
		return nil, err
	}
	if strings.ContainsAny(string(p.channel), "\"\\") {
		return nil, o.Errorf("channel", "a channel name with quotes or backslashes is not supported")
	}
	if p.data, err = o.Template("data", `"{{probe}}"`, opts.Probe, opts.Room, opts.User, opts.Client); err != nil {
		return nil, err
	}
	if sample := strings.Replace(p.data.Expand(loadgen.Setup{RoomID: "room0", User: "u0"}), opts.Probe, "p", 1); !json.Valid([]byte(sample)) {
		return nil, o.Errorf("data", "not JSON once {{probe}} is in (a string needs quotes: \"{{probe}}\")")
	}
	return p, nil
}

// reply is a command's reply, as much of it as the handshake reads.
type reply struct {
	ID    uint32 `json:"id"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Push *struct {
		Disconnect *struct {
			Code   int    `json:"code"`
			Reason string `json:"reason"`
		} `json:"disconnect"`
	} `json:"push"`
	Connect *struct {
		Pong bool `json:"pong"`
	} `json:"connect"`
}

// Open connects and subscribes (see the package comment).
func (p *Protocol) Open(_ context.Context, s loadgen.Setup) (loadgen.Session, error) {
	connect := `{"id":1,"connect":{"name":"chatbench"}}`
	if p.token != "" {
		tok, _ := json.Marshal(p.token.Expand(s))
		connect = `{"id":1,"connect":{"token":` + string(tok) + `,"name":"chatbench"}}`
	}
	if err := wire.WriteString(s.Conn, connect, s.Deadline); err != nil {
		return nil, err
	}
	r, err := await(s, 1)
	if err != nil {
		return nil, err
	}
	if err := wire.WriteString(s.Conn, `{"id":2,"subscribe":{"channel":"`+p.channel.Expand(s)+`"}}`, s.Deadline); err != nil {
		return nil, err
	}
	if _, err := await(s, 2); err != nil {
		return nil, err
	}
	return p.newSession(s, r.Connect != nil && r.Connect.Pong), nil
}

// newSession is client s's session after the handshake (commands 1 and 2):
// its publish command around the probe.
func (p *Protocol) newSession(s loadgen.Setup, pong bool) *session {
	before, after := p.data.Split(s)
	sess := &session{conn: s.Conn, pong: pong,
		middle: append([]byte(`,"publish":{"channel":"`+p.channel.Expand(s)+`","data":`), before...), after: append(after, "}}"...)}
	sess.nextID.Store(2)
	return sess
}

// await reads replies and pushes until the reply to command id; an error
// reply or a disconnect is the server's refusal.
func await(s loadgen.Setup, id uint32) (*reply, error) {
	for {
		msg, _, err := s.Conn.ReadMessage(s.Deadline)
		if ce, ok := wire.CloseReason(err); ok {
			return nil, &loadgen.ProtocolError{Kind: KindDisconnect + errkind.Kind(strconv.Itoa(ce.Code)), Reason: ce.Reason}
		}
		if err != nil {
			return nil, err
		}
		for _, line := range bytes.Split(msg, []byte{'\n'}) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var r reply
			if err := json.Unmarshal(line, &r); err != nil {
				return nil, fmt.Errorf("centrifuge: reply is not JSON: %w", err)
			}
			if err := r.err(); err != nil {
				return nil, err
			}
			if r.ID == id {
				return &r, nil
			}
		}
	}
}

// err is the server's refusal in r, if any.
func (r *reply) err() error {
	switch {
	case r.Error != nil:
		return &loadgen.ProtocolError{Kind: KindError + errkind.Kind(strconv.Itoa(r.Error.Code)), Reason: r.Error.Message}
	case r.Push != nil && r.Push.Disconnect != nil:
		d := r.Push.Disconnect
		return &loadgen.ProtocolError{Kind: KindDisconnect + errkind.Kind(strconv.Itoa(d.Code)), Reason: d.Reason}
	}
	return nil
}

// Keepalive: the server pings, the client answers (no client keepalive).
func (s *session) Keepalive() time.Duration { return 0 }

// SendKeepalive is never called (Keepalive is 0).
func (s *session) SendKeepalive(time.Time) error { return nil }
