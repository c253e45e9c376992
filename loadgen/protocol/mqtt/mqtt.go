// Package mqtt is swarm's MQTT 3.1.1 over WebSocket adapter (--protocol
// mqtt): Mosquitto, EMQX, HiveMQ, VerneMQ, RabbitMQ's Web-MQTT.
//
// A session offers the WebSocket subprotocol "mqtt", sends CONNECT (clean
// session, its client id, user name and password if given, the keep
// alive) and waits for CONNACK; it then SUBSCRIBEs to its room's topic and
// waits for SUBACK, so it is a member of the room before swarm counts it as
// one. Each probe is the payload of a PUBLISH to the same topic, at QoS 0
// or 1; every PUBLISH the server sends is handed to swarm's accounting and,
// at QoS 1, answered with PUBACK (the server's PUBACKs to the client's own
// QoS 1 publishes are read and dropped). PINGREQ is sent after half the
// keep alive of the client's own silence. MQTT is binary: packets may share a
// WebSocket frame or span several, and both are read.
//
// Errors in MQTT's terms: a CONNACK with return code N is a connect error
// of kind "mqtt_connack_N" (1 protocol version, 2 identifier rejected, 3
// server unavailable, 4 bad user name or password, 5 not authorized); a
// refused subscription (SUBACK 0x80) is "mqtt_suback_refused".
//
// Room joining: one topic per room, from the topic template.
//
// Options (--protocol-opt name=value):
//
//	topic      SUBSCRIBE and PUBLISH topic, with {{room}}, no wildcards (default chat/{{room}})
//	qos        0 or 1, for the subscription and the publishes (default 0)
//	keepalive  CONNECT keep alive, whole seconds (default 30s; 0: none)
//	client-id  with {{user}} or {{client}} (default chatbench-{{user}}: unique in one run)
//	username   CONNECT user name (default none)
//	password   CONNECT password (default none; needs username)
//	payload    PUBLISH payload, with {{probe}} once (default {{probe}})
package mqtt

import (
	"context"
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/errkind"
	"github.com/chatbench/chatbench/loadgen/protocol/internal/opts"
	"github.com/chatbench/chatbench/loadgen/protocol/internal/wire"
)

func init() { loadgen.RegisterProtocol("mqtt", New) }

// Error kinds besides mqtt_connack_N.
const (
	KindConnack      errkind.Kind = "mqtt_connack_" // + the return code
	KindSubackRefuse errkind.Kind = "mqtt_suback_refused"
)

// Protocol is a configured MQTT adapter.
type Protocol struct {
	topic, clientID, username, password, payload opts.Template
	qos                                          byte
	keepalive                                    time.Duration
	hasUser, hasPass                             bool
}

// New makes the adapter from its options.
func New(given map[string]string) (loadgen.Protocol, error) {
	o, err := opts.Parse("mqtt", given, "topic", "qos", "keepalive", "client-id", "username", "password", "payload")
	if err != nil {
		return nil, err
	}
	p := &Protocol{}
	who := []string{opts.User, opts.Client}
	if p.topic, err = o.Template("topic", "chat/{{room}}", opts.Room, opts.User, opts.Client); err != nil {
		return nil, err
	}
	if strings.ContainsAny(string(p.topic), "+#") {
		return nil, o.Errorf("topic", "a topic to publish to holds no wildcard (+ or #)")
	}
	if p.clientID, err = o.Template("client-id", "chatbench-{{user}}", who...); err != nil {
		return nil, err
	}
	if p.payload, err = o.Template("payload", "{{probe}}", opts.Probe, opts.Room, opts.User, opts.Client); err != nil {
		return nil, err
	}
	_, p.hasUser = given["username"]
	_, p.hasPass = given["password"]
	if p.hasPass && !p.hasUser {
		return nil, o.Errorf("password", "MQTT 3.1.1 sends a password only with a username")
	}
	p.username, p.password = opts.Template(o.String("username", "")), opts.Template(o.String("password", ""))
	qos, err := o.Int("qos", 0, 0, 1)
	if err != nil {
		return nil, err
	}
	p.qos = byte(qos)
	if p.keepalive, err = o.Duration("keepalive", 30*time.Second, 0); err != nil {
		return nil, err
	}
	if p.keepalive%time.Second != 0 || p.keepalive > 65535*time.Second {
		return nil, o.Errorf("keepalive", "MQTT's keep alive is whole seconds up to 65535")
	}
	return p, nil
}

