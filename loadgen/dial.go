package loadgen

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
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
