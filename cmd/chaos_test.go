package cmd

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/chatbench/chatbench/loadgen/results"
)

// Bad input to chaos: one line, exit 2, and nothing started or left: no
// process carries the run's temporary directory (in its command line or,
// for serve nodes, its environment) and the directory stays empty.
func TestChaosBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		path string // PATH for the run ("": the test's)
		want string
	}{
		{"broker fault on memory", []string{"--backend", "memory", "--fault", "broker-restart"}, "", "memory backend has no broker"},
		{"conn-drop on memory", []string{"--backend", "memory", "--fault", "conn-drop"}, "", "memory backend has no broker"},
		{"pause longer than the run", []string{"--backend", "redis", "--fault", "broker-pause", "--duration", "5s", "--at", "3s", "--pause", "3s"}, "", "must clear within the steady phase"},
		{"fault after the run", []string{"--backend", "redis", "--fault", "conn-drop", "--duration", "5s", "--at", "6s"}, "", "--at 6s"},
		{"guarantee on redis", []string{"--backend", "redis", "--fault", "conn-drop", "--amqp-guarantee"}, "", "--amqp-guarantee is a rabbitmq mode"},
		{"unknown fault", []string{"--backend", "redis", "--fault", "disk-full"}, "", `--fault "disk-full"`},
		{"no fault", []string{"--backend", "redis"}, "", "no --fault"},
		{"negative recovery wait", []string{"--backend", "redis", "--fault", "conn-drop", "--recovery-max", "-1s"}, "", "--recovery-max -1s"},
		{"bad rate", []string{"--backend", "redis", "--fault", "conn-drop", "--rate", "fast"}, "", `--rate "fast": want a rate`},
		{"node-kill on one node", []string{"--backend", "memory", "--fault", "node-kill", "--nodes", "1"}, "", "needs --nodes 2"},
		{"redis-server missing", []string{"--backend", "redis", "--fault", "broker-restart"}, "/nonexistent", "redis-server not found on PATH"},
		{"rabbitmq-server missing", []string{"--backend", "rabbitmq", "--fault", "broker-pause"}, "/nonexistent", "rabbitmq-server not found on PATH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			cmd := chatbench(append([]string{"chaos"}, tc.args...)...)
			cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
			if tc.path != "" {
				cmd.Env = append(cmd.Env, "PATH="+tc.path)
			}
			var out, errb strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			code := cmd.ProcessState.ExitCode()
			lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
			if code != ExitUsage || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Fatalf("exit %d (%v), stderr %q: want exit 2 and one line with %q", code, err, errb.String(), tc.want)
			}
			if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
				t.Fatalf("left %d entries in its temporary directory", len(ents))
			}
			if pids := processesWith(tmp); len(pids) > 0 {
				t.Fatalf("processes %v still carry the run's temporary directory", pids)
			}
		})
	}
}

// processesWith lists the processes whose command line or environment
// holds s.
func processesWith(s string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		for _, f := range []string{"cmdline", "environ"} {
			b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), f))
			if strings.Contains(string(b), s) {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// A whole chaos run through the command: exit 0, the table on stdout, the
// results file (kind chaos) and the HTML report with the fault marked, and
// nothing left behind (processes, temporary files).
func TestChaosRunLeavesNothing(t *testing.T) {
	tmp, outDir := t.TempDir(), t.TempDir()
	out, html := filepath.Join(outDir, "chaos.json"), filepath.Join(outDir, "chaos.html")
	cmd := chatbench("chaos", "--backend", "memory", "--fault", "node-kill", "-n", "10", "--duration", "3s", "--at", "1s",
		"--warmup", "500ms", "--out", out, "--html", html)
	cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chaos: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "node-kill") || !strings.Contains(stdout.String(), "ready again") {
		t.Fatalf("no table on stdout:\n%s", stdout.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	f, err := results.Decode(out, b)
	if err != nil || f.Chaos == nil || len(f.Chaos.Faults) != 1 || f.Chaos.Faults[0].Reconnects != 5 {
		t.Fatalf("results file: %v, %+v: want kind chaos with one node-kill and its 5 clients reconnected", err, f)
	}
	h, err := os.ReadFile(html)
	if err != nil || !strings.Contains(string(h), "injected at") || !strings.Contains(string(h), "> node-kill<") && !strings.Contains(string(h), " node-kill</text>") {
		t.Errorf("HTML report lacks the fault's facts or its mark (err %v)", err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
		t.Fatalf("left %d entries in its temporary directory", len(ents))
	}
	if pids := processesWith(tmp); len(pids) > 0 {
		t.Fatalf("processes %v still carry the run's temporary directory", pids)
	}
}

// chaos's own flags win over a --workload file: --rate replaces the
// file's rate (a repeatable flag, so it once made two and was refused),
// and what the command line leaves alone comes from the file.
func TestChaosFlagsWinOverWorkload(t *testing.T) {
	wl := filepath.Join(t.TempDir(), "w.yaml")
	if err := os.WriteFile(wl, []byte("users: 7\nrate: 20/s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := &chaosOptions{}
	fs := pflag.NewFlagSet("chaos", pflag.ContinueOnError)
	o.bind(fs)
	if err := fs.Parse([]string{"--workload", wl, "--rate", "5/s", "--backend", "memory"}); err != nil {
		t.Fatal(err)
	}
	lc, err := o.load(fs)
	if err != nil {
		t.Fatalf("--workload with --rate: %v", err)
	}
	if lc.Rate != 5 || lc.Clients != 7 {
		t.Fatalf("rate %v/s, clients %d; want 5/s (--rate) and 7 (the file's users)", lc.Rate, lc.Clients)
	}
}
