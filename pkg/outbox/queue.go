package outbox

import (
	"context"
	"encoding/json"
	"fmt"

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
	if len(msgs) == 0 {
		return nil
	}
	var (
		rows     = make([]row, 0, len(msgs))
		ids      = make([]string, len(msgs))
		subjects = make([]string, len(msgs))
		data     = make([][]byte, len(msgs)) // nil (NULL) when stored by reference
		refs     = make([]*string, len(msgs))
		headers  = make([]string, len(msgs))
		at       = make(map[string]int, len(msgs))
	)
	for i, m := range msgs {
		x, err := rowOf(ctx, m)
		if err != nil {
			return err
		}
		if _, dup := at[x.eventID]; dup {
			return fmt.Errorf("outbox: event id %q twice in one enqueue", x.eventID)
		}
		at[x.eventID] = i
		hj, _ := json.Marshal(x.headers)
		ids[i], subjects[i], headers[i] = x.eventID, x.subject, string(hj)
		if m.Ref != "" {
			refs[i] = &m.Ref
		} else {
			data[i] = x.data
		}
		rows = append(rows, x)
	}
	s := scopeOf(ctx)
	b.Queue(`INSERT INTO outbox (event_id, subject, data, ref, headers)
		SELECT e, s, d, r, h::jsonb FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[], $5::text[]) AS u (e, s, d, r, h)
		RETURNING id, event_id`, ids, subjects, data, refs, headers).Query(func(res pgx.Rows) error {
		var (
			id      int64
			eventID string
		)
		n, err := pgx.ForEachRow(res, []any{&id, &eventID}, func() error {
			rows[at[eventID]].id = id
			return nil
		})
		if err == nil && n.RowsAffected() != int64(len(msgs)) {
			err = fmt.Errorf("stored %d of %d rows", n.RowsAffected(), len(msgs))
		}
		if err != nil {
			return fmt.Errorf("outbox enqueue: %w", err)
		}
		if s != nil {
			s.add(rows) // published from memory once the scope commits
		}
		return nil
	})
	return nil
}
