package feedback

import (
	"testing"
	"time"
)

// A completed task whose dispatch event never arrived has no known time to
// complete: it must not count as 292 years (zero time to completion).
func TestMeasureSkipsUnknownDispatchTimes(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	cases := []*Case{{Tasks: []*Task{
		{ID: "a", Department: "d", State: TaskStateCompleted, DispatchedAt: at, CompletedAt: at.Add(2 * time.Hour)},
		{ID: "b", Department: "d", State: TaskStateCompleted, CompletedAt: at.Add(3 * time.Hour)}, // dispatch unknown
	}}}
	f := Measure(cases, "", at.Add(24*time.Hour))
	if f.Counts.Handled != 2 {
		t.Errorf("handled = %d, want 2 (both completed)", f.Counts.Handled)
	}
	if f.ToComplete.N != 1 || f.ToComplete.Avg != 2*time.Hour {
		t.Errorf("time to complete = %+v, want one duration of 2h", f.ToComplete)
	}
	facts := cases[0].Facts()
	if facts.Tasks[1].ToComplete != nil {
		t.Errorf("facts for the task without a dispatch time carry a duration %v", *facts.Tasks[1].ToComplete)
	}
}
