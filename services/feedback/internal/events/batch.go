package events

import (
	"context"
	"fmt"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/jackc/pgx/v5"
)

// CaseLocker takes the locks of cases in one transaction, in an order
// every transaction shares, so that two batches touching the same cases
// cannot deadlock on them.
type CaseLocker func(ctx context.Context, tx pgx.Tx, caseIDs []string) error

// BatchHandler handles what arrived for one worker in one transaction
// (consumer.NewBatch): every envelope is decoded first — one that does not
// decode, or names no case, is dead-lettered alone — then the batch's cases
// are locked at once, in lock's order. A transaction bind makes a
// feedback.BatchTx of (the store's) handles the events in memory
// (feedback.Applier, issue 17): the batch's views and which of its events
// are logged already read in one round trip — with the BEGIN and the locks,
// on the runner's lazy transaction (pgdb.Lazy) — each event applied to its
// case's view in arrival order with Settle — an event that fails is undone
// in memory and takes its own outcome — and what the others changed held
// for the COMMIT, in the second; if that write fails the batch fails, and
// the runner handles each message again alone, so a message that breaks it
// fails alone. bind must give a feedback.BatchTx (the store's always
// does). Events the handler only acknowledges (inspections, work that is
// no case's) settle without a savepoint. A resolved primary may still lock its dependents later in
// the batch, outside lock's order: a deadlock there fails the batch, which
// the runner then handles message by message.
func BatchHandler(svc *feedback.Service, bind Binder, lock CaseLocker) consumer.BatchHandler {
	return func(ctx context.Context, b *consumer.Batch) error {
		msgs := b.Messages()
		evs := make([]feedback.Event, len(msgs))
		ok := make([]bool, len(msgs))
		ids := make([]string, 0, len(msgs))
		for i, m := range msgs {
			if inspectionEvent(m.Subject) { // issue 20: counted by feedback-inspections, no case's event
				_ = b.Settle(i, func() error { return nil }) // nothing to write: no savepoint
				continue
			}
			e, err := eventOf(m)
			if err != nil {
				b.Fail(i, err)
				continue
			}
			if notCaseWork(e) { // issue 20 (work tasks): acknowledged, not kept
				_ = b.Settle(i, func() error { return nil }) // nothing to write: no savepoint
				continue
			}
			evs[i], ok[i] = e, true
			ids = append(ids, e.CaseID)
		}
		if len(ids) == 0 {
			return nil
		}
		if err := lock(ctx, b.Tx(), ids); err != nil {
			return err
		}
		btx, isBatch := bind(b.Tx()).(feedback.BatchTx)
		if !isBatch {
			return fmt.Errorf("feedback batch handler: bind gave %T, which handles no batch in memory", bind(b.Tx()))
		}
		return inMemory(ctx, b, svc, btx, evs, ok, ids)
	}
}

// inMemory handles the decoded events evs (those with ok) of b with a
// feedback.Applier; ids are their cases, locked.
func inMemory(ctx context.Context, b *consumer.Batch, svc *feedback.Service, tx feedback.BatchTx, evs []feedback.Event, ok []bool,
	ids []string) error {
	eventIDs := make([]string, 0, len(evs))
	for i := range evs {
		if ok[i] {
			eventIDs = append(eventIDs, evs[i].ID)
		}
	}
	a, err := svc.NewApplier(ctx, tx, ids, eventIDs)
	if err != nil {
		return err
	}
	for i := range evs {
		if ok[i] {
			_ = b.Settle(i, func() error { return a.Apply(b.Context(i), evs[i]) }) // the outcome is recorded
		}
	}
	return a.Flush(ctx)
}

// OrderKey is the case a message belongs to, so that one case's events are
// handled one after another, in arrival order, by one worker
// (consumer.Config.OrderKey).
// The case id is read without decoding the envelope (the handler decodes
// it once); a message without one is its own key.
func OrderKey(m consumer.Message) string {
	if id := envelope.CaseID(m.Data); id != "" {
		return id
	}
	return m.EventID
}

// eventOf decodes a delivered envelope into the event Handle applies; an
// envelope that does not decode or names no case is poison.
func eventOf(msg consumer.Message) (feedback.Event, error) {
	e, err := Decode(msg.Data)
	if err != nil {
		return e, consumer.Permanent(fmt.Errorf("%s: %w", msg.Subject, err))
	}
	if e.ID == "" {
		e.ID = msg.EventID
	}
	if e.At.IsZero() {
		e.At = msg.Published
	}
	if e.CaseID == "" && !notCaseWork(e) {
		return e, consumer.Permanent(fmt.Errorf("%s: event %s names no case", msg.Subject, e.ID))
	}
	return e, nil
}
