package feedback

import (
	"context"
	"fmt"

	"github.com/gridflow/gridflow/pkg/fault"
)

// A command is a change a caller or a timer asks of one case — a callback,
// a re-check, a self-disposal check, a callback window that passed —
// applied as a batch's events are (Applier, issue 17): the case is locked
// and its stored view read, the command's events are applied to the view
// in memory, the decisions they call for are taken, and the events, what
// is published and the changed views are written together at the end. It
// read the case's whole log and wrote each event, its outbox row and the
// view one statement at a time: about fifteen statements a callback, the
// most any one request of the loop took.
type command struct {
	a       *Applier
	touched map[string]bool
}

// begin locks case id in tx and reads its view: the case as the command
// sees it, NotFound when it has no event.
func (s *Service) begin(ctx context.Context, tx Tx, id string) (*command, *Case, error) {
	return s.beginWith(ctx, tx, id, tx.LockCase)
}

// beginFired is begin for a timer of the case that fired in tx: the timer
// worker removed its row in this very transaction, so the case's timers
// are written whole, not only where they changed (LockCaseToSave).
func (s *Service) beginFired(ctx context.Context, tx Tx, id string) (*command, *Case, error) {
	return s.beginWith(ctx, tx, id, tx.LockCaseToSave)
}

func (s *Service) beginWith(ctx context.Context, tx Tx, id string, lock func(context.Context, string) error) (*command, *Case, error) {
	bt, ok := tx.(BatchTx)
	if !ok {
		return nil, nil, fmt.Errorf("case %s: %T handles no batch in memory", id, tx)
	}
	if err := lock(ctx, id); err != nil {
		return nil, nil, err
	}
	a, err := s.NewApplier(ctx, bt, []string{id}, nil)
	if err != nil {
		return nil, nil, err
	}
	m := &command{a: a, touched: map[string]bool{}}
	c, err := m.existing(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return m, c, nil
}

// existing is case id as the command holds it, read if need be; NotFound
// when the case has no event. A case's view is written in the transaction
// that appends its events (Rebuild resets and rewrites them all in one), so
// a case without a stored view has none, as the Applier takes it for a
// consumed event.
func (m *command) existing(ctx context.Context, id string) (*Case, error) {
	c, err := m.a.view(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.a.slots[id].unstored {
		return nil, fault.NotFoundf("cases/"+id, "no case %s", id)
	}
	return c, nil
}

// emit completes e on c (a case the command holds), appends it to the
// batch's log, publishes it unless local, and applies it to c.
func (m *command) emit(ctx context.Context, c *Case, e *Event) {
	m.a.s.complete(c, e)
	m.a.append(e)
	if !e.Local() {
		m.a.out = append(m.a.out, Outgoing{Ctx: ctx, Event: e})
	}
	c.apply(e) // e.At is no older than the case's events (complete)
	c.State = c.derive()
	m.touched[c.ID] = true
}

// lock takes the lock of another case (a merged case's primary) and
// returns it as the command holds it; NotFound when it has no event.
func (m *command) lock(ctx context.Context, id string) (*Case, error) {
	if !m.a.locked[id] {
		if err := m.a.tx.LockCase(ctx, id); err != nil {
			return nil, err
		}
		m.a.locked[id] = true
	}
	return m.existing(ctx, id)
}

// refresh takes the decisions case id's facts call for now (cascading to
// the cases merged into it when cascade is set).
func (m *command) refresh(ctx context.Context, id string, cascade bool) error {
	return m.a.refresh(ctx, id, cascade, m.touched)
}

// finish refreshes case id, writes what the command changed (Flush) and
// returns id's view.
func (m *command) finish(ctx context.Context, id string, cascade bool) (*Case, error) {
	if err := m.refresh(ctx, id, cascade); err != nil {
		return nil, err
	}
	c, err := m.a.view(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := m.a.Flush(ctx); err != nil {
		return nil, err
	}
	return c, nil
}
