package wsclient

import (
	"sync/atomic"
	"time"
)

// coarseNow is a clock (Unix ns) that a keepalive loop advances every tick
// (Tick), so that readers stamp Conn.LastRead without a clock read per
// system call.
var coarseNow atomic.Int64

// Tick advances the coarse clock to now and returns it.
func Tick() int64 {
	now := time.Now().UnixNano()
	coarseNow.Store(now)
	return now
}

// CoarseNow is the coarse clock's last tick (Unix ns).
func CoarseNow() int64 { return coarseNow.Load() }
