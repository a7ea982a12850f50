package feedback

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/reference"
)

// randomFact is one of the facts that change a case's view, with values
// drawn from small sets so that sequences collide (the same task, round,
// version) as real ones do.
func randomFact(r *rand.Rand, at time.Time) Fact {
	task := func() TaskSnapshot {
		return TaskSnapshot{ID: fmt.Sprintf("t%d", r.IntN(3)), Department: fmt.Sprintf("d%d", r.IntN(3)),
			Role: []string{RoleLead, RoleCoHandler}[r.IntN(2)], Round: r.IntN(3),
			State:  []string{TaskStateDispatched, TaskStateAcknowledged, TaskStateCompleted, TaskStateRejected, TaskStateWithdrawn}[r.IntN(5)],
			Review: []string{"", ReviewNotRequired, ReviewPending, ReviewApproved}[r.IntN(4)], AckDue: at.Add(time.Hour),
			CompleteDue: at.Add(time.Duration(r.IntN(48)) * time.Hour), Overdue: r.IntN(5) == 0}
	}
	round := r.IntN(3)
	switch r.IntN(22) {
	case 0:
		f := &CaseReceived{Number: "GF-1", HotlineOrderNo: "H1", Source: []Source{Hotline, Patrol}[r.IntN(2)],
			Area: Area{District: "310106", Street: "310106022"}, Urgency: reference.Urgency("routine"), Title: "t", PlaceKey: "p",
			NoCallback: r.IntN(3) == 0, ReceivedAt: at, Answered: r.IntN(8) == 0, Worker: "w1"}
		if r.IntN(4) == 0 {
			f.SelfDisposal = &SelfDisposal{Note: "done", Photos: []string{"a"}}
		}
		return f
	case 1:
		return &CaseClassified{Version: r.IntN(4) + 1, ItemCode: fmt.Sprintf("i%d", r.IntN(3)), ItemName: "n", IncidentID: "inc",
			PrimaryCaseID: []string{"", "c", "p"}[r.IntN(3)], Urgency: reference.Urgency([]string{"", "urgent"}[r.IntN(2)]), Source: Hotline, ReceivedAt: at}
	case 2:
		return &CaseReviewNeeded{}
	case 3:
		return &IncidentGrouped{IncidentID: "inc2", PrimaryCaseID: "p"}
	case 4:
		return &CaseFollowedUp{ID: "fu", Withdraw: r.IntN(3) == 0}
	case 5:
		return &CaseCancelled{Reason: "x"}
	case 6:
		return &CaseParked{Reason: "y"}
	case 7:
		return &CaseUnparked{}
	case 8:
		return &CaseExcluded{Reason: "z"}
	case 9:
		return &CaseResolved{Round: round, LeadTaskID: "t0"}
	case 10:
		return &CaseReplied{Reply: Reply{ID: fmt.Sprintf("r%d", round), Round: round, Text: "ok", At: at}, CallbackDue: at.Add(72 * time.Hour)}
	case 11:
		return &CaseCallbackRecorded{Callback: Callback{ID: fmt.Sprintf("cb%d", r.IntN(100)), Round: round, Reached: r.IntN(2) == 0, At: at},
			RetryAt: at.Add(time.Duration(r.IntN(2)) * time.Hour)}
	case 12:
		return &CaseCallbackRetryDue{Round: round}
	case 13:
		return &CaseRechecked{Round: round}
	case 14:
		return &CaseReopened{Round: round + 1, Reason: "unsatisfied"}
	case 15:
		return &CaseClosed{Round: round, Reason: "callback"}
	case 16:
		return &CaseWithdrawn{Round: round}
	case 17:
		return &TaskDispatched{TaskSnapshot: task()}
	case 18:
		return &TaskAcknowledged{TaskSnapshot: task()}
	case 19:
		return &TaskCompleted{TaskSnapshot: task(), Result: "fixed", Evidence: []string{"e"}}
	case 20:
		return &TaskExtensionDecided{TaskSnapshot: task(), Granted: r.IntN(2) == 0}
	default:
		return &TaskCompletionReturned{TaskSnapshot: task()}
	}
}

// storeAndLoad is a view as the store keeps it and reads it back (JSON).
func storeAndLoad(t *testing.T, c *Case) *Case {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	back := &Case{}
	if err := json.Unmarshal(b, back); err != nil {
		t.Fatal(err)
	}
	return back
}

// TestApplyMatchesProject replays random event sequences two ways — each
// event applied to the stored view of those before it, as the Applier does
// when the event is no older than the view, and the whole log projected
// again — and requires the same view at every step, as stored. Sequences
// run backwards in time now and then: those events take the full replay.
func TestApplyMatchesProject(t *testing.T) {
	t.Parallel()
	for seed := range uint64(400) {
		r := rand.New(rand.NewPCG(seed, 17))
		at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		var log []Event
		view := Project("c", nil)
		incremental := 0
		for i := range 5 + r.IntN(30) {
			switch r.IntN(6) {
			case 0: // out of order
				at = at.Add(-time.Duration(r.IntN(90)) * time.Minute)
			case 1: // same instant
			default:
				at = at.Add(time.Duration(r.IntN(90)) * time.Minute)
			}
			e := Event{ID: fmt.Sprint(i), Seq: int64(i + 1), CaseID: "c", At: at, Fact: randomFact(r, at)}
			if r.IntN(4) == 0 {
				e.CaseNumber, e.Area = "GF-2", Area{District: "310107"}
			}
			log = append(log, e)
			view = storeAndLoad(t, view)
			if e.At.Before(view.UpdatedAt) {
				view = Project("c", log)
			} else {
				incremental++
				view.apply(&e)
				view.State = view.derive()
			}
			want, err := json.Marshal(storeAndLoad(t, Project("c", log)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(storeAndLoad(t, view))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("seed %d, after event %d (%T at %s): applied view differs from the replay (-replay +applied):\n%s",
					seed, i, e.Fact, e.At, cmp.Diff(string(want), string(got)))
			}
		}
		if incremental == 0 {
			t.Fatalf("seed %d: no event applied to the stored view", seed)
		}
	}
}
