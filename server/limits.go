package server

import (
	"fmt"
	"syscall"
)

// RaiseOpenFilesLimit raises the process's soft open-files limit to its hard
// limit (every socket is a file) and returns the new soft limit. The hard
// limit cannot be raised without privileges; on the machines chatbench was
// built on it is 20,000, so one process serves fewer than 20,000 sockets.
func RaiseOpenFilesLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("read open-files limit: %w", err)
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, fmt.Errorf("raise open-files limit to %d: %w", l.Max, err)
		}
	}
	return l.Cur, nil
}
