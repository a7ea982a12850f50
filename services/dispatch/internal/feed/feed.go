// Package feed serves WatchTasks: a department's task events, read from
// the GRID stream where the outbox relay published them, from a cursor.
package feed

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/gridflow/gridflow/services/dispatch/internal/events"
	"github.com/nats-io/nats.go/jetstream"
)

// Feed serves WatchTasks from the GRID stream: a department's task events
// are exactly the subjects grid.task.*.<dept>.>, in stream order, and the
// cursor is the stream sequence of the last event sent. Resuming from a
// cursor asks the stream for what came after it, so a reconnecting unit
// misses nothing the stream still holds (30 days by default) — withdrawals
// included.
type Feed struct {
	js jetstream.JetStream
}

// New returns a feed over js.
func New(js jetstream.JetStream) *Feed { return &Feed{js: js} }

var _ dispatch.Feed = (*Feed)(nil)

// Watch implements dispatch.Feed: "" starts with new events, "0" with the
// first the stream holds, n after stream sequence n.
func (f *Feed) Watch(ctx context.Context, dept, cursor string, send func(cursor string, event []byte) error) error {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.DepartmentFilter(dept)}, DeliverPolicy: jetstream.DeliverNewPolicy}
	if cursor != "" {
		n, err := strconv.ParseUint(cursor, 10, 64)
		if err != nil {
			return fmt.Errorf("cursor %q: %w", cursor, err)
		}
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
		if n > 0 {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, n+1
		}
	}
	cons, err := f.js.OrderedConsumer(ctx, natsjs.StreamGrid, cfg)
	if err != nil {
		return fmt.Errorf("watch %s: %w", dept, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("watch %s: %w", dept, err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, context.Canceled) {
				return nil
			}
			return fmt.Errorf("watch %s: %w", dept, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("watch %s: %w", dept, err)
		}
		if err := send(strconv.FormatUint(meta.Sequence.Stream, 10), msg.Data()); err != nil {
			return err
		}
	}
}
