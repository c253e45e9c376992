package cmd

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/chatbench/chatbench/loadgen/results"
)

// clusterOptions are swarm's flags for running as one of many processes on
// several machines, such as the pods of a Kubernetes Indexed Job
// (deploy/k8s, docs/kubernetes.md): a shared start, the shard index from
// the Job, the results as a log line, and JUnit XML for CI.
type clusterOptions struct {
	startAt string
	junit   string
	// lookupEnv and now are the environment and the clock (nil: the
	// process's); tests set them.
	lookupEnv func(string) (string, bool)
	now       func() time.Time
}

// jobIndexVar is the Kubernetes Indexed Job's pod index. In a container's
// args Kubernetes expands $(JOB_COMPLETION_INDEX); swarm expands it too,
// so the Job's args run as they are outside Kubernetes, and says so when
// it is not set.
const jobIndexVar = "JOB_COMPLETION_INDEX"

func (k *clusterOptions) bind(f *pflag.FlagSet) {
	f.StringVar(&k.startAt, "start-at", "", "start the send phase (warmup, steady, grace) at this wall-clock time, RFC 3339 (e.g. 2030-01-02T15:04:05Z), once ramped: the shards of one load (--shard) send together; the results record when each began (docs/kubernetes.md)")
	f.StringVar(&k.junit, "junit", "", "write the SLO clauses and the outcome as JUnit XML test cases to this file, for CI")
}

// validate expands $(JOB_COMPLETION_INDEX) in --shard, parses --start-at
// into cfg and checks that --junit can be written. It runs before --shard
// is parsed.
func (k *clusterOptions) validate(o *swarmOptions) error {
	shard, err := k.expandShard(o.part.shardFlag)
	if err != nil {
		return err
	}
	o.part.shardFlag = shard
	if o.cfg.StartAt, err = k.parseStartAt(); err != nil {
		return err
	}
	return checkJUnitPath(k.junit)
}

// expandShard replaces $(JOB_COMPLETION_INDEX) in a --shard value by the
// variable's value, which must be an index below K.
func (k *clusterOptions) expandShard(flag string) (string, error) {
	ref := "$(" + jobIndexVar + ")"
	if !strings.Contains(flag, ref) {
		return flag, nil
	}
	lookup := k.lookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, ok := lookup(jobIndexVar)
	if !ok || v == "" {
		return "", usageErr("--shard %q: %s is not set: run swarm as a pod of an Indexed Job (completionMode: Indexed sets it), or set it to this shard's index", flag, jobIndexVar)
	}
	out := strings.ReplaceAll(flag, ref, v)
	a, b, _ := strings.Cut(out, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	switch {
	case err1 != nil || i < 0:
		return "", usageErr("--shard %q: %s=%q is not a shard index (0, 1, ...)", flag, jobIndexVar, v)
	case err2 == nil && n > 0 && i >= n:
		return "", usageErr("--shard %q: %s=%s is out of range for %d shards: the Job's completions must equal K", flag, jobIndexVar, v, n)
	}
	return out, nil
}

// parseStartAt parses --start-at, which must be in the future.
func (k *clusterOptions) parseStartAt() (time.Time, error) {
	if k.startAt == "" {
		return time.Time{}, nil
	}
	if strings.Contains(k.startAt, "$(") {
		return time.Time{}, usageErr("--start-at %q: a variable that was not expanded (Kubernetes leaves $(VAR) as is when the container has no such env var: check the Job's env)", k.startAt)
	}
	at, err := time.Parse(time.RFC3339Nano, k.startAt)
	if err != nil {
		return time.Time{}, usageErr("--start-at %q: want an RFC 3339 time such as 2030-01-02T15:04:05Z (date -u -d '+3 min' +%%Y-%%m-%%dT%%H:%%M:%%SZ)", k.startAt)
	}
	now := time.Now()
	if k.now != nil {
		now = k.now()
	}
	if !at.After(now) {
		return time.Time{}, usageErr("--start-at %s is %s in the past: give a time after every shard will have started and ramped", k.startAt, now.Sub(at).Round(time.Second))
	}
	return at, nil
}

// checkJUnitPath checks before a run that --junit can be written.
func checkJUnitPath(path string) error {
	if path == "" {
		return nil
	}
	if err := results.CheckWritable(path); err != nil {
		return usageErr("--junit: %v", err)
	}
	return nil
}

// write prints the results line (--out -) after the summary and writes
// --junit.
func (k *clusterOptions) write(stdout io.Writer, out string, res *results.Result) error {
	if out == "-" {
		if err := res.WriteLine(stdout); err != nil {
			return fmt.Errorf("--out -: %w", err)
		}
	}
	return writeJUnit(k.junit, results.JUnitForRun("chatbench swarm", res))
}

func writeJUnit(path string, suites ...results.JUnitSuite) error {
	if path == "" {
		return nil
	}
	if err := results.WriteJUnitFile(path, suites...); err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	return nil
}

// bindJUnit adds --junit to sweep and report merge.
func bindJUnit(f *pflag.FlagSet, path *string) {
	f.StringVar(path, "junit", "", "write the SLO clauses as JUnit XML test cases to this file, for CI")
}

// writeSweepJUnit writes sweep --junit: a suite per knee search.
func writeSweepJUnit(path string, res *results.Sweep) error {
	if res == nil {
		return nil
	}
	return writeJUnit(path, results.JUnitForSweep(res)...)
}
