package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ParseSourceIPs parses "127.0.0.1-127.0.0.8" (an inclusive range), a comma
// list, or a mix ("127.0.0.1,127.0.0.5-127.0.0.6"). Empty means the kernel's choice.
func ParseSourceIPs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := netip.ParseAddr(strings.TrimSpace(lo))
		if err != nil {
			return nil, fmt.Errorf("source ip %q: %w", part, err)
		}
		if !isRange {
			out = append(out, a)
			continue
		}
		b, err := netip.ParseAddr(strings.TrimSpace(hi))
		if err != nil {
			return nil, fmt.Errorf("source ip %q: %w", part, err)
		}
		if a.Is4() != b.Is4() || b.Less(a) {
			return nil, fmt.Errorf("source ip range %q is empty or mixes families", part)
		}
		for x := a; ; x = x.Next() {
			out = append(out, x)
			if len(out) > 1<<16 {
				return nil, fmt.Errorf("source ip range %q is too large", part)
			}
			if x == b {
				break
			}
		}
	}
	return out, nil
}

// expand replaces {{user}}, {{room}}, {{client}} (and {{probe}} when probe
// is non-empty) in a template.
func expand(tmpl string, client, room int, probe string) string {
	if !strings.Contains(tmpl, "{{") {
		return tmpl
	}
	r := strings.NewReplacer(
		"{{user}}", userName(client),
		"{{room}}", roomName(room),
		"{{client}}", strconv.Itoa(client),
		"{{probe}}", probe,
	)
	return r.Replace(tmpl)
}

func userName(client int) string { return "u" + strconv.Itoa(client) }
func roomName(room int) string   { return "room" + strconv.Itoa(room) }

// expandURL expands templates in a URL's path and query, keeping the query
// escaped. The {{ }} braces may arrive percent-encoded.
func expandURL(raw string, client, room int) (*url.URL, error) {
	s := strings.NewReplacer("%7B%7B", "{{", "%7D%7D", "}}", "%7b%7b", "{{", "%7d%7d", "}}").Replace(raw)
	s = expand(s, client, room, "")
	return url.Parse(s)
}

// Connect error kinds, the keys of Result.Errors.Connect.
const (
	ErrRefused       = "refused"
	ErrTimeout       = "timeout"
	ErrReset         = "reset"
	ErrFDLimit       = "fd_limit"        // EMFILE/ENFILE: out of file descriptors
	ErrPortExhausted = "port_exhaustion" // EADDRNOTAVAIL: out of ephemeral ports
	ErrHandshake     = "handshake"
	ErrOther         = "other"
)

// classifyConnectErr names the kind of a dial or upgrade error. HTTP status
// errors are "http_<code>".
func classifyConnectErr(err error) string {
	var he *handshakeError
	var ne net.Error
	var pe *protocolError
	switch {
	case errors.As(err, &he):
		return "http_" + strconv.Itoa(he.status)
	case isTLSError(err):
		return ErrTLS
	case errors.As(err, &pe):
		return pe.kind
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrRefused
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return ErrFDLimit
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return ErrPortExhausted
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return ErrReset
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return ErrTimeout
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	if strings.Contains(err.Error(), "websocket") || strings.Contains(err.Error(), "malformed HTTP") {
		return ErrHandshake
	}
	return ErrOther
}
