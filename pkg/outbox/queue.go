package outbox

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Queue queues on b the insert EnqueueStored makes (all of msgs in one
// statement), for a store that sends a transaction's writes in one round
// trip (issue 17: dispatch's sign-for and completion wrote their rows, their
// outbox messages and their request's result in three). When b is sent and
// the insert's rows are read, they join ctx's scope as EnqueueStored's do,
// so they are published from memory once the transaction commits; errors
// show when b is sent.
func Queue(ctx context.Context, b *pgx.Batch, msgs ...Message) error {
	_, err := QueueStored(ctx, b, msgs...)
	return err
}

// QueueStored is Queue for a caller that hands the committed rows to the
// relay itself, as EnqueueStored's callers do: once b has been sent and its
// results closed without error, the returned Stored holds the rows with
// their stored ids (PublishCommitted). They join ctx's scope too, if it has
// one.
func QueueStored(ctx context.Context, b *pgx.Batch, msgs ...Message) (*Stored, error) {
	out := &Stored{}
	if len(msgs) == 0 {
		return out, nil
	}
	ins, err := newInsert(ctx, msgs)
	if err != nil {
		return nil, err
	}
	b.Queue(insertSQL, ins.args...).Query(func(rows pgx.Rows) error {
		if err := ins.read(ctx, rows); err != nil {
			return err
		}
		out.rows = ins.rows
		return nil
	})
	return out, nil
}
