package loadgen

import (
	"fmt"
	"strings"
)

// MergeFiles reads swarm results files and merges them exactly (Merge):
// the results of several machines (--shard i/K) or of separate runs that
// ran together. A file that cannot be read, a sweep, or the same run given
// twice is an error naming the file.
func MergeFiles(paths ...string) (*Result, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no results files to merge")
	}
	seen := map[string]string{}
	var rs []*Result
	for _, p := range paths {
		r, err := ReadResult(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				err = fmt.Errorf("%s: %w", p, err)
			}
			return nil, err
		}
		if r.Kind != "swarm" {
			return nil, fmt.Errorf("%s: a %q result; only swarm results merge", p, r.Kind)
		}
		ids := append([]string{r.Config.RunID}, r.Config.RunIDs...)
		for _, id := range ids {
			if id == "" {
				continue
			}
			if q, dup := seen[id]; dup {
				return nil, fmt.Errorf("%s and %s both hold run %s: each run may be merged once", q, p, id)
			}
			seen[id] = p
		}
		rs = append(rs, r)
	}
	return Merge(rs...)
}
