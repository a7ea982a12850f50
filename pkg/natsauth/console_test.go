package natsauth_test

import (
	"context"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/nats-io/nats.go/jetstream"
)

// The console's escalation board counts dead letters per durable (issue
// 18) with the least it needs: GRID_DLQ's stream info with a subjects
// filter, which every service user already has for its own dead-letter
// gauge. It reads no dead letter itself — no consumer on GRID_DLQ, no
// direct or stored message read — and deletes, purges and publishes none.
func TestConsoleCountsDeadLetters(t *testing.T) {
	t.Parallel()
	s, dir := authServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	streams := connect(t, s, dir, natsauth.Streams)
	if err := natsjs.EnsureStreams(ctx, streams.js, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	classify := connect(t, s, dir, natsauth.Classify)
	for range 2 {
		if _, err := classify.js.Publish(ctx, "dlq.classify-cases."+received, []byte("poison")); err != nil {
			t.Fatalf("classify dead-letters: %v", err)
		}
	}

	console := connect(t, s, dir, natsauth.Console)
	dlq, err := console.js.Stream(ctx, natsjs.StreamDLQ)
	if err != nil {
		t.Fatalf("console looks GRID_DLQ up: %v", err)
	}
	info, err := dlq.Info(ctx, jetstream.WithSubjectFilter("dlq.>"))
	if err != nil {
		t.Fatalf("console reads GRID_DLQ's subject counts: %v", err)
	}
	if n := info.State.Subjects["dlq.classify-cases."+received]; n != 2 {
		t.Errorf("console counts %d dead letters of classify-cases, want 2 (%v)", n, info.State.Subjects)
	}

	console.refused(t, `Publish to "$JS.API.CONSUMER.CREATE.GRID_DLQ`, func(ctx context.Context) error {
		_, err := console.js.OrderedConsumer(ctx, natsjs.StreamDLQ, jetstream.OrderedConsumerConfig{})
		return err
	})
	console.refused(t, `Publish to "$JS.API.STREAM.MSG.GET.GRID_DLQ"`,
		request(console.nc, "$JS.API.STREAM.MSG.GET.GRID_DLQ", `{"seq":1}`))
	console.refused(t, `Publish to "$JS.API.DIRECT.GET.GRID_DLQ"`,
		request(console.nc, "$JS.API.DIRECT.GET.GRID_DLQ", `{"seq":1}`))
	console.refused(t, `Publish to "$JS.API.STREAM.MSG.DELETE.GRID_DLQ"`,
		request(console.nc, "$JS.API.STREAM.MSG.DELETE.GRID_DLQ", `{"seq":1}`))
	console.refused(t, `Publish to "$JS.API.STREAM.PURGE.GRID_DLQ"`,
		request(console.nc, "$JS.API.STREAM.PURGE.GRID_DLQ", `{}`))
	console.refused(t, `Publish to "dlq.classify-cases.`+received+`"`, publish(console.nc, "dlq.classify-cases."+received))
}
