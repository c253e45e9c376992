package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Results as log lines: a swarm pod of a Kubernetes Job (swarm --out -)
// prints its results as one line of JSON after its summary, so the K
// shards' results are collected from their logs (kubectl logs, or any log
// pipeline) with no shared volume, and 'report merge -' picks them out of
// the stream, whatever else was logged around them.

// linePrefix starts every results line (and no other line swarm prints).
const linePrefix = `{"schema":"` + Schema + `"`

// WriteLine writes r as one line of JSON.
func (r *Result) WriteLine(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(b, []byte(linePrefix)) || bytes.IndexByte(b, '\n') >= 0 {
		return errors.New("results line: not one line starting with the schema") // the field order of Result changed
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadLines returns the swarm results in the lines of rd that start like
// a results line (WriteLine); every other line is skipped. A results line
// that does not decode (cut short) is an error naming its line: merging
// the rest would give wrong totals. name names rd in errors.
func ReadLines(name string, rd io.Reader) ([]*Result, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<28)
	var out []*Result
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimRight(sc.Bytes(), "\r")
		if !bytes.HasPrefix(line, []byte(`{"schema":"chatbench.results/`)) {
			continue
		}
		f, err := Decode(name+" line "+strconv.Itoa(n), line)
		if err != nil {
			return nil, err
		}
		if f.Run == nil {
			return nil, fmt.Errorf("%s line %d: a %s result, not a swarm run", name, n, f.Kind)
		}
		out = append(out, f.Run)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no results line (swarm --out - prints one after its summary; with kubectl logs, give --tail=-1)", name)
	}
	return out, nil
}

// MergeFrom merges (Merge) the swarm results of the files in args and, for
// an argument "-", the results lines read from stdin (ReadLines). The same
// run given twice, or shards of one load (i/K) with one missing, is an
// error naming the inputs.
func MergeFrom(stdin io.Reader, args ...string) (*Result, error) {
	if len(args) == 0 {
		return nil, errors.New("no results files to merge")
	}
	seen := map[string]string{}
	var rs []*Result
	var names []string
	readStdin := false
	for _, p := range args {
		var got []*Result
		var err error
		switch {
		case p == "-" && readStdin:
			return nil, errors.New("- (stdin) given twice")
		case p == "-" && stdin != nil:
			readStdin = true
			got, err = ReadLines("stdin", stdin)
		default:
			var r *Result
			if r, err = ReadRun(p); err == nil {
				got = []*Result{r}
			} else if !strings.Contains(err.Error(), p) {
				err = fmt.Errorf("%s: %w", p, err)
			}
		}
		if err != nil {
			return nil, err
		}
		for _, r := range got {
			name := p
			if p == "-" {
				name = "stdin"
			}
			for _, id := range append([]string{r.Config.RunID}, r.Config.RunIDs...) {
				if id == "" {
					continue
				}
				if q, dup := seen[id]; dup {
					return nil, fmt.Errorf("%s and %s both hold run %s: each run may be merged once", q, name, id)
				}
				seen[id] = name
			}
			rs = append(rs, r)
			names = append(names, name)
		}
	}
	if err := checkShards(rs, names); err != nil {
		return nil, err
	}
	return Merge(rs...)
}

// checkShards refuses the shards of one load (every input "i/K", one K)
// when one is missing: their merge would not be the load's totals.
func checkShards(rs []*Result, names []string) error {
	k := -1
	have := map[int]bool{}
	for _, r := range rs {
		a, b, ok := strings.Cut(r.Config.Shard, "/")
		i, err1 := strconv.Atoi(a)
		kk, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || (k >= 0 && kk != k) {
			return nil // not all shards of one load: nothing to check
		}
		k = kk
		have[i] = true
	}
	var missing []string
	for i := 0; i < k; i++ {
		if !have[i] {
			missing = append(missing, fmt.Sprintf("%d/%d", i, k))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s hold %d of the %d shards of one load; missing: %s (a pod that left no results line? see its logs)",
			strings.Join(uniq(names), ", "), len(have), k, strings.Join(missing, ", "))
	}
	return nil
}

func uniq(ss []string) []string {
	var out []string
	for _, s := range ss {
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}
