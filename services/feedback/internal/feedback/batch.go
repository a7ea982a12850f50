package feedback

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/gridflow/gridflow/pkg/fault"
)

// Handling a batch in memory (issue 17).
//
// A case's stored view is Project of its log: events applied in time order,
// then log order. An event no older than the newest the view has seen
// (Case.UpdatedAt) sorts after every stored one — its seq is higher — so
// applying it to the stored view gives what projecting the whole log again
// would (TestApplyMatchesProject). Only an older event, one delivered out of
// order, needs the log read and projected again; so does a view written by
// another version of the projection (ProjectionVersion).
//
// The Applier reads every case of a batch in one round trip, applies each
// event in memory in arrival order, taking the decisions each calls for as
// Handle does, and writes the new events, what is published and the changed
// views in one more at the end (Flush).

// ProjectionVersion is stamped on every stored view. Raise it whenever
// Project (an apply, derive, a field of Case) changes what it makes of a
// log: a view with another stamp is projected again from the log when an
// event next comes for its case, never added to.
const ProjectionVersion = 1

// Replays counts how the batches' events were applied (issue 17): in
// memory to the stored view, or out of order, so that the case's whole log
// was read and projected again (Log, a read per replay).
var replays struct{ inOrder, outOfOrder, log atomic.Int64 }

// Replays returns the events applied in order and out of order, and the
// logs read again, since the process started.
func Replays() (inOrder, outOfOrder, logs int64) {
	return replays.inOrder.Load(), replays.outOfOrder.Load(), replays.log.Load()
}

// BatchTx is a transaction that handles a batch of events in memory.
type BatchTx interface {
	Tx
	// LoadViews reads the stored views of ids — a nil view for one a
	// different ProjectionVersion wrote, no entry for a case without one
	// — and which of eventIDs the log holds already.
	LoadViews(ctx context.Context, ids, eventIDs []string) (views map[string]*Case, logged map[string]bool, err error)
	// SaveBatch appends evs to the log in their order (an id already there
	// fails it), writes out to the outbox, and saves the views of cases.
	SaveBatch(ctx context.Context, evs []*Event, out []Outgoing, cases []*Case) error
}

// Outgoing is an event to publish, with the context of the message that
// caused it (its trace).
type Outgoing struct {
	Ctx   context.Context
	Event *Event
}

// Applier applies one batch's events in memory; see above.
type Applier struct {
	s      *Service
	tx     BatchTx
	slots  map[string]*slot
	locked map[string]bool // cases this transaction holds the lock of
	known  map[string]bool // event ids in the log or appended by this batch
	log    []*Event        // the batch's new events, in order
	out    []Outgoing
	seq    int64 // provisional log positions of the batch's events
}

type slot struct {
	c *Case
	// stale: c is not the projection of the case's log and this batch's
	// events; it is projected again before it is next read.
	stale bool
	// unstored: no view was stored, so c is the empty projection: the case
	// had no event when the batch read it (command.existing: NotFound).
	unstored bool
}

// provisional is above every stored seq: the batch's events sort after the
// stored ones, in the order they are appended (and later inserted).
const provisional = int64(1) << 62

// NewApplier reads the views of caseIDs, whose locks tx holds, and which
// of eventIDs are logged already, in one round trip.
func (s *Service) NewApplier(ctx context.Context, tx BatchTx, caseIDs, eventIDs []string) (*Applier, error) {
	a := &Applier{s: s, tx: tx, slots: make(map[string]*slot, len(caseIDs)), locked: make(map[string]bool, len(caseIDs)), seq: provisional}
	for _, id := range caseIDs {
		a.locked[id] = true
	}
	if err := a.load(ctx, caseIDs, eventIDs); err != nil {
		return nil, err
	}
	return a, nil
}

// load reads the views of ids not read yet into slots.
func (a *Applier) load(ctx context.Context, ids, eventIDs []string) error {
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return a.slots[id] != nil })
	slices.Sort(ids)
	ids = slices.Compact(ids)
	views, logged, err := a.tx.LoadViews(ctx, ids, eventIDs)
	if err != nil {
		return err
	}
	if a.known == nil {
		a.known = logged
		if a.known == nil {
			a.known = map[string]bool{}
		}
	}
	for _, id := range ids {
		c, stored := views[id]
		switch {
		case !stored: // no event of the case handled yet: the empty projection
			a.slots[id] = &slot{c: Project(id, nil), unstored: true}
		case c == nil:
			a.slots[id] = &slot{c: &Case{ID: id}, stale: true}
		default:
			a.slots[id] = &slot{c: c}
		}
	}
	return nil
}

// view is case id as it stands in the batch, projected again if stale.
func (a *Applier) view(ctx context.Context, id string) (*Case, error) {
	if a.slots[id] == nil {
		if err := a.load(ctx, []string{id}, nil); err != nil {
			return nil, err
		}
	}
	sl := a.slots[id]
	if sl.stale {
		evs, err := a.tx.Events(ctx, id)
		if err != nil {
			return nil, err
		}
		replays.log.Add(1)
		for _, e := range a.log {
			if e.CaseID == id {
				evs = append(evs, *e)
			}
		}
		sl.c, sl.stale = Project(id, evs), false
	}
	return sl.c, nil
}

