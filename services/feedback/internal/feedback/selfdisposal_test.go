package feedback

import (
	"testing"
	"time"
)

// Self-disposal (issue 20): a self-disposed patrol case waits for its check
// in a state of its own, whatever order its events come in; confirmed
// closes it, sent back puts it into the loop like any patrol case.
func TestSelfDisposalStates(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	received := Event{At: t0, Seq: 1, Fact: &CaseReceived{Number: "N", Source: Patrol, Worker: "w-1", ReceivedAt: t0,
		SelfDisposal: &SelfDisposal{Note: "已处置", Photos: []string{"p.jpg"}}}}
	classified := Event{At: t0.Add(time.Minute), Seq: 2, Fact: &CaseClassified{Version: 1, ItemCode: "09006"}}
	checked := func(v Verdict) Event {
		return Event{At: t0.Add(2 * time.Minute), Seq: 3, Actor: "gridleader:310106022001001", Fact: &CaseSelfDisposalChecked{Verdict: v}}
	}
	closed := Event{At: t0.Add(2 * time.Minute), Seq: 4, Fact: &CaseClosed{Reason: CloseSelfDisposalConfirmed}}
	dispatched := Event{At: t0.Add(3 * time.Minute), Seq: 5, Fact: &TaskDispatched{TaskSnapshot: TaskSnapshot{ID: "t1",
		Department: "d", Role: RoleLead, State: TaskStateDispatched}}}
	tests := []struct {
		name string
		evs  []Event
		want State
	}{
		{"received", []Event{received}, SelfDisposed},
		{"classified first", []Event{classified, received}, SelfDisposed},
		{"confirmed", []Event{received, classified, checked(VerdictConfirmed), closed}, Closed},
		{"sent back", []Event{received, classified, checked(VerdictSentBack)}, Classified},
		{"sent back, dispatched", []Event{received, classified, checked(VerdictSentBack), dispatched}, Dispatched},
		{"not self-disposed", []Event{{At: t0, Fact: &CaseReceived{Source: Patrol}}, classified}, Classified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Project("c1", tt.evs)
			if c.State != tt.want {
				t.Errorf("state %s, want %s", c.State, tt.want)
			}
		})
	}
	c := Project("c1", []Event{received, checked(VerdictSentBack), checked(VerdictConfirmed)})
	if sd := c.SelfDisposal; sd.Verdict != VerdictSentBack || sd.CheckedBy != "gridleader:310106022001001" || sd.Note != "已处置" {
		t.Errorf("the first check stands: %+v", sd)
	}
}

func TestCheckInputValidate(t *testing.T) {
	t.Parallel()
	ok := CheckInput{RequestID: "r", CaseID: "0190a0e0-0000-7000-8000-000000000000", Verdict: VerdictConfirmed}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid: %v", err)
	}
	for _, bad := range []CheckInput{
		{RequestID: "r", CaseID: ok.CaseID},
		{RequestID: "r", CaseID: ok.CaseID, Verdict: VerdictSentBack},
		{RequestID: "r", CaseID: "x", Verdict: VerdictConfirmed},
		{CaseID: ok.CaseID, Verdict: VerdictConfirmed},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
