// Package rlimit raises the open-files limit, which serve and swarm both
// need: every socket is a file.
package rlimit

import (
	"fmt"
	"syscall"
)

// Raise raises the process's soft open-files limit to its hard limit and
// returns both. The hard limit cannot be raised without privileges; on the
// machines chatbench was built on it is 20,000, so one process holds fewer
// than 20,000 sockets.
func Raise() (soft, hard uint64, err error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, 0, fmt.Errorf("read open-files limit: %w", err)
	}
	if l.Cur < l.Max {
		want := l.Max
		l.Cur = want
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l)
			return l.Cur, l.Max, fmt.Errorf("raise open-files limit to %d: %w", want, err)
		}
	}
	return l.Cur, l.Max, nil
}
