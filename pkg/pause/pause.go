// Package pause waits for a while unless the context ends first: the one
// wait every retry loop in gridflow needs (relay backoff, consumer retries,
// timer polling, reconnecting a LISTEN, re-declaring streams).
package pause

import (
	"context"
	"time"
)

// For waits d and reports true, or returns false as soon as ctx ends.
func For(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
