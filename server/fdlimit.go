package server

// Every socket is an open file. The server spends the process's open-files
// limit in three parts: upgraded WebSockets (MaxConns), connections that
// are not WebSockets (yet) (MaxPending), and a reserve for everything else
// (FDReserve: the listener, the broker's connections, the process's own
// files). New checks that the three fit.

// fitMaxConns resolves MaxConnsAuto against the open-files limit and
// checks that the three parts fit in it. A limit of 0 (it could not be
// read) checks nothing, and MaxConnsAuto then means no cap rather than a
// wrong one.
func (c *Config) fitMaxConns(limit uint64) (int, error) {
	if limit == 0 {
		return max(c.MaxConns, 0), nil
	}
	// Each part is compared with the limit first, so that values near
	// MaxInt cannot wrap the subtraction around.
	lim, room := int64(min(limit, 1<<40)), int64(0)
	if int64(c.FDReserve) < lim && int64(c.MaxPending) < lim {
		room = lim - int64(c.FDReserve) - int64(c.MaxPending)
	}
	switch {
	case c.MaxConns == MaxConnsAuto && room < 1:
		return 0, configErr("the open-files limit %d leaves no connection after fd reserve %d and %d pending connections: lower them or raise the limit (ulimit -n)",
			limit, c.FDReserve, c.MaxPending)
	case c.MaxConns == MaxConnsAuto:
		return int(room), nil
	case int64(c.MaxConns) > room:
		return 0, configErr("max connections %d does not fit the open-files limit %d with fd reserve %d and %d pending connections: at most %d",
			c.MaxConns, limit, c.FDReserve, c.MaxPending, max(room, 0))
	}
	return c.MaxConns, nil
}
