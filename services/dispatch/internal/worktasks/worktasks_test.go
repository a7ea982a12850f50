package worktasks

import (
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
)

func TestLight(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	task := Task{State: Open, OpenedAt: t0, WarnAt: t0.Add(8 * time.Hour), DueAt: t0.Add(10 * time.Hour)}
	for _, tc := range []struct {
		at   time.Duration
		st   State
		want string
	}{
		{time.Hour, Open, "green"}, {8 * time.Hour, Open, "yellow"}, {10 * time.Hour, Open, "yellow"},
		{11 * time.Hour, Open, "red"}, {11 * time.Hour, Done, ""}, {time.Hour, Missed, ""},
	} {
		task.State = tc.st
		if got := task.Light(t0.Add(tc.at)); got != tc.want {
			t.Errorf("%s task at +%v: light %q, want %q", tc.st, tc.at, got, tc.want)
		}
	}
}

func TestInterval(t *testing.T) {
	t.Parallel()
	sh, _ := time.LoadLocation("Asia/Shanghai")
	jan31 := time.Date(2026, 1, 31, 10, 0, 0, 0, sh)
	if got, want := (Config{}).Interval(jan31, 3, sh), time.Date(2026, 5, 1, 10, 0, 0, 0, sh); !got.Equal(want) {
		t.Errorf("a quarter after 31 Jan: %v, want %v (calendar months, normalised)", got, want)
	}
	if got, want := (Config{Month: time.Second}).Interval(jan31, 3, sh), jan31.Add(3*time.Second); !got.Equal(want) {
		t.Errorf("three test months: %v, want %v", got, want)
	}
}

func TestInspectionInputValidate(t *testing.T) {
	t.Parallel()
	ok := InspectionInput{RequestID: "r1", TaskID: "01900000-0000-7000-8000-000000000001", Outcome: OutcomeOK}
	for _, tc := range []struct {
		name  string
		edit  func(*InspectionInput)
		field string
	}{
		{"ok", func(*InspectionInput) {}, ""},
		{"no request id", func(in *InspectionInput) { in.RequestID = "" }, "request_id"},
		{"bad task id", func(in *InspectionInput) { in.TaskID = "x" }, "task_id"},
		{"no outcome", func(in *InspectionInput) { in.Outcome = "" }, "outcome"},
		{"long note", func(in *InspectionInput) { in.Note = strings.Repeat("查", MaxNoteBytes) }, "note"},
		{"control in note", func(in *InspectionInput) { in.Note = "a\x00b" }, "note"},
		{"bad case id", func(in *InspectionInput) { in.Outcome, in.CaseID = OutcomeFinding, "GF-1" }, "case_id"},
		{"case id on ok", func(in *InspectionInput) { in.CaseID = "01900000-0000-7000-8000-000000000002" }, "case_id"},
		{"finding with case", func(in *InspectionInput) {
			in.Outcome, in.CaseID = OutcomeFinding, "01900000-0000-7000-8000-000000000002"
		}, ""},
	} {
		in := ok
		tc.edit(&in)
		err := in.Validate()
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		var f *fault.Error
		if !asFault(err, &f) || f.Kind != fault.InvalidArgument || len(f.Violations) == 0 || f.Violations[0].Field != tc.field {
			t.Errorf("%s: %v, want INVALID_ARGUMENT on %s", tc.name, err, tc.field)
		}
	}
}

func asFault(err error, f **fault.Error) bool {
	e, ok := err.(*fault.Error)
	*f = e
	return ok
}
