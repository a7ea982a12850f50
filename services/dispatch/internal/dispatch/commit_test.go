package dispatch

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gridflow/gridflow/pkg/reference"
)

// Commit hands the store everything it writes, finished: the changed task,
// its clock timer at the next point, and the events as the encoder made
// them, in order.
func TestCommitFinishesAnOperation(t *testing.T) {
	t.Parallel()
	recv := at("2026-03-02 10:00")
	c := NewCase("case-1", recv)
	var encoded []Event
	env := &Env{Now: recv, Actor: SystemActor, Ref: refSet, Policy: DefaultPolicy(), NewID: func() string { return "task-1" },
		Encode: func(evs []Event) ([]Message, error) {
			encoded = append(encoded, evs...)
			out := make([]Message, len(evs))
			for i, e := range evs {
				out[i] = Message{ID: "ev-" + eventName(e), Subject: eventName(e)}
			}
			return out, nil
		}}
	c.Received(env, "GF-20260302-000001", noiseFacts(recv, zj))
	c.Classified(env, "GF-20260302-000001", class(1, "H04001", reference.Normal, recv, zj))
	cm, err := env.Commit(c)
	if err != nil {
		t.Fatal(err)
	}
	if cm.Case != c || len(cm.Tasks) != 1 || cm.Tasks[0].ID != "task-1" {
		t.Fatalf("commit case %p (want %p), tasks %+v", cm.Case, c, cm.Tasks)
	}
	wantTimers := []TimerOp{{Kind: TimerTaskClock, Key: "task-1", At: at("2026-03-02 11:36")}}
	if diff := cmp.Diff(wantTimers, cm.Timers); diff != "" {
		t.Errorf("timers mismatch (-want +got):\n%s", diff)
	}
	wantMsgs := []Message{{ID: "ev-task.dispatched", Subject: "task.dispatched"}}
	if diff := cmp.Diff(wantMsgs, cm.Messages); diff != "" {
		t.Errorf("messages mismatch (-want +got):\n%s", diff)
	}
	// The tracking is reset: a second commit has nothing to write but the case.
	again, err := env.Commit(c)
	if err != nil || len(again.Tasks) != 0 || len(again.Timers) != 0 || len(again.Messages) != 0 || len(encoded) != 1 {
		t.Fatalf("second commit %+v, %v (encoded %d events)", again, err, len(encoded))
	}
}

// An encoder's failure fails the operation; events without an encoder are
// a wiring mistake, never silently dropped.
func TestCommitFailsWithoutItsEvents(t *testing.T) {
	t.Parallel()
	recv := at("2026-03-02 10:00")
	bad := errors.New("no payload")
	for name, enc := range map[string]Encoder{
		"encoder fails": func([]Event) ([]Message, error) { return nil, bad },
		"no encoder":    nil,
	} {
		t.Run(name, func(t *testing.T) {
			c := NewCase("case-1", recv)
			env := &Env{Now: recv, Actor: SystemActor, Ref: refSet, Policy: DefaultPolicy(), NewID: func() string { return "task-1" }, Encode: enc}
			c.Received(env, "N", noiseFacts(recv, zj))
			c.Classified(env, "N", class(1, "H04001", reference.Normal, recv, zj))
			if cm, err := env.Commit(c); err == nil {
				t.Fatalf("commit %+v, want an error", cm)
			} else if enc != nil && !errors.Is(err, bad) {
				t.Fatalf("error %v, want %v", err, bad)
			}
		})
	}
}
