package postgres_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// TestCallbackViewIsItsLogsProjection (issue 17): RecordCallback projects
// the case from the log it read under the case's lock plus what it
// appended, instead of reading the log a second time; the case it answers
// and the view it stores must still be exactly the projection of the log
// as stored — for each outcome of a callback, a duplicate's bad callback
// (which reopens its primary) included.
func TestCallbackViewIsItsLogsProjection(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	replied := func() kase {
		k := e.receive(typesv1.Source_SOURCE_HOTLINE, false)
		e.classify(k, "")
		e.work(k, 0, false)
		return k
	}
	check := func(name, id string, got *feedback.Case) {
		t.Helper()
		var stored []feedback.Event
		if err := e.store.InTx(ctx, func(tx feedback.Tx) (err error) { stored, err = tx.Events(ctx, id); return err }); err != nil {
			t.Fatal(err)
		}
		want := feedback.Project(id, stored)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: the answered case is not its log's projection (-log +answered):\n%s", name, d)
		}
		if d := cmp.Diff(want, e.state(id)); d != "" {
			t.Errorf("%s: the stored view is not its log's projection (-log +stored):\n%s", name, d)
		}
	}
	for _, tc := range []struct {
		name            string
		reached, solved bool
		s               eventsv1.Satisfaction
		state           feedback.State
	}{
		{"unreached", false, false, 0, feedback.Replied},
		{"satisfied", true, true, eventsv1.Satisfaction_SATISFACTION_SATISFIED, feedback.Closed},
		{"unsatisfied", true, true, eventsv1.Satisfaction_SATISFACTION_UNSATISFIED, feedback.Dispatched},
	} {
		k := replied()
		c, err := e.callback(k.id, tc.reached, tc.solved, tc.s)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.State != tc.state {
			t.Errorf("%s: %s, want %s", tc.name, c.State, tc.state)
		}
		check(tc.name, k.id, c)
	}

	// A duplicate's bad callback reopens its primary, whose log it is not.
	primary := e.receive(typesv1.Source_SOURCE_HOTLINE, false)
	e.classify(primary, "")
	dup := e.duplicate(primary, e.clock.Now())
	e.work(primary, 0, false)
	c, err := e.callback(dup.id, true, false, eventsv1.Satisfaction_SATISFACTION_UNSATISFIED)
	if err != nil {
		t.Fatal(err)
	}
	check("duplicate", dup.id, c)
	if p := e.state(primary.id); p.Round != 1 {
		t.Errorf("primary after its duplicate's bad callback: %s round %d, want round 1", p.State, p.Round)
	}
}
