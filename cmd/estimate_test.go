package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatbench/chatbench/estimate"
)

// runCLI is in main_test.go (shared by the command tests).

func TestEstimateBlogExample(t *testing.T) {
	code, out, errOut := runCLI("estimate", "--ram", "8GB", "--cores", "4", "--users", "1000", "--rate", "10/s", "--size", "100B")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"8 GB / 10 KB = 8,000,000 KB / 10 KB = 800,000",
		"1,000 users × 10 msg/s = 10,000 messages/s",
		"1,000 × 10 × 100 B = 1 MB/s",
		"10,000/s × 1,000 receivers = 10,000,000/s",
		"10,000,000/s × 150 B = 1.5 GB/s (12 Gbit/s)",
		"√(4 cores × 10⁶ / 3 µs / 10/s) = 365 members",
		"3 µs CPU per delivery (default)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestEstimateBadUnits(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--ram", "8XB"}, `chatbench: --ram "8XB": want a size like 8GB, 8GiB or 512MB`},
		{[]string{"--rate", "10/fortnight"}, `chatbench: --rate "10/fortnight": want a rate like 10/s, 600/min, 1/h or 0.5/s`},
		{[]string{"--size", "big"}, `chatbench: --size "big": want a size like 8GB, 8GiB or 512MB`},
		{[]string{"--nic", "1G"}, `chatbench: --nic "1G": want a bit rate like 1Gbps, 100Mbit/s or 10Gb/s`},
		{[]string{"--users", "lots"}, `chatbench: --users "lots": want a whole number like 1000 or 1,000,000`},
		{[]string{"--ram", "0GB"}, `chatbench: --ram must be more than 0`},
		{[]string{"--cores", "four"}, `chatbench: --cores "four": want a number of cores like 4 or 0.5`},
		{[]string{"--cores", "0"}, `chatbench: --cores must be more than 0`},
		{[]string{"--room-size", "ten"}, `chatbench: --room-size "ten": want a whole number like 1000 or 1,000,000`},
		{[]string{"--senders", "-3"}, `chatbench: --senders "-3": want a whole number like 1000 or 1,000,000`},
		{[]string{"--target-users", "1.5"}, `chatbench: --target-users "1.5": want a whole number like 1000 or 1,000,000`},
		{[]string{"--from", "no-such-file.json"}, `chatbench: --from: results: open no-such-file.json: no such file or directory`},
	}
	for _, c := range cases {
		code, out, errOut := runCLI(append([]string{"estimate"}, c.args...)...)
		if code != ExitUsage || strings.TrimRight(errOut, "\n") != c.want || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %d bytes; want exit 2 and %q", c.args, code, errOut, len(out), c.want)
		}
		if strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: stderr is not one line: %q", c.args, errOut)
		}
	}
}

