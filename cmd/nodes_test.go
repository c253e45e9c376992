package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen/results"
)

// Three serve processes over one backend, swarm spreading its clients over
// them: rooms span nodes (4 rooms, 3 nodes), and in the steady phase every
// message reaches every member on every node.
func TestSwarmAcrossNodesLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Redis and RabbitMQ (scripts/services.sh start): skipped with -short")
	}
	for _, backend := range []string{"redis", "rabbitmq"} {
		t.Run(backend, func(t *testing.T) {
			unique := fmt.Sprintf("cbnodes-%d-%d", os.Getpid(), time.Now().UnixNano())
			var urls, pids []string
			for range 3 {
				args := []string{"--backend", backend, "--log-level", "warn"}
				if backend == "redis" {
					args = append(args, "--redis-prefix", unique+":")
				} else {
					args = append(args, "--amqp-exchange", unique)
				}
				node, addr, _ := startServe(t, args...)
				urls = append(urls, "ws://"+addr+"/ws?room={{room}}&user={{user}}")
				pids = append(pids, fmt.Sprint(node.Process.Pid))
			}
			out := filepath.Join(t.TempDir(), "nodes.json")
			// Under the race detector (every process here is this test
			// binary) deliveries take seconds on a busy machine: a lower
			// rate, and a grace long enough for the last of them (it ends
			// as soon as every expected delivery arrived).
			rate := "4/s"
			if raceEnabled {
				rate = "2/s"
			}
			args := []string{"swarm", "-n", "300", "--rooms", "4", "--senders", "60", "--rate", rate,
				"--warmup", "1s", "--duration", "3s", "--grace", "8s", "--settle", "0", "--out", out}
			for i, u := range urls {
				args = append(args, "--url", u, "--server-pid", pids[i]) // the three nodes' cost together
			}
			code, stdout, stderr := runChatbench(t, args...)
			if code != 0 {
				t.Fatalf("swarm exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			res, err := results.ReadRun(out)
			if err != nil {
				t.Fatal(err)
			}
			s := res.Summary
			if s.Connected != 300 || s.Expected == 0 || s.Delivered != s.Expected || s.Lost != 0 || s.Duplicated != 0 {
				t.Fatalf("connected %d, expected %d, delivered %d, lost %d, duplicated %d; want all 300 connected and every expected delivery",
					s.Connected, s.Expected, s.Delivered, s.Lost, s.Duplicated)
			}
			// The three nodes' costs are read from /proc at every sample and
			// added up (the CPU figure itself may rest on too few ticks here).
			if sv := res.Server; len(sv.Processes) != 3 || sv.Conns != 300 {
				t.Errorf("server cost %+v: want the three nodes read from /proc", sv)
			}
			for i, p := range res.Server.Processes {
				if p.Name != "pid "+pids[i] || p.Error != "" || p.Before == nil || p.End == nil {
					t.Errorf("node %d: %+v", i, p)
				}
			}
			// 60 senders in rooms of 75: each message goes to 75 members,
			// most of them on other nodes than the sender's.
			if want := s.Sent * 75; s.Expected != want {
				t.Errorf("expected %d deliveries for %d probes, want %d (75 per probe)", s.Expected, s.Sent, want)
			}
		})
	}
}
