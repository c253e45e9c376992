package errkind

// explanations say what a kind means and what to change.
var explanations = map[Kind]string{
	Close(1008):   "closed by the server with 1008 (policy violation): chatbench serve sends it to a slow consumer, a client that cannot take its messages as fast as they come, or to a client over --max-msg-rate; lower --rate, --senders or -n, or raise serve's --send-queue",
	Close(1001):   "closed by the server with 1001 (going away): it is shutting down or restarting",
	Close(1009):   "closed by the server with 1009 (message too big): its frame limit is below --size or the --message template",
	Close(1011):   "closed by the server with 1011 (internal error)",
	Close(1013):   "closed by the server with 1013 (try again later): it says it is overloaded",
	Close(1003):   "closed by the server with 1003 (unsupported data): it does not take text frames like swarm's",
	Close(1007):   "closed by the server with 1007 (invalid payload)",
	EOF:           "the server closed the TCP connection without a close frame",
	Reset:         "the connection was reset: the server crashed, was killed, or dropped the socket",
	PingTimeout:   "the server stopped answering for longer than --ping-interval + --ping-timeout: frozen, partitioned, or too overloaded to read its sockets",
	WriteFailed:   "swarm's write failed or timed out (--write-timeout): the server stopped reading this socket",
	Protocol:      "the server sent bytes that are not valid WebSocket frames",
	FrameTooBig:   "the server sent a frame over --read-limit",
	TLS:           "the TLS handshake or stream failed (certificate not trusted: --ca; not a TLS server)",
	Refused:       "connection refused: nothing listens at the URL, or its accept queue is full",
	Timeout:       "the connect or upgrade did not finish within --connect-timeout: the server is too busy to accept",
	HTTP(503):     "upgrade refused with HTTP 503: the server is at its connection cap (chatbench serve: --max-conns)",
	HTTP(401):     "upgrade refused with HTTP 401: the server wants a token (--header 'Authorization: Bearer …' or ?token= in --url)",
	HTTP(403):     "upgrade refused with HTTP 403: the server's origin check or auth refused swarm (--header 'Origin: …')",
	HTTP(404):     "upgrade refused with HTTP 404: wrong path in --url",
	Handshake:     "the upgrade answer was not a valid WebSocket 101",
	FDLimit:       "swarm ran out of file descriptors: use --procs auto",
	PortExhausted: "swarm ran out of ephemeral ports: add --source-ips 127.0.0.1-127.0.0.8",
}

// Explain says what a kind means and what to change ("" when there is
// nothing to add to its name).
func Explain(k Kind) string { return explanations[k] }

// SwarmSide reports whether a connect error kind is swarm's own limit (the
// load was not generated) rather than the server's answer.
func SwarmSide(k Kind) bool { return k == FDLimit || k == PortExhausted }
