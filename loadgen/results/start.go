package results

import (
	"fmt"
	"time"
)

// addStart merges o's send-phase start into c: the earliest start, and the
// spread up to the latest (each input's start plus its own spread), so
// merging merged results gives the spread of all their runs.
func (c *RunConfig) addStart(o RunConfig) {
	if !o.StartAt.Equal(c.StartAt) {
		c.StartAt = time.Time{} // runs asked for different starts: none was shared
	}
	if o.SendStartedAt.IsZero() {
		return // it never started sending
	}
	oEnd := o.SendStartedAt.Add(secondsDuration(o.SendStartSpreadS))
	if c.SendStartedAt.IsZero() {
		c.SendStartedAt, c.SendStartSpreadS = o.SendStartedAt, o.SendStartSpreadS
		return
	}
	end := c.SendStartedAt.Add(secondsDuration(c.SendStartSpreadS))
	if oEnd.After(end) {
		end = oEnd
	}
	if o.SendStartedAt.Before(c.SendStartedAt) {
		c.SendStartedAt = o.SendStartedAt
	}
	c.SendStartSpreadS = end.Sub(c.SendStartedAt).Seconds()
}

func secondsDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// startNote says, for runs merged after a shared --start-at, how far apart
// they began sending ("" otherwise).
func (c *RunConfig) startNote(runs int) string {
	if runs < 2 || c.StartAt.IsZero() || c.SendStartedAt.IsZero() {
		return ""
	}
	return fmt.Sprintf("the %d merged parts (shards or workers) started sending within %s of each other (asked: %s; each by its own machine's clock, so clock skew adds to it)",
		runs, secondsDuration(c.SendStartSpreadS).Round(time.Microsecond), c.StartAt.UTC().Format(time.RFC3339Nano))
}
