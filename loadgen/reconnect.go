package loadgen

import (
	"time"
)

// reconnect opens client id's socket again after the server dropped it, on
// the URLs after its own in turn, at most Config.Reconnect.Tries times; it
// holds a readers count, so closeAll waits for it.
func (r *run) reconnect(id int, lostAt time.Time) {
	defer r.readers.Done()
	rc := r.cfg.Reconnect
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	ctx := r.runCtx
	for try := 1; try <= rc.Tries; try++ {
		// The first try at once (the next node is likely up), the others
		// Wait apart.
		if r.closing.Load() || (try > 1 && !wait(ctx, timer, rc.Wait)) || ctx.Err() != nil {
			break
		}
		if !r.connectTo(ctx, id, id+try) {
			continue
		}
		r.reconnected.Add(1)
		if tr := r.cfg.Trace; tr != nil {
			tr.addReconnect(time.Since(lostAt), true)
		}
		// closeAll may have passed this client's slot already.
		if r.closing.Load() {
			if c := r.clients[id].Load(); c != nil {
				c.ws.Close()
			}
		}
		return
	}
	if tr := r.cfg.Trace; tr != nil {
		tr.addReconnect(0, false)
	}
}