// Subprotocol is the WebSocket subprotocol of MQTT (3.1.1, section 6).
func (p *Protocol) Subprotocol() string { return "mqtt" }

// Keepalive is how often a silent client sends PINGREQ: after half its
// keep alive. MQTT asks for a packet within the keep alive, and brokers
// are strict about it (Mosquitto drops a WebSocket client whose PINGREQs
// come a full keep alive apart); half leaves room for a busy machine.
func (p *Protocol) Keepalive() time.Duration { return p.keepalive / 2 }

// Open connects and subscribes (see the package comment).
func (p *Protocol) Open(_ context.Context, s loadgen.Setup) (loadgen.Session, error) {
	topic := p.topic.Expand(s)
	sess := &session{conn: s.Conn, qos: p.qos, keepalive: p.Keepalive()}
	if err := wire.Write(s.Conn, p.connect(s), true, s.Deadline); err != nil {
		return nil, err
	}
	if err := sess.await(s, typeConnack); err != nil {
		return nil, err
	}
	sub := []byte{typeSubscr<<4 | 2}
	sub = appendLength(sub, 2+2+len(topic)+1)
	sub = binary.BigEndian.AppendUint16(sub, 1)
	sub = appendString(sub, topic)
	sub = append(sub, p.qos)
	if err := wire.Write(s.Conn, sub, true, s.Deadline); err != nil {
		return nil, err
	}
	if err := sess.await(s, typeSuback); err != nil {
		return nil, err
	}
	before, after := p.payload.Split(s)
	sess.topic = appendString(nil, topic)
	sess.before, sess.after = before, after
	return sess, nil
}

// connect is the CONNECT packet of client s.
func (p *Protocol) connect(s loadgen.Setup) []byte {
	var v []byte
	v = appendString(v, "MQTT")
	flags := byte(0x02) // clean session: a run leaves nothing behind
	if p.hasUser {
		flags |= 0x80
	}
	if p.hasPass {
		flags |= 0x40
	}
	v = append(v, 4, flags) // protocol level 4: 3.1.1
	v = binary.BigEndian.AppendUint16(v, uint16(p.keepalive/time.Second))
	v = appendString(v, p.clientID.Expand(s))
	if p.hasUser {
		v = appendString(v, p.username.Expand(s))
	}
	if p.hasPass {
		v = appendString(v, p.password.Expand(s))
	}
	pkt := appendLength([]byte{typeConnect << 4}, len(v))
	return append(pkt, v...)
}

// await reads packets until one of type want; a refusing CONNACK or
// SUBACK is the server's error.
func (s *session) await(setup loadgen.Setup, want byte) error {
	for {
		msg, _, err := setup.Conn.ReadMessage(setup.Deadline)
		if err != nil {
			return err
		}
		found := false
		err = s.packets(msg, func(head byte, body []byte) error {
			switch head >> 4 {
			case typeConnack:
				if len(body) < 2 {
					return packetError("CONNACK too short")
				}
				if body[1] != 0 {
					return &loadgen.ProtocolError{Kind: KindConnack + errkind.Kind(strconv.Itoa(int(body[1]))), Reason: connackReason(body[1])}
				}
			case typeSuback:
				if len(body) < 3 {
					return packetError("SUBACK too short")
				}
				if body[2] == 0x80 {
					return &loadgen.ProtocolError{Kind: KindSubackRefuse, Reason: "the server refused the subscription"}
				}
			}
			found = found || head>>4 == want
			return nil
		})
		if err != nil || found {
			return err
		}
	}
}
