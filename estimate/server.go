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
// backend: the backend its results recorded when chatbench started it; a
// server at a URL (backend "external" or none) is a single server ("")
// unless it was named as one of chatbench's own ("chatbench serve redis").
// Never from other words in its name or URL: ws://host/redis-chat/ws is
// not a Redis stack.
func serverBackend(backend, server string) string {
	if backend != "" && backend != externalBackend {
		return backend
	}
	if b, ok := strings.CutPrefix(server, "chatbench serve "); ok {
		if f := strings.Fields(b); len(f) > 0 {
			return f[0]
		}
	}
	return ""
}

// backendOf is the backend of server by the first of its runs, knees or
// faults read (serverBackend).
func (e *Evidence) backendOf(server string) string {
	if e == nil {
		return serverBackend("", server)
	}
	for _, r := range e.Runs {
		if r.Server == server {
			return serverBackend(r.Backend, server)
		}
	}
	for _, k := range e.Knees {
		if k.Server == server {
			return serverBackend(k.Backend, server)
		}
	}
	for _, f := range e.Faults {
		if f.Server == server {
			return serverBackend(f.Backend, server)
		}
	}
	return serverBackend("", server)
}
