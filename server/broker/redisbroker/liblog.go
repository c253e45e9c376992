package redisbroker

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// RouteLibraryLogs sends go-redis's own log lines (it prints "failed to
// dial" for every retry while Redis is down) to log at debug level instead of
// stderr. go-redis has one logger per process, so this is a process-wide
// setting: the broker reports connection loss and recovery itself, once, at
// warn and info.
func RouteLibraryLogs(log *slog.Logger) {
	redis.SetLogger(libLogger{log})
}

type libLogger struct{ log *slog.Logger }

func (l libLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}
