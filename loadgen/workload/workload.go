// Package workload reads a workload file: what a user's traffic looks
// like (rooms, who talks and how often, message sizes, churn, phases, the
// protocol), for swarm and sweep alike. Every field is also a flag of
// theirs; a file is read into the same flags (Settings), so one parser
// checks both, and a flag given on the command line wins over the file.
package workload

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// File is a workload file. Durations are Go durations (20s, 1m30s),
// rates 10/s or 600/min, sizes 100B or 1KB, shares 10% or 0.1.
type File struct {
	Name        string    `yaml:"name"`
	Description string    `yaml:"description"`
	Users       *int      `yaml:"users"`
	Rooms       *Rooms    `yaml:"rooms"`
	Talkers     string    `yaml:"talkers"`
	Rate        string    `yaml:"rate"`
	Arrivals    string    `yaml:"arrivals"`
	Size        string    `yaml:"size"`
	Phases      []Phase   `yaml:"phases"`
	Churn       string    `yaml:"churn"`
	RejoinAfter string    `yaml:"rejoin_after"`
	Storms      []Storm   `yaml:"storms"`
	Ramp        *float64  `yaml:"ramp"`
	Warmup      string    `yaml:"warmup"`
	Duration    string    `yaml:"duration"`
	Grace       string    `yaml:"grace"`
	Seed        *int64    `yaml:"seed"`
	Protocol    *Protocol `yaml:"protocol"`
}

// Rooms says how big the rooms are: one of size, count or sizes.
type Rooms struct {
	Size  *int   `yaml:"size"`
	Count *int   `yaml:"count"`
	Sizes string `yaml:"sizes"` // "zipf:1.1:500" or "2:50%,10:30%,100:20%"
}

// Phase is one stretch of the steady phase.
type Phase struct {
	Name     string `yaml:"name"`
	Duration string `yaml:"duration"`
	Rate     string `yaml:"rate"`
}

// Storm is a reconnect storm.
type Storm struct {
	At    string `yaml:"at"`
	Share string `yaml:"share"`
}

// Protocol is how the clients talk to the server.
type Protocol struct {
	Name    string            `yaml:"name"`
	Hello   *string           `yaml:"hello"`
	Message string            `yaml:"message"`
	Options map[string]string `yaml:"options"`
	Headers map[string]string `yaml:"headers"`
	Token   string            `yaml:"token"`
}

// Setting is one flag value a workload file gives: Field names it in the
// file, for errors.
type Setting struct {
	Field string
	Flag  string
	Value string
}

// Read reads and checks a workload file strictly: an unknown key is an
// error naming it.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(b)
}

// Decode decodes a workload file's bytes strictly.
func Decode(b []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, oneLine(err)
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	return &f, nil
}

// check refuses values that can never make a run.
func (f *File) check() error {
	if f.Users != nil && *f.Users < 1 {
		return fmt.Errorf("users: %d, want at least 1", *f.Users)
	}
	if r := f.Rooms; r != nil {
		n := 0
		for _, set := range []bool{r.Size != nil, r.Count != nil, r.Sizes != ""} {
			if set {
				n++
			}
		}
		switch {
		case n != 1:
			return errors.New("rooms: give one of size, count or sizes")
		case r.Size != nil && *r.Size < 1, r.Count != nil && *r.Count < 1:
			return errors.New("rooms: size and count must be at least 1")
		case r.Size != nil && f.Users != nil && *r.Size > *f.Users:
			return fmt.Errorf("rooms.size: %d is larger than users (%d)", *r.Size, *f.Users)
		case r.Count != nil && f.Users != nil && *r.Count > *f.Users:
			return fmt.Errorf("rooms.count: %d rooms for %d users", *r.Count, *f.Users)
		}
	}
	if len(f.Phases) > 0 && f.Duration != "" {
		return errors.New("duration and phases: give one (the phases' durations add up to the steady phase)")
	}
	if f.Ramp != nil && !(*f.Ramp > 0) {
		return fmt.Errorf("ramp: %g, want connections per second above 0", *f.Ramp)
	}
	if p := f.Protocol; p != nil && p.Name != "" && p.Name != "raw" && (p.Hello != nil || p.Message != "") {
		return fmt.Errorf("protocol: hello and message are for the raw protocol; %s takes options", p.Name)
	}
	return nil
}

// Settings are the flag values the file gives, in a fixed order.
func (f *File) Settings() []Setting {
	var out []Setting
	add := func(field, flag, v string) {
		if v != "" {
			out = append(out, Setting{field, flag, v})
		}
	}
	if f.Users != nil {
		add("users", "clients", strconv.Itoa(*f.Users))
	}
	if r := f.Rooms; r != nil {
		if r.Size != nil {
			add("rooms.size", "room-size", strconv.Itoa(*r.Size))
		}
		if r.Count != nil {
			add("rooms.count", "rooms", strconv.Itoa(*r.Count))
		}
		add("rooms.sizes", "room-sizes", r.Sizes)
	}
	add("talkers", "senders", f.Talkers)
	add("rate", "rate", f.Rate)
	add("arrivals", "arrivals", f.Arrivals)
	add("size", "size", f.Size)
	for i, p := range f.Phases {
		add(fmt.Sprintf("phases[%d]", i), "phase", p.Name+":"+p.Duration+":"+p.Rate)
	}
	add("churn", "churn", f.Churn)
	add("rejoin_after", "rejoin-after", f.RejoinAfter)
	for i, s := range f.Storms {
		add(fmt.Sprintf("storms[%d]", i), "storm", s.At+":"+s.Share)
	}
	if f.Ramp != nil {
		add("ramp", "ramp", strconv.FormatFloat(*f.Ramp, 'g', -1, 64))
	}
	add("warmup", "warmup", f.Warmup)
	add("duration", "duration", f.Duration)
	add("grace", "grace", f.Grace)
	if f.Seed != nil {
		add("seed", "seed", strconv.FormatInt(*f.Seed, 10))
	}
	if p := f.Protocol; p != nil {
		out = append(out, p.settings()...)
	}
	return out
}

func (p *Protocol) settings() []Setting {
	var out []Setting
	if p.Name != "" {
		out = append(out, Setting{"protocol.name", "protocol", p.Name})
	}
	if p.Hello != nil {
		out = append(out, Setting{"protocol.hello", "hello", *p.Hello})
	}
	if p.Message != "" {
		out = append(out, Setting{"protocol.message", "message", p.Message})
	}
	for _, k := range sortedKeys(p.Options) {
		out = append(out, Setting{"protocol.options." + k, "protocol-opt", k + "=" + p.Options[k]})
	}
	for _, k := range sortedKeys(p.Headers) {
		out = append(out, Setting{"protocol.headers." + k, "header", k + ": " + p.Headers[k]})
	}
	if p.Token != "" {
		out = append(out, Setting{"protocol.token", "header", "Authorization: Bearer " + p.Token})
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// notFound is how the YAML decoder names an unknown key.
var notFound = regexp.MustCompile(`field (\S+) not found in type \S+`)

// oneLine turns a decoder error into one line naming the fields.
func oneLine(err error) error {
	var te *yaml.TypeError
	msgs := []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for i, m := range msgs {
		msgs[i] = notFound.ReplaceAllString(strings.TrimSpace(m), `unknown field "$1"`)
	}
	return errors.New(strings.Join(msgs, "; "))
}