// Apply stores e and brings its case (and the cases merged into it) up to
// date, in memory, as Handle does in the database. It reads what it needs
// but writes nothing: Flush does. If it fails (or panics) what it did is
// undone, so the batch's other events carry on without it.
func (a *Applier) Apply(ctx context.Context, e Event) (err error) {
	if e.CaseID == "" {
		return fmt.Errorf("event %s (%s) names no case", e.ID, e.Type)
	}
	if a.known[e.ID] {
		return nil // redelivered, or feedback's own event coming back
	}
	if !a.locked[e.CaseID] {
		return fmt.Errorf("event %s: case %s is not locked by its batch", e.ID, e.CaseID)
	}
	logAt, outAt := len(a.log), len(a.out)
	touched := map[string]bool{}
	ok := false
	defer func() {
		if ok {
			return
		}
		for _, x := range a.log[logAt:] {
			delete(a.known, x.ID)
		}
		a.log, a.out = a.log[:logAt], a.out[:outAt]
		for id := range touched {
			a.slots[id].stale = true
		}
	}()
	c, err := a.view(ctx, e.CaseID)
	if err != nil {
		return err
	}
	touched[e.CaseID] = true
	a.append(&e)
	sl := a.slots[e.CaseID]
	if e.At.Before(c.UpdatedAt) { // out of order: where it lands needs the whole log
		sl.stale = true
		replays.outOfOrder.Add(1)
	} else {
		replays.inOrder.Add(1)
		c.apply(&e)
		c.State = c.derive()
	}
	if err := a.refresh(ctx, e.CaseID, true, touched); err != nil {
		return err
	}
	ok = true
	return nil
}

func (a *Applier) append(e *Event) {
	a.seq++
	e.Seq = a.seq
	a.known[e.ID] = true
	a.log = append(a.log, e)
}

// refresh is Service.refresh on the batch's view of case id.
func (a *Applier) refresh(ctx context.Context, id string, cascade bool, touched map[string]bool) error {
	c, err := a.view(ctx, id)
	if err != nil {
		return err
	}
	touched[id] = true
	var primary *Case
	if c.Merged() {
		if primary, err = a.peek(ctx, c.PrimaryCaseID); err != nil {
			return err
		}
	}
	decided := a.s.decide(c, primary)
	for i := range decided {
		e := &decided[i]
		a.s.complete(c, e)
		a.append(e)
		if !e.Local() {
			a.out = append(a.out, Outgoing{Ctx: ctx, Event: e})
		}
		c.apply(e) // e.At is no older than the case's events
	}
	if len(decided) > 0 {
		c.State = c.derive()
	}
	if !cascade || c.Merged() || !c.resolved(c.Round) {
		return nil
	}
	deps, err := a.dependents(ctx, id)
	if err != nil {
		return err
	}
	for _, d := range deps {
		if !a.locked[d] { // so never read yet: peek keeps no unlocked view
			if err := a.tx.LockCase(ctx, d); err != nil {
				return err
			}
			a.locked[d] = true
		}
		if err := a.refresh(ctx, d, false, touched); err != nil {
			return err
		}
	}
	return nil
}

// peek is the view of a case this batch may not hold the lock of (a merged
// case's primary), as Service.refresh reads it; nil when there is none.
func (a *Applier) peek(ctx context.Context, id string) (*Case, error) {
	if a.slots[id] != nil || a.locked[id] {
		return a.view(ctx, id)
	}
	c, err := a.tx.LoadCase(ctx, id)
	if fault.KindOf(err) == fault.NotFound {
		return nil, nil
	}
	return c, err
}

// dependents are the cases merged into primaryID: the stored ones, as the
// batch's views now say, and those this batch merged.
func (a *Applier) dependents(ctx context.Context, primaryID string) ([]string, error) {
	stored, err := a.tx.Dependents(ctx, primaryID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, id := range stored {
		if sl := a.slots[id]; sl == nil || sl.stale || sl.c.PrimaryCaseID == primaryID {
			out = append(out, id)
		}
	}
	for id, sl := range a.slots {
		if !sl.stale && id != primaryID && sl.c.PrimaryCaseID == primaryID && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Flush writes what the batch's applied events changed: the events in the
// log, what is published, and the views of the cases they belong to. A
// case without a new event has the view it had.
func (a *Applier) Flush(ctx context.Context) error {
	if len(a.log) == 0 {
		return nil
	}
	var ids []string
	for _, e := range a.log {
		ids = append(ids, e.CaseID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	cases := make([]*Case, len(ids))
	for i, id := range ids {
		c, err := a.view(ctx, id)
		if err != nil {
			return err
		}
		cases[i] = c
	}
	if err := a.tx.SaveBatch(ctx, a.log, a.out, cases); err != nil {
		return fmt.Errorf("save batch: %w", err)
	}
	return nil
}
