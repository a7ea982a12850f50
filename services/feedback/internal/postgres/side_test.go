package postgres

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTaskRowsWrittenWhenTheyChange: a case's figure_tasks rows are written
// one by one, only those that changed, and a task the view no longer has
// loses its row alone; only a case whose stored rows are not known has
// them all removed first (issue 17).
func TestTaskRowsWrittenWhenTheyChange(t *testing.T) {
	a := figureTask{id: "t-a", dept: "d1", received: 1}
	b := figureTask{id: "t-b", dept: "d2", received: 1}
	bSigned := b
	bSigned.sign, bSigned.hasSign = 5, true
	c := figureTask{id: "t-c", dept: "d3", received: 1}
	for _, tc := range []struct {
		name     string
		was      *sideRows
		now      []figureTask
		write    []caseTask
		allGone  []string
		rowsGone []caseTask
	}{
		{name: "nothing changed", was: &sideRows{tasks: []figureTask{a, b}}, now: []figureTask{a, b}},
		{name: "one task signed for", was: &sideRows{tasks: []figureTask{a, b}}, now: []figureTask{a, bSigned},
			write: []caseTask{{"case-1", bSigned}}},
		{name: "a task added", was: &sideRows{tasks: []figureTask{a}}, now: []figureTask{a, c},
			write: []caseTask{{"case-1", c}}},
		{name: "a task gone", was: &sideRows{tasks: []figureTask{a, b}}, now: []figureTask{b},
			rowsGone: []caseTask{{"case-1", a}}},
		{name: "first stored", was: &sideRows{}, now: []figureTask{a},
			write: []caseTask{{"case-1", a}}},
		{name: "stored rows not known", now: []figureTask{a, b},
			write: []caseTask{{"case-1", a}, {"case-1", b}}, allGone: []string{"case-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w sideWrites
			w.addTasks("case-1", tc.now, tc.was)
			opt := cmp.AllowUnexported(caseTask{}, figureTask{})
			if d := cmp.Diff(tc.write, w.tasks, opt); d != "" {
				t.Errorf("rows written (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.allGone, w.tasksGone); d != "" {
				t.Errorf("cases whose rows all go (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.rowsGone, w.taskRowsGone, opt); d != "" {
				t.Errorf("rows that go (-want +got):\n%s", d)
			}
		})
	}
}
