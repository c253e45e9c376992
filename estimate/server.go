package estimate

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/chatbench/chatbench/loadgen/results"
)

// externalBackend is the backend sweep records for a server at --url.
const externalBackend = "external"

// ServerName names what a run measured, for the claims table:
// "chatbench serve memory", "chatbench serve redis (2 nodes)", or
// "server at ws://127.0.0.1:8000/ws" for a server chatbench did not start.
func ServerName(backend string, urls []string) string {
	if backend != "" && backend != externalBackend {
		return serveName(backend, nodesOf(urls))
	}
	if len(urls) == 0 {
		return "server not named"
	}
	name := "server at " + stripQuery(urls[0])
	if len(urls) > 1 {
		name += fmt.Sprintf(" (+%d nodes)", len(urls)-1)
	}
	return name
}

func serveName(backend string, nodes int) string {
	if nodes > 1 {
		return fmt.Sprintf("chatbench serve %s (%d nodes)", backend, nodes)
	}
	return "chatbench serve " + backend
}

// ChaosServerName names the server of a chaos experiment: its backend and,
// for the guarantee mode, the mode (a different server as far as the
// claims go: it keeps another promise).
func ChaosServerName(backend, mode string, nodes int) string {
	name := serveName(backend, nodes)
	if mode == results.Guarantee {
		name += " --amqp-guarantee"
	}
	return name
}

// stripQuery drops the query ({{room}}, {{user}} templates) from a URL.
func stripQuery(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		p.RawQuery = ""
		return p.String()
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// serverBackend is the backend a server is of, for the claims about one
// backend: chatbench's own from its name; a server at a URL is a single
// server ("") unless its name says redis or rabbitmq (the blog's stacks,
// named by the sweep that measured them).
func serverBackend(server string) string {
	if b, ok := strings.CutPrefix(server, "chatbench serve "); ok {
		return strings.Fields(b)[0]
	}
	low := strings.ToLower(server)
	for _, b := range []string{"rabbitmq", "redis"} {
		if strings.Contains(low, b) {
			return b
		}
	}
	return ""
}
