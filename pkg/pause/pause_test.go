package pause

import (
	"context"
	"testing"
	"time"
)

func TestFor(t *testing.T) {
	t.Parallel()
	if !For(context.Background(), time.Millisecond) {
		t.Error("For returned false with a live context")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if For(ctx, time.Hour) {
		t.Error("For returned true with an ended context")
	}
	if time.Since(start) > time.Minute {
		t.Error("For waited out the hour despite the ended context")
	}
}