// Every unit flag reaches the question as typed: counts with separators
// and suffixes, a fractional core, a bit rate given in bytes, and a binary
// RAM size the blog's line repeats as written.
func TestEstimateTypedFlags(t *testing.T) {
	args := []string{"estimate", "--ram", "8GiB", "--cores", "0.5", "--users", "10k", "--room-size", "50",
		"--senders", "1,000", "--nic", "100MB/s", "--target-users", "1e6"}
	code, out, errOut := runCLI(append(args, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct{ Inputs estimate.Inputs }
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	want := estimate.Inputs{RAMBytes: 8 << 30, Cores: 0.5, Users: 10000, RatePerS: 10, SizeBytes: 100,
		RoomSize: 50, Senders: 1000, NICBitsPerS: 800e6, TargetUsers: 1000000}
	if rep.Inputs != want {
		t.Errorf("inputs %+v, want %+v", rep.Inputs, want)
	}
	code, out, errOut = runCLI(args...)
	if code != 0 || !strings.Contains(out, "8GiB (8.59 GB) / 10 KB") {
		t.Errorf("exit %d %s: the blog's RAM line does not repeat 8GiB as typed:\n%s", code, errOut, out)
	}
}

func TestEstimateJSONFromResults(t *testing.T) {
	code, out, errOut := runCLI("estimate", "--json", "--from", "../estimate/testdata/swarm-memory-1000.json",
		"--target-users", "1,000,000", "--room-size", "50")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		Schema string
		Claims []struct {
			ID          string
			Server      string
			Value       *float64
			ValueSource string `json:"value_source"`
			Verdict     string
		}
		Inputs struct {
			Users    int64
			RoomSize int64 `json:"room_size"`
		}
		Scenario []struct{ Flag, Text, Source, From, Overrides string }
		Plan     *struct{ Rows []struct{ Backend string } }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if rep.Schema != "chatbench.estimate/v2" || len(rep.Claims) != 11 || rep.Plan == nil || len(rep.Plan.Rows) != 3 {
		t.Fatalf("report %+v", rep)
	}
	if c := rep.Claims[0]; c.ID != "1" || c.Value == nil || *c.Value != 25.6 || c.ValueSource != "measured" || c.Server != "chatbench serve memory" {
		t.Errorf("claim 1 %+v", c)
	}
	// The scenario is the file's (1,000 users, one room) except the room
	// size given on the command line, which says what it overrides.
	if rep.Inputs.Users != 1000 || rep.Inputs.RoomSize != 50 {
		t.Errorf("inputs %+v", rep.Inputs)
	}
	for _, f := range rep.Scenario {
		switch f.Flag {
		case "users", "rate", "size", "senders":
			if f.Source != "measured" || f.From != "swarm-memory-1000.json" {
				t.Errorf("scenario %+v, want measured in the file", f)
			}
		case "room-size":
			if f.Source != "given" || f.Overrides != "one room of everyone measured in swarm-memory-1000.json" {
				t.Errorf("scenario %+v, want given over the file's", f)
			}
		}
	}
}

// estimate --from a sweep of a server at a URL and a chaos experiment: a
// column per server, the external knee judged for claim 5, the chaos
// verdict with its figures; a chaos file without faults is bad input.
func TestEstimateFromSweepAndChaos(t *testing.T) {
	dir := t.TempDir()
	sweep := `{"schema":"chatbench.results/v2","kind":"sweep","config":{"urls":["ws://127.0.0.1:8000/ws"],"backend":"external"},
	 "environment":{"cores":2},"steps":[],"knees":{},"searches":[{"backend":"external","rate_per_s":1,"knee":200,"above":300,"runs":4}]}`
	chaos := `{"schema":"chatbench.results/v2","kind":"chaos","config":{"backend":"rabbitmq","mode":"at-most-once","nodes":2},
	 "faults":[{"fault":"broker-restart","expected":20000,"delivered":19688,"lost":312,"duplicated":0}]}`
	empty := `{"schema":"chatbench.results/v2","kind":"chaos","config":{"backend":"redis"},"faults":[]}`
	for name, body := range map[string]string{"sweep.json": sweep, "chaos.json": chaos, "empty.json": empty} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runCLI("estimate", "--from", filepath.Join(dir, "sweep.json"), "--from", filepath.Join(dir, "chaos.json"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"server at ws://127.0.0.1:8000/ws", "chatbench serve rabbitmq (2 nodes)",
		// 200 against claim 5 scaled to 2 cores at 1/s: 2,236–4,472.
		"off by 11× (measured lower): knee 200 users (measured)",
		"refuted (lost 312 of 20,000, 0 duplicated; at-most-once): broker-restart (at-most-once) broker-restart: lost 312, duplicated 0 of 20,000 expected (measured)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = runCLI("estimate", "--from", filepath.Join(dir, "empty.json"))
	if code != ExitUsage || out != "" || !strings.HasSuffix(strings.TrimSpace(errOut), "empty.json: nothing to judge in it (no swarm run, sweep step or chaos fault)") {
		t.Errorf("empty chaos file: exit %d, stderr %q", code, errOut)
	}
}
