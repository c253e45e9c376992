package server

import "github.com/coder/websocket"

// disconnect is one way a connection ends: the label it is counted under in
// chatbench_disconnects_total{reason}, and, when the server ends it, the
// close frame it sends. Every close site names one of the values below, so
// a label, its code and its text are paired once.
type disconnect struct {
	label string
	code  websocket.StatusCode
	text  string
	// abrupt: close the socket without a close handshake (it is unusable,
	// or the peer has stopped answering).
	abrupt bool
}

// The disconnect table. Labels are a fixed set, so label cardinality stays
// bounded whatever clients do.
var (
	// Ended by the client or the network.
	discClientClose = &disconnect{label: "client_close"}
	discReadError   = &disconnect{label: "read_error"}

	// Ended by the server for what the client sent.
	discTooBig      = &disconnect{label: "message_too_big", code: websocket.StatusMessageTooBig, text: "message too big"}
	discBinary      = &disconnect{label: "invalid_message", code: websocket.StatusUnsupportedData, text: "binary frames are not supported: send text"}
	discBadUTF8     = &disconnect{label: "invalid_message", code: websocket.StatusInvalidFramePayloadData, text: "text frame is not valid UTF-8"}
	discBadName     = &disconnect{label: "policy", code: websocket.StatusPolicyViolation, text: "first frame must be a user name of 1 to MaxUserBytes bytes"}
	discNameTimeout = &disconnect{label: "name_timeout", code: websocket.StatusPolicyViolation, text: "no user name in time: send it as the first text frame"}
	discRateLimit   = &disconnect{label: "rate_limit", code: websocket.StatusPolicyViolation, text: "message rate limit exceeded"}
	// A flooder would not answer a close handshake soon, and every frame
	// it sends meanwhile costs a read: its socket is closed right after
	// the close frame.
	discPingFlood = &disconnect{label: "ping_flood", code: websocket.StatusPolicyViolation, text: "too many pings", abrupt: true}
	discFlood     = &disconnect{label: "flood", code: websocket.StatusPolicyViolation, text: "flooding the room", abrupt: true}

	// Ended by the server for how the client reads.
	discSlowConsumer = &disconnect{label: "slow_consumer", code: websocket.StatusPolicyViolation, text: "slow consumer"}
	discWriteError   = &disconnect{label: "write_error", abrupt: true}
	discPingTimeout  = &disconnect{label: "ping_timeout", abrupt: true}

	// Ended by the server for its own reasons.
	discShutdown = &disconnect{label: "shutdown", code: websocket.StatusGoingAway, text: "server shutting down"}
	discMaxConns = &disconnect{label: "max_conns", code: websocket.StatusTryAgainLater, text: "server is at its connection limit", abrupt: true}
)
