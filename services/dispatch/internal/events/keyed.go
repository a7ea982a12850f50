package events

import (
	"context"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/pkg/pgdb"
)

// KeyedBatch makes a consumer.BatchHandler of a per-message handler (issue
// 17, dispatch's routine durables besides the cases'): the fetch in one
// transaction, each message applied by h in its own savepoint in arrival
// order (a poison message fails alone), after an advisory lock on each of
// the batch's keys (what its messages write: a case, a source place) is
// taken in one statement in the order of the lock keys, so that two
// replicas' batches touching the same keys wait for each other in one order
// rather than deadlock. ns names the keys' space. A batch of one message
// takes no lock: the handler's own row locks do, as before.
func KeyedBatch(ns string, key func(consumer.Message) string, h consumer.Handler) consumer.BatchHandler {
	return func(ctx context.Context, b *consumer.Batch) error {
		msgs := b.Messages()
		if len(msgs) > 1 {
			keys := make([]string, len(msgs))
			for i, m := range msgs {
				keys[i] = key(m)
			}
			if err := pgdb.LockKeys(ctx, b.Tx(), ns, keys); err != nil {
				return err
			}
		}
		b.Each(h)
		return nil
	}
}

// CoordinationKey is the source place a coordination event changes; a
// message that does not decode is its own key.
func CoordinationKey(m consumer.Message) string {
	env, err := decode(m.Data)
	if err != nil {
		return m.EventID
	}
	if ch, ok := CoordinationChangeOf(env); ok && ch.SourcePlaceID != "" {
		return ch.SourcePlaceID
	}
	return m.EventID
}

// WorkKey is what a worker-task event changes: its case (the envelope's
// case_id), else its place; a message naming neither is its own key.
func WorkKey(m consumer.Message) string {
	if id := envelope.CaseID(m.Data); id != "" {
		return id
	}
	env, err := decode(m.Data)
	if err == nil && env.GetPlaceUpserted().GetPlaceKey() != "" {
		return "place:" + env.GetPlaceUpserted().GetPlaceKey()
	}
	return m.EventID
}
