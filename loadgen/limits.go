package loadgen

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/chatbench/chatbench/internal/rlimit"
)

// fdMargin is the descriptors kept free beyond one per socket (stdio, the
// scrape client, the child server's pipes, the runtime's epoll and files).
const fdMargin = 64

// LimitError says that a run cannot fit this process's limits, and what to do.
type LimitError struct{ Msg string }

func (e *LimitError) Error() string { return e.Msg }

// checkFit raises the open-files limit and reports, before dialing, whether
// n sockets fit in it and in the ephemeral ports of the source addresses. It
// returns the soft limit in force.
func checkFit(n, sourceIPs, urls int) (soft uint64, warn string, err error) {
	soft, hard, _ := rlimit.Raise()
	if uint64(n+fdMargin) > soft {
		return soft, "", &LimitError{Msg: fmt.Sprintf(
			"%d clients do not fit: this process may open %d files (hard limit %d, cannot be raised here) and needs %d (one per socket + %d); "+
				"run fewer clients (-n %d) or split them over several processes (--procs auto)",
			n, soft, hard, n+fdMargin, fdMargin, int(soft)-fdMargin)}
	}
	ports := ephemeralPorts()
	if sourceIPs < 1 {
		sourceIPs = 1
	}
	if urls < 1 {
		urls = 1
	}
	if n > ports*sourceIPs*urls {
		warn = fmt.Sprintf("warning: %d clients over %d source address(es) and %d URL(s) may exhaust the %d ephemeral ports per source address; add --source-ips 127.0.0.1-127.0.0.%d",
			n, sourceIPs, urls, ports, (n+ports-1)/ports+1)
	}
	return soft, warn, nil
}

// ephemeralPorts is the size of the kernel's ephemeral port range: the
// connections one source address can open to one destination.
func ephemeralPorts() int {
	lo, hi := 32768, 60999
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			lo, _ = strconv.Atoi(f[0])
			hi, _ = strconv.Atoi(f[1])
		}
	}
	return hi - lo + 1
}
