// Package opts reads a protocol adapter's --protocol-opt options and its
// templates, the same way for every adapter: unknown options are refused
// with the list of known ones, templates may use only the placeholders
// their option allows and may not be empty, and every error is one line
// naming the protocol and the option.
package opts

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chatbench/chatbench/loadgen"
)

// Options is one protocol's options as given, read one by one.
type Options struct {
	proto string
	given map[string]string
}

// Parse checks that every given option is one of known (the protocol's
// options) and returns them for reading.
func Parse(proto string, given map[string]string, known ...string) (*Options, error) {
	var unknown []string
	for k := range given {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("--protocol %s: unknown option %q (known: %s)", proto, unknown[0], strings.Join(known, ", "))
	}
	return &Options{proto: proto, given: given}, nil
}

// String is option name, or def when it was not given.
func (o *Options) String(name, def string) string {
	if v, ok := o.given[name]; ok {
		return v
	}
	return def
}

// Errorf is a one-line error about option name.
func (o *Options) Errorf(name, format string, a ...any) error {
	return fmt.Errorf("--protocol %s: --protocol-opt %s=%q: %s", o.proto, name, o.given[name], fmt.Sprintf(format, a...))
}

// Duration is option name as a duration of at least lo (def when not given).
func (o *Options) Duration(name string, def, lo time.Duration) (time.Duration, error) {
	v, ok := o.given[name]
	if !ok {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo {
		return 0, o.Errorf(name, "want a duration of at least %v, e.g. 1s", lo)
	}
	return d, nil
}

// Int is option name as a whole number in [lo, hi] (def when not given).
func (o *Options) Int(name string, def, lo, hi int) (int, error) {
	v, ok := o.given[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, o.Errorf(name, "want a number from %d to %d", lo, hi)
	}
	return n, nil
}

// Placeholders a template may use: the client's room, user name and number
// (as Setup gives them), and the probe where a message's text goes.
const (
	Room   = "{{room}}"
	User   = "{{user}}"
	Client = "{{client}}"
	Probe  = "{{probe}}"
)

// Template is a checked template.
type Template string

// Template is option name (def when not given) as a template that is not
// empty and uses only the placeholders allowed; with Probe among them it
// must hold exactly one {{probe}}.
func (o *Options) Template(name, def string, allowed ...string) (Template, error) {
	t := o.String(name, def)
	if strings.TrimSpace(t) == "" {
		return "", o.Errorf(name, "empty: the template must leave a value (e.g. %q)", def)
	}
	rest := t
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return "", o.Errorf(name, "%q is not closed with }}", rest[i:])
		}
		if p := rest[i : i+j+2]; !slices.Contains(allowed, p) {
			return "", o.Errorf(name, "unknown placeholder %s (allowed here: %s)", p, strings.Join(allowed, " "))
		}
		rest = rest[i+j+2:]
	}
	if slices.Contains(allowed, Probe) && strings.Count(t, Probe) != 1 {
		return "", o.Errorf(name, "must contain {{probe}} once")
	}
	return Template(t), nil
}

// Expand fills the placeholders for one client's session (Probe stays).
func (t Template) Expand(s loadgen.Setup) string {
	if !strings.Contains(string(t), "{{") {
		return string(t)
	}
	return strings.NewReplacer(Room, s.RoomID, User, s.User, Client, strconv.Itoa(s.Client)).Replace(string(t))
}

// Split expands t for s and cuts it at {{probe}}: what goes before the
// probe and after it.
func (t Template) Split(s loadgen.Setup) (before, after []byte) {
	b, a, _ := strings.Cut(t.Expand(s), Probe)
	return []byte(b), []byte(a)
}
