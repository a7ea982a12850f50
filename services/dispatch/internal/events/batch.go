package events

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/jackc/pgx/v5"
)

// CaseSet is the cases of one batch, locked and read at once
// (postgres.Cases): operations run on them in memory, and Write stores
// what the successful ones finished.
type CaseSet interface {
	Apply(caseID string, op func(*dispatch.Case) (*dispatch.Commit, error)) error
	Write(ctx context.Context, tx pgx.Tx) (int, error)
}

// CaseLocker locks a batch's cases in tx in one order every transaction
// shares, creating those of create that do not exist, and reads them
// (postgres.Store.LockCases).
type CaseLocker func(ctx context.Context, tx pgx.Tx, ids []string, create map[string]bool, now time.Time) (CaseSet, error)

// HandleBatch is the consumer.BatchHandler of ConsumerName (issue 17): what
// arrived for one worker, in one transaction. Every envelope is decoded first —
// one that does not decode, names no case or a case id that is not a uuid
// is dead-lettered alone — then the batch's cases are locked at once, in
// lock's order, and read with their tasks in one round trip. Each event is
// applied in memory (no savepoint: Settle), in arrival order (a case's events reach one
// worker, OrderKey), to its case as the events before it left it; an event
// that fails (a reopening that cannot be applied is poison, as with Handle)
// is undone alone and its neighbours go on. What the successful events
// changed is written at the end in one round of statements — each case and
// task once, one outbox insert — and if that fails the runner handles the
// batch's messages again one by one.
func (h *Handlers) HandleBatch(lock CaseLocker) consumer.BatchHandler {
	return func(ctx context.Context, b *consumer.Batch) error {
		msgs := b.Messages()
		changes := make([]*change, len(msgs))
		names := make([]string, len(msgs))
		var ids []string
		create := map[string]bool{}
		for i, m := range msgs {
			env, err := decode(m.Data)
			if err != nil {
				b.Fail(i, consumer.Permanent(fmt.Errorf("decode %s: %w", m.Subject, err)))
				continue
			}
			ch, ok, err := changeOf(env)
			switch {
			case err != nil:
				b.Fail(i, consumer.Permanent(err))
				continue
			case !ok:
				_ = b.Settle(i, func() error { return nil })
				continue
			case ch.caseID == "":
				b.Fail(i, consumer.Permanent(fmt.Errorf("%w: %s without a case id", errPoison, envelope.Name(env))))
				continue
			}
			if _, err := uuid.Parse(ch.caseID); err != nil {
				b.Fail(i, consumer.Permanent(fmt.Errorf("%w: %s: case id %q: %w", errPoison, envelope.Name(env), ch.caseID, dispatch.ErrBadCaseID)))
				continue
			}
			changes[i], names[i] = &ch, envelope.Name(env)
			ids = append(ids, ch.caseID)
			create[ch.caseID] = create[ch.caseID] || ch.create
		}
		if len(ids) == 0 {
			return nil
		}
		set, err := lock(ctx, b.Tx(), ids, create, h.env(dispatch.SystemActor).Now)
		if err != nil {
			return err
		}
		applied := 0
		for i, ch := range changes {
			if ch == nil {
				continue
			}
			// In memory only (set.Apply undoes a failed event's change to
			// its case): no savepoint per event; set.Write below writes
			// what the successful ones changed.
			err := b.Settle(i, func() error {
				e := h.env(dispatch.SystemActor)
				err := set.Apply(ch.caseID, func(c *dispatch.Case) (*dispatch.Commit, error) {
					if err := ch.op(c, e); err != nil {
						return nil, err
					}
					return e.Commit(c)
				})
				if fault.KindOf(err) == fault.FailedPrecondition {
					return consumer.Permanent(fmt.Errorf("%w: %s: %w", errPoison, names[i], err))
				}
				return err
			})
			if err == nil {
				applied++
			}
		}
		if applied == 0 {
			return nil // nothing handled: the runner rolls back
		}
		_, err = set.Write(ctx, b.Tx())
		return err
	}
}

// OrderKey is the case a message belongs to (the envelope's case_id, read
// without decoding the rest), so that one case's events in a fetch are
// handled by one worker in arrival order (consumer.Config.OrderKey); a
// message without one is its own key.
func OrderKey(m consumer.Message) string {
	if id := envelope.CaseID(m.Data); id != "" {
		return id
	}
	return m.EventID
}
