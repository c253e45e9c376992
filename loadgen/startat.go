package loadgen

import (
	"context"
	"fmt"
	"time"

	"github.com/chatbench/chatbench/loadgen/results"
)

// A shared start (Config.StartAt, swarm --start-at): shards of one load on
// several machines each ramp as soon as they run, then wait and start
// their send phase (warmup, steady, grace) at one wall-clock instant, so
// their steady phases coincide although their processes started apart. It
// is the send phase, not the ramp, that is aligned: ramps take as long as
// a shard's clients and the server's accepts take, so aligning their starts
// would not align what is measured. A shard still ramping at StartAt starts
// sending when it is done; the results say so.

// startGate waits until the send phase's start (ns on the run clock) and
// records in res when it began by this machine's wall clock, so merged
// shards show how far apart they started (results.RunConfig).
func (r *run) startGate(ctx context.Context, res *results.Result, sendStart int64) {
	sleepCtx(ctx, time.Duration(sendStart-r.t.now()))
	res.Config.SendStartedAt = time.Now().UTC()
	at := r.cfg.StartAt
	if at.IsZero() {
		return
	}
	res.Config.StartAt = at.UTC()
	if late := time.Duration(sendStart - int64(at.Sub(r.t.base))); late > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("sending started %s after --start-at %s: the ramp was not over by then, so this part's steady phase overlaps the others' less",
			late.Round(time.Millisecond), at.UTC().Format(time.RFC3339)))
	}
}

// procsSendStart is when a --procs parent tells its workers to start
// sending: shortly after the last one ramped, or at StartAt if that is
// later (ns since origin, the workers' shared clock).
func procsSendStart(cfg *Config, origin int64) int64 {
	start := time.Now().UnixNano() + int64(200*time.Millisecond)
	if !cfg.StartAt.IsZero() {
		start = max(start, cfg.StartAt.UnixNano())
	}
	return start - origin
}
