package dispatch

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridflow/gridflow/pkg/fault"
)

// TestTaskTable checks every action against every state: the transitions of
// DESIGN.md's task table happen, everything else is FAILED_PRECONDITION.
func TestTaskTable(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC) // 10:00 in Shanghai, a Monday
	due := now.Add(48 * time.Hour)
	windowOpen, windowClosed := now.Add(time.Hour), now.Add(-time.Minute)

	// task builds a task in a state, as the state machine leaves it.
	task := func(s TaskState, review ReviewState) *Task {
		tk := &Task{ID: "t", State: s, Review: review, ReviewRequired: review != "",
			Deadlines: Deadlines{Complete: Limit{Due: due}}, AcknowledgedAt: now.Add(-10 * time.Minute)}
		switch s {
		case ExtensionRequested:
			tk.Extension = &Extension{RequestedDue: due.Add(24 * time.Hour)}
			tk.Extensions = 1
		case Completed:
			tk.Completion = &Completion{Result: "done"}
		}
		return tk
	}
	type action struct {
		name Action
		do   func(*Task) error
	}
	actions := []action{
		{ActAcknowledge, func(tk *Task) error { return tk.acknowledge(now, time.Time{}, "") }},
		{ActReject + " (window open)", func(tk *Task) error { return tk.reject(now, Rejection{Reason: NotMyDuty}, windowOpen) }},
		{ActReject + " (window closed)", func(tk *Task) error { return tk.reject(now, Rejection{Reason: NotMyDuty}, windowClosed) }},
		{ActForward, func(tk *Task) error { return tk.forward(now) }},
		{ActRequestExtension, func(tk *Task) error { return tk.requestExtension(now, due.Add(time.Hour), "rain", 1) }},
		{ActDecideExtension + " (grant)", func(tk *Task) error { _, err := tk.decideExtension(now, true, time.Time{}, ""); return err }},
		{ActDecideExtension + " (deny)", func(tk *Task) error { _, err := tk.decideExtension(now, false, time.Time{}, ""); return err }},
		{ActReportProgress, func(tk *Task) error { return tk.reportProgress(now, "on it", false) }},
		{ActComplete, func(tk *Task) error { return tk.complete(now, "fixed", nil) }},
		{ActApprove, func(tk *Task) error { return tk.approve(now, "") }},
		{ActReturn, func(tk *Task) error { return tk.returnCompletion(now, "photo missing") }},
		{ActWithdraw, func(tk *Task) error { return tk.withdraw(now) }},
	}
	type from struct {
		state  TaskState
		review ReviewState
	}
	froms := []from{
		{Dispatched, ""}, {Acknowledged, ""}, {ExtensionRequested, ""}, {Completed, ReviewNotRequired},
		{Completed, ReviewPending}, {Completed, ReviewApproved}, {Rejected, ""}, {Forwarded, ""}, {Withdrawn, ""},
	}
	// want[from][action] is the state after the action; absent: FAILED_PRECONDITION.
	const fail = ""
	want := map[from]map[Action]string{
		{Dispatched, ""}: {
			ActAcknowledge: "acknowledged", ActReject + " (window open)": "rejected", ActReject + " (window closed)": "rejected",
			ActWithdraw: "withdrawn",
		},
		{Acknowledged, ""}: {
			ActReject + " (window open)": "rejected", ActForward: "forwarded", ActRequestExtension: "extension_requested",
			ActReportProgress: "acknowledged", ActComplete: "completed", ActWithdraw: "withdrawn",
		},
		{ExtensionRequested, ""}: {
			ActDecideExtension + " (grant)": "acknowledged", ActDecideExtension + " (deny)": "acknowledged", ActWithdraw: "withdrawn",
		},
		{Completed, ReviewPending}: {
			ActApprove: "completed/approved", ActReturn: "acknowledged",
		},
	}
	for _, f := range froms {
		for _, a := range actions {
			name := fmt.Sprintf("%s/%s/%s", f.state, f.review, a.name)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				tk := task(f.state, f.review)
				err := a.do(tk)
				exp := want[f][a.name]
				if exp == fail {
					if fault.KindOf(err) != fault.FailedPrecondition {
						t.Fatalf("got state %s, err %v; want FAILED_PRECONDITION", tk.State, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				got := string(tk.State)
				if tk.Review == ReviewApproved {
					got += "/approved"
				}
				if diff := cmp.Diff(exp, got); diff != "" {
					t.Errorf("state mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestTaskExtensionRules(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	due := now.Add(48 * time.Hour)
	tests := []struct {
		name     string
		now      time.Time
		newDue   time.Time
		used     int
		wantKind fault.Kind
		ok       bool
	}{
		{"before the due time, first request", now, due.Add(time.Hour), 0, 0, true},
		{"at most once", now, due.Add(time.Hour), 1, fault.FailedPrecondition, false},
		{"not after the due time", due.Add(time.Minute), due.Add(time.Hour), 0, fault.FailedPrecondition, false},
		{"the new due time must be later", now, due.Add(-time.Hour), 0, fault.InvalidArgument, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tk := &Task{ID: "t", State: Acknowledged, Extensions: tt.used, Deadlines: Deadlines{Complete: Limit{Due: due}}}
			err := tk.requestExtension(tt.now, tt.newDue, "rain", 1)
			if tt.ok {
				if err != nil || tk.State != ExtensionRequested || tk.Extensions != tt.used+1 {
					t.Fatalf("got %v, state %s, extensions %d", err, tk.State, tk.Extensions)
				}
				return
			}
			if fault.KindOf(err) != tt.wantKind {
				t.Fatalf("got %v (kind %v), want kind %v", err, fault.KindOf(err), tt.wantKind)
			}
			if tk.State != Acknowledged {
				t.Fatalf("state changed to %s on a refused request", tk.State)
			}
		})
	}
}

func TestCompletionReview(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	tk := &Task{ID: "t", State: Acknowledged, ReviewRequired: true}
	if err := tk.complete(now, "fixed", []string{"s3://photo"}); err != nil {
		t.Fatal(err)
	}
	if tk.Review != ReviewPending {
		t.Fatalf("review %q, want pending", tk.Review)
	}
	if err := tk.returnCompletion(now, "no photo of the result"); err != nil {
		t.Fatal(err)
	}
	if tk.State != Acknowledged || tk.Returns != 1 {
		t.Fatalf("after return: %s, returns %d", tk.State, tk.Returns)
	}
	if err := tk.complete(now, "fixed, photo attached", nil); err != nil {
		t.Fatal(err)
	}
	if err := tk.approve(now, "ok"); err != nil {
		t.Fatal(err)
	}
	if tk.Review != ReviewApproved {
		t.Fatalf("review %q, want approved", tk.Review)
	}
	plain := &Task{ID: "p", State: Acknowledged}
	_ = plain.complete(now, "done", nil)
	if plain.Review != ReviewNotRequired {
		t.Fatalf("review %q, want not_required", plain.Review)
	}
	if err := plain.approve(now, ""); fault.KindOf(err) != fault.FailedPrecondition {
		t.Fatalf("approving a completion without review: %v", err)
	}
}
