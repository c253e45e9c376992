package workload_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatbench/chatbench/loadgen/workload"
)

// The shipped examples decode, and give the flags their fields name.
func TestExamplesDecode(t *testing.T) {
	files, _ := filepath.Glob("../../examples/workloads/*.yaml")
	if len(files) < 2 {
		t.Fatalf("examples: %v, want at least blog.yaml and chat-mixed.yaml", files)
	}
	for _, p := range files {
		f, err := workload.Read(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if f.Name == "" || len(f.Settings()) < 5 {
			t.Errorf("%s: name %q, %d settings", p, f.Name, len(f.Settings()))
		}
	}
	f, err := workload.Read("../../examples/workloads/chat-mixed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var phases, storms int
	for _, s := range f.Settings() {
		got[s.Flag] = s.Value
		switch s.Flag {
		case "phase":
			phases++
		case "storm":
			storms++
		}
	}
	if got["clients"] != "5000" || got["room-sizes"] != "zipf:2:500" || got["senders"] != "10%" || got["arrivals"] != "poisson" ||
		phases != 3 || storms != 1 || got["storm"] != "12s:10%" || got["protocol"] != "raw" {
		t.Errorf("settings %v, %d phases, %d storms", got, phases, storms)
	}
}

// Bad files: one line naming the field.
func TestBadFiles(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"users: 10\nroom: {size: 5}\n", `line 2: unknown field "room"`},
		{"users: 10\nrooms: {size: 50}\n", "rooms.size: 50 is larger than users (10)"},
		{"users: 10\nrooms: {size: 5, count: 2}\n", "rooms: give one of size, count or sizes"},
		{"users: 0\n", "users: 0, want at least 1"},
		{"rooms: {count: 0}\n", "rooms: size and count must be at least 1"},
		{"ramp: -5\n", "ramp: -5, want connections per second above 0"},
		{"duration: 10s\nphases: [{name: a, duration: 1s, rate: 1/s}]\n", "duration and phases: give one"},
		{"protocol: {name: stomp, hello: x}\n", "protocol: hello and message are for the raw protocol"},
		{"users: [1, 2]\n", "cannot unmarshal"},
	} {
		_, err := workload.Decode([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want one line containing %q", tc.yaml, err, tc.want)
		}
	}
}

func TestReadMissingFile(t *testing.T) {
	if _, err := workload.Read(filepath.Join(t.TempDir(), "none.yaml")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}
