package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatbench/chatbench/loadgen/results"
)

// A workload file runs through swarm: every field reaches the run, and a
// flag given on the command line wins over the file.
func TestSwarmWorkloadFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	wl := filepath.Join(dir, "w.yaml")
	if err := os.WriteFile(wl, []byte(`name: test
users: 120
rooms: {sizes: "2:50%,20:50%"}
talkers: 20%
rate: 5/s
arrivals: poisson
size: "100B:80%,400B:20%"
phases:
  - {name: hold, duration: 1500ms, rate: 5/s}
  - {name: spike, duration: 1s, rate: 15/s}
churn: 2%
rejoin_after: 300ms
storms: [{at: 1s, share: 20%}]
warmup: 500ms
grace: 1s
seed: 4
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "r.json")
	code, stdout, stderr := runChatbench(t, "swarm", "--workload", wl, "--senders", "30", "--out", out, "--max-loss", "2%")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	r, err := results.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	c, s := r.Config, r.Summary
	if c.Clients != 120 || c.Rooms != 33 || c.RoomSizes != "weighted 2:50%,20:50%" || c.Senders != 30 || c.Arrivals != "poisson" ||
		len(c.Phases) != 2 || c.Sizes == "" || c.Seed != 4 || c.DurationS != 2.5 {
		t.Errorf("config %+v: want the file's shape with 30 senders from the command line", c)
	}
	if s.Left == 0 || s.Rejoined == 0 || s.Disconnected != 0 || s.Duplicated != 0 || s.Misrouted != 0 {
		t.Errorf("summary %+v: want churn (left and back), nothing lost as a socket, no stray copies", s)
	}
	if !strings.Contains(stderr, "120 clients in 33 rooms of 2 to 20") {
		t.Errorf("stderr does not describe the load:\n%s", stderr)
	}
}

func TestSwarmBadWorkloadIsExit2(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ yaml, want string }{
		{"users: 10\nroom: {size: 5}\n", `unknown field "room"`},
		{"users: 10\nrooms: {size: 50}\n", `rooms.size: 50 is larger than users (10)`},
		{"users: 10\nrate: -1/s\n", `rate: --rate "-1/s": want a rate`},
		{"users: 10\nphases: [{name: a, duration: x, rate: 1/s}]\n", `phases[0]: --phase "a:x:1/s": duration "x"`},
		{"users: 10\nprotocol: {name: nope}\n", `unknown protocol "nope"`},
	} {
		p := filepath.Join(dir, "w.yaml")
		if err := os.WriteFile(p, []byte(tc.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runCLI("swarm", "--workload", p, "--url", "ws://127.0.0.1:1/ws")
		if code != ExitUsage || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line containing %q", tc.yaml, code, errOut, tc.want)
		}
	}
	if code, _, errOut := runCLI("swarm", "--workload", filepath.Join(dir, "none.yaml")); code != ExitUsage || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: exit %d %q", code, errOut)
	}
}
