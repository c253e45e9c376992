package results

import (
	"fmt"
	"sort"
	"strings"

	"github.com/chatbench/chatbench/loadgen/errkind"
)

// kindsText lists counts by kind, largest first, each with its explanation.
func kindsText(m map[errkind.Kind]int64) string {
	type kv struct {
		k errkind.Kind
		v int64
	}
	var ks []kv
	for k, v := range m {
		ks = append(ks, kv{k, v})
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].v > ks[j].v || ks[i].v == ks[j].v && ks[i].k < ks[j].k })
	var parts []string
	for _, x := range ks {
		s := fmt.Sprintf("%s %d", x.k, x.v)
		if e := errkind.Explain(x.k); e != "" {
			s += ": " + e
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
