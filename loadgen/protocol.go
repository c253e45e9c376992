package loadgen

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/chatbench/chatbench/loadgen/errkind"

	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// A Protocol is the session protocol a chat server speaks over its
// WebSockets: raw text (the default: every text frame is a message, as in
// the blog's server and chatbench serve), or Socket.IO, STOMP, Centrifuge,
// MQTT... (adapters register themselves with RegisterProtocol). swarm's
// probes ride inside the protocol's own chat messages.
type Protocol interface {
	// Open starts the session of one client on a new connection: it runs
	// the protocol's handshake (reading the server's answers with
	// Setup.Conn.ReadMessage, before swarm's reader starts) and joins the
	// client's room. An error the server gave in the protocol's own terms
	// (a refused login, a connect error code) is a *ProtocolError.
	Open(ctx context.Context, s Setup) (Session, error)
}

// A Protocol whose clients must send keepalives says how often by also
// having Keepalive() time.Duration (the same as its sessions').

// A Protocol whose servers want a WebSocket subprotocol (Sec-WebSocket-
// Protocol: mqtt, v12.stomp) names it by also having Subprotocol() string.
func subprotocolOf(p Protocol) string {
	if sp, ok := p.(interface{ Subprotocol() string }); ok {
		return sp.Subprotocol()
	}
	return ""
}

// Setup is what a Protocol needs to open one client's session.
type Setup struct {
	Conn   *wsclient.Conn
	Client int    // the client's number in the whole run
	Room   int    // its room's number
	User   string // its user name ({{user}})
	RoomID string // its room's name ({{room}})
	// Deadline bounds the handshake (the connect timeout's end).
	Deadline time.Time
}

// A Session is one client's open session.
type Session interface {
	// AppendMessage appends to dst the payload of one chat message to the
	// client's room carrying text (the probe), and says whether it goes
	// in a binary frame.
	AppendMessage(dst, text []byte) (payload []byte, binary bool)
	// Receive handles one message from the server: it calls deliver with
	// the chat text of every chat message in it and answers the
	// protocol's own traffic (heartbeats, acks) itself. An error ends the
	// session (a disconnect in the protocol's terms: a *ProtocolError).
	// For plain chat messages it should not allocate.
	Receive(msg []byte, deliver func([]byte)) error
	// Keepalive is how often the client itself must show it is alive when
	// it has sent nothing (0: never), and SendKeepalive writes that.
	Keepalive() time.Duration
	SendKeepalive(deadline time.Time) error
}

// ProtocolError is an error a server gave in its protocol's own terms; Kind
// is what swarm counts it under (e.g. "stomp_error", "mqtt_connack_5").
type ProtocolError struct {
	Kind   errkind.Kind
	Reason string // the server's words
}

func (e *ProtocolError) Error() string { return string(e.Kind) + ": " + e.Reason }

// ProtocolFactory makes a Protocol from its options (--protocol-opt
// name=value; the factory refuses unknown ones).
type ProtocolFactory func(opts map[string]string) (Protocol, error)

var (
	protocolsMu sync.Mutex
	protocols   = map[string]ProtocolFactory{}
)

// RegisterProtocol makes a protocol available by name (in an adapter
// package's init).
func RegisterProtocol(name string, f ProtocolFactory) {
	protocolsMu.Lock()
	defer protocolsMu.Unlock()
	protocols[name] = f
}

// Protocols lists the registered protocol names.
func Protocols() []string {
	protocolsMu.Lock()
	defer protocolsMu.Unlock()
	var names []string
	for n := range protocols {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NewProtocol makes the named protocol with its options.
func NewProtocol(name string, opts map[string]string) (Protocol, error) {
	protocolsMu.Lock()
	f, ok := protocols[name]
	protocolsMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("unknown protocol %q (known: %s)", name, strings.Join(Protocols(), ", "))
	}
	return f(opts)
}

// rawProtocol is the default: every text frame is a chat message, sent
// from the --message template; an optional --hello frame first (the
// blog's user name).
type rawProtocol struct {
	hello, message string
}

type rawSession struct {
	prefix, suffix []byte
}

func (p rawProtocol) Open(_ context.Context, s Setup) (Session, error) {
	if p.hello != "" {
		h := expand(p.hello, s.Client, s.Room, "")
		buf := make([]byte, wsclient.HeaderRoom, wsclient.HeaderRoom+len(h))
		buf = append(buf, h...)
		if err := s.Conn.WriteText(buf, uint32(s.Client)*2654435761, s.Deadline); err != nil {
			return nil, err
		}
	}
	pre, suf, _ := strings.Cut(expand(p.message, s.Client, s.Room, "\x00"), "\x00")
	return &rawSession{prefix: []byte(pre), suffix: []byte(suf)}, nil
}

func (s *rawSession) AppendMessage(dst, text []byte) ([]byte, bool) {
	dst = append(dst, s.prefix...)
	dst = append(dst, text...)
	return append(dst, s.suffix...), false
}

func (s *rawSession) Receive(msg []byte, deliver func([]byte)) error {
	deliver(msg)
	return nil
}

func (s *rawSession) Keepalive() time.Duration      { return 0 }
func (s *rawSession) SendKeepalive(time.Time) error { return nil }
