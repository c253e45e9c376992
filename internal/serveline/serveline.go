// Package serveline is how a `chatbench serve` process tells the process
// that started it where it listens: its first line on stdout, in the one
// format written by Format and read by Parse.
//
//	chatbench serve: listening on http://127.0.0.1:38211 (backend memory)
package serveline

import (
	"fmt"
	"net/url"
	"strings"
)

const prefix = "chatbench serve: listening on "

// Format is serve's first stdout line (without the newline) for a server
// at base URL u (http:// or https://) on backend.
func Format(u, backend string) string { return fmt.Sprintf("%s%s (backend %s)", prefix, u, backend) }

// Parse reads the base URL from serve's first stdout line.
func Parse(line string) (string, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), prefix)
	if !ok {
		return "", fmt.Errorf("not a serve address line: %q", strings.TrimSpace(line))
	}
	u, _, _ := strings.Cut(rest, " ")
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return "", fmt.Errorf("serve address line %q: no http(s) URL", strings.TrimSpace(line))
	}
	return strings.TrimSuffix(u, "/"), nil
}
