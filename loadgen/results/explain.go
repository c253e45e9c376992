package results

import (
	"fmt"
	"sort"
	"strings"
)

// explanations say what an error kind (a failed connect or a lost socket)
// means and what to change.
var explanations = map[string]string{
	"close_1008":      "closed by the server with 1008 (policy violation): chatbench serve sends it to a slow consumer, a client that cannot take its messages as fast as they come, or to a client over --max-msg-rate; lower --rate, --senders or -n, or raise serve's --send-queue",
	"close_1001":      "closed by the server with 1001 (going away): it is shutting down or restarting",
	"close_1009":      "closed by the server with 1009 (message too big): its frame limit is below --size or the --message template",
	"close_1011":      "closed by the server with 1011 (internal error)",
	"close_1013":      "closed by the server with 1013 (try again later): it says it is overloaded",
	"close_1003":      "closed by the server with 1003 (unsupported data): it does not take text frames like swarm's",
	"close_1007":      "closed by the server with 1007 (invalid payload)",
	"eof":             "the server closed the TCP connection without a close frame",
	"reset":           "the connection was reset: the server crashed, was killed, or dropped the socket",
	"ping_timeout":    "the server stopped answering for longer than --ping-interval + --ping-timeout: frozen, partitioned, or too overloaded to read its sockets",
	"write_failed":    "swarm's write failed or timed out (--write-timeout): the server stopped reading this socket",
	"protocol":        "the server sent bytes that are not valid WebSocket frames",
	"frame_too_big":   "the server sent a frame over --read-limit",
	"tls":             "the TLS handshake or stream failed (certificate not trusted: --ca; not a TLS server)",
	"refused":         "connection refused: nothing listens at the URL, or its accept queue is full",
	"timeout":         "the connect or upgrade did not finish within --connect-timeout: the server is too busy to accept",
	"http_503":        "upgrade refused with HTTP 503: the server is at its connection cap (chatbench serve: --max-conns)",
	"http_401":        "upgrade refused with HTTP 401: the server wants a token (--header 'Authorization: Bearer …' or ?token= in --url)",
	"http_403":        "upgrade refused with HTTP 403: the server's origin check or auth refused swarm (--header 'Origin: …')",
	"http_404":        "upgrade refused with HTTP 404: wrong path in --url",
	"handshake":       "the upgrade answer was not a valid WebSocket 101",
	"fd_limit":        "swarm ran out of file descriptors: use --procs auto",
	"port_exhaustion": "swarm ran out of ephemeral ports: add --source-ips 127.0.0.1-127.0.0.8",
}

// Explain says what an error kind means and what to change ("" when there
// is nothing to add to its name).
func Explain(kind string) string { return explanations[kind] }

// swarmSide reports whether a connect error kind is swarm's own limit (the
// load was not generated) rather than the server's answer.
func swarmSide(kind string) bool { return kind == "fd_limit" || kind == "port_exhaustion" }

// kindsText lists counts by kind, largest first, each with its explanation.
func kindsText(m map[string]int64) string {
	type kv struct {
		k string
		v int64
	}
	var ks []kv
	for k, v := range m {
		ks = append(ks, kv{k, v})
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].v > ks[j].v || ks[i].v == ks[j].v && ks[i].k < ks[j].k })
	var parts []string
	for _, x := range ks {
		s := fmt.Sprintf("%s %d", x.k, x.v)
		if e := Explain(x.k); e != "" {
			s += ": " + e
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
