package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"

	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// traced is newEnv with a service whose store counts what it sends.
func traced(t *testing.T) (*env, *testenv.Wire) {
	t.Helper()
	e := newEnv(t)
	pool, wire := testenv.TracedPool(t, e.pool)
	e.serve(pool)
	return e, wire
}

// replied is a hotline case worked and replied to, waiting for its callback.
func (e *env) replied() kase {
	k := e.receive(typesv1.Source_SOURCE_HOTLINE, false)
	e.classify(k, "")
	e.work(k, 0, false)
	return k
}

// A caller's request on a case is two round trips (issue 17: a callback
// took ten): the request's lock and look-up, the case's lock, view and
// merged cases with BEGIN; the writes, the outcome and COMMIT. A repeat and
// a refusal stop after the first and roll back.
func TestCommandsTakeTwoRoundTrips(t *testing.T) {
	e, wire := traced(t)
	ctx := context.Background()
	trips := func(what string, want int, f func()) {
		t.Helper()
		alone0, _ := wire.Sent()
		n := wire.Trips()
		f()
		alone, _ := wire.Sent()
		if got := wire.Trips() - n; got != want {
			t.Errorf("%s: %d round trips, want %d (sent alone: %q)", what, got, want, alone[len(alone0):])
		}
	}
	k := e.replied()
	unreached := feedback.CallbackInput{RequestID: uuid.NewString(), CaseID: k.id, Note: "无人接听"}
	var first string
	trips("an unreached callback", 2, func() {
		c, id, err := e.svc.RecordCallback(ctx, everything, "hotline", unreached)
		if err != nil || c.State != feedback.Replied || len(c.Callbacks) != 1 {
			t.Fatalf("unreached callback: %v, %+v", err, c)
		}
		first = id
	})
	trips("its repeat", 2, func() { // BEGIN's batch, then ROLLBACK
		if _, id, err := e.svc.RecordCallback(ctx, everything, "hotline", unreached); err != nil || id != first {
			t.Fatalf("repeat: %q, %v; want %q", id, err, first)
		}
	})
	trips("a callback that closes the case", 2, func() {
		c, _, err := e.svc.RecordCallback(ctx, everything, "hotline", feedback.CallbackInput{RequestID: uuid.NewString(), CaseID: k.id,
			Reached: true, ContactedByUnit: true, Solved: true, Satisfaction: feedback.Satisfied})
		if err != nil || c.State != feedback.Closed {
			t.Fatalf("closing callback: %v, %+v", err, c)
		}
	})
	trips("a callback on a closed case", 2, func() {
		_, _, err := e.svc.RecordCallback(ctx, everything, "hotline", feedback.CallbackInput{RequestID: uuid.NewString(), CaseID: k.id, Note: "再次回访"})
		if err == nil || !strings.Contains(err.Error(), "needs a replied case") {
			t.Fatalf("callback on a closed case: %v", err)
		}
	})
	if got := e.state(k.id); len(got.Callbacks) != 2 || got.State != feedback.Closed {
		t.Fatalf("stored: %d callbacks, %s", len(got.Callbacks), got.State)
	}
}

// A command's writes wait for its COMMIT, yet whatever it reads after one
// sees it: the held writes go first. And a held write that fails takes the
// COMMIT with it: nothing of the command is stored.
func TestCommandHeldWrites(t *testing.T) {
	e, wire := traced(t)
	ctx := context.Background()
	k := e.replied()
	req := feedback.Request{Principal: "hotline", ID: uuid.NewString(), Method: "RecordCallback", Content: "held"}
	err := e.store.Command(ctx, req, k.id, func(tx feedback.Tx) error {
		if _, found, err := tx.BeginRequest(ctx, req); err != nil || found {
			t.Fatalf("begin: %v, found %v", err, found)
		}
		if err := tx.SaveRequest(ctx, req, "cases/"+k.id+"/callbacks/cb-1", "cb-1"); err != nil {
			t.Fatal(err)
		}
		n := wire.Trips()
		// Asked again, the request is read from the database, after the
		// held outcome: a twin's view.
		outcome, found, err := tx.BeginRequest(ctx, req)
		if err != nil || !found || outcome != "cb-1" {
			t.Fatalf("read after a held write: %q, %v, %v", outcome, found, err)
		}
		if got := wire.Trips() - n; got != 2 { // the held write with Begin's lock, then its look-up
			t.Errorf("read after a held write: %d round trips, want 2", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	again := feedback.Request{Principal: "hotline", ID: uuid.NewString(), Method: "RecordCallback", Content: "failing"}
	err = e.store.Command(ctx, again, k.id, func(tx feedback.Tx) error {
		if err := tx.SaveRequest(ctx, again, "cases/"+k.id+"/callbacks/cb-2", "cb-2"); err != nil {
			return err
		}
		return tx.SaveRequest(ctx, again, "cases/"+k.id+"/callbacks/cb-3", "cb-3") // the same key twice: the insert fails
	})
	if err == nil {
		t.Fatal("a failing held write committed")
	}
	err = e.store.InTx(ctx, func(tx feedback.Tx) error {
		if _, found, err := tx.BeginRequest(ctx, req); err != nil || !found {
			t.Errorf("the first command's outcome: found %v, %v", found, err)
		}
		if _, found, err := tx.BeginRequest(ctx, again); err != nil || found {
			t.Errorf("the failed command's outcome: found %v, %v", found, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A consumed batch is two round trips too (issue 17: it was five): BEGIN,
// the cases' locks, their views and which of the events are logged; then the
// log's new rows, the views, the outbox's messages and COMMIT.
func TestConsumedBatchTakesTwoRoundTrips(t *testing.T) {
	e, wire := traced(t)
	var held [][]byte
	e.held = &held
	k, other := e.receive(typesv1.Source_SOURCE_HOTLINE, false), e.receive(typesv1.Source_SOURCE_PATROL, false)
	e.classify(k, "")
	e.classify(other, "")
	n := wire.Trips()
	alone0, _ := wire.Sent()
	e.handleBatch(held)
	if got := wire.Trips() - n; got != 2 {
		alone, _ := wire.Sent()
		t.Errorf("a batch of four events of two cases: %d round trips, want 2 (sent alone: %q)", got, alone[len(alone0):])
	}
	for _, c := range []kase{k, other} {
		if got := e.state(c.id); got.ItemCode != "09006" {
			t.Errorf("case %s after the batch: item %q, want 09006", c.id, got.ItemCode)
		}
	}
}
