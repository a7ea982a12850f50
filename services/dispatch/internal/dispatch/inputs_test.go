package dispatch

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/services/dispatch/internal/routing"
)

func violated(err error) []string {
	var f *fault.Error
	if !errors.As(err, &f) {
		return nil
	}
	var out []string
	for _, v := range f.Violations {
		out = append(out, v.Field)
	}
	return out
}

// Each request validates itself: every field it can judge alone, all
// violations at once, InvalidArgument naming each field.
func TestInputsValidateThemselves(t *testing.T) {
	t.Parallel()
	const id = "0190d5a8-0000-7000-8000-000000000001"
	due := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   interface{ Validate() error }
		want []string // fields violated; nil: valid
	}{
		{"ack", AckInput{RequestID: "r", TaskID: id}, nil},
		{"ack without ids", AckInput{Note: "bad \xff"}, []string{"request_id", "task_id", "note"}},
		{"ack with a request id too long", AckInput{RequestID: strings.Repeat("x", MaxRequestID+1), TaskID: id}, []string{"request_id"}},
		{"reject not my area", RejectInput{RequestID: "r", TaskID: id, Reason: NotMyArea, Area: "310106021"}, nil},
		{"reject without a reason", RejectInput{RequestID: "r", TaskID: id}, []string{"reason"}},
		{"reject other without a note", RejectInput{RequestID: "r", TaskID: id, Reason: OtherReason}, []string{"note"}},
		{"reject naming an area for another reason", RejectInput{RequestID: "r", TaskID: id, Reason: NotMyDuty, Area: "310106021"}, []string{"area_code"}},
		{"reject with an unknown reason", RejectInput{RequestID: "r", TaskID: id, Reason: "tired"}, []string{"reason"}},
		{"forward without a department", ForwardInput{RequestID: "r", TaskID: "not-a-uuid"}, []string{"task_id", "department_code"}},
		{"extension", ExtensionInput{RequestID: "r", TaskID: id, Due: due, Reason: "需联系业主"}, nil},
		{"extension without due or reason", ExtensionInput{RequestID: "r", TaskID: id}, []string{"new_due", "reason"}},
		{"progress on site needs no text", ProgressInput{RequestID: "r", TaskID: id, OnSite: true}, nil},
		{"progress needs a text", ProgressInput{RequestID: "r", TaskID: id}, []string{"text"}},
		{"complete with bad evidence", CompleteInput{RequestID: "r", TaskID: id, Result: "ok", Evidence: []string{"s3://a", " "}}, []string{"evidence[1]"}},
		{"complete without a result", CompleteInput{RequestID: "r", TaskID: id}, []string{"result"}},
		{"reassign the lead", ReassignInput{RequestID: "r", CaseID: id, Department: "x"}, nil},
		{"reassign a bad task", ReassignInput{RequestID: "r", CaseID: id, TaskID: "t", Department: "x"}, []string{"task_id"}},
		{"deny with a due time", DecideExtensionInput{RequestID: "r", TaskID: id, Due: due}, []string{"new_due"}},
		{"return without a note", ReviewInput{RequestID: "r", TaskID: id}, []string{"note"}},
		{"approve without a note", ReviewInput{RequestID: "r", TaskID: id, Approve: true}, nil},
		{"supervise without a note", SuperviseInput{RequestID: "r", TaskID: id}, []string{"note"}},
		{"arbitrate without a department", ArbitrateInput{RequestID: "r", CaseID: id}, []string{"department_code"}},
		{"simulate nothing", SimulateInput{}, []string{"subject"}},
		{"simulate facts", SimulateInput{Facts: &routing.Case{Text: "噪声"}}, nil},
		{"simulate a bad case id", SimulateInput{CaseID: "x"}, []string{"case_id"}},
		{"cancel without a reason", CancelInput{RequestID: "r", CaseID: id}, []string{"reason"}},
		{"park without a date", ParkInput{RequestID: "r", CaseID: id, Reason: "x", ReviewDate: "2026-3-1"}, []string{"review_date"}},
		{"park", ParkInput{RequestID: "r", CaseID: id, Reason: "x", ReviewDate: "2026-04-01"}, nil},
		{"unpark without a note", UnparkInput{RequestID: "r", CaseID: id}, nil},
		{"exclude without a reason", ExcludeInput{RequestID: "r", CaseID: id}, []string{"reason"}},
		{"list tasks with a negative page", TaskFilter{PageSize: -1, CaseID: "x"}, []string{"page_size", "case_id"}},
		{"list cases", CaseFilter{PageSize: 1000}, nil},
		{"watch from a bad cursor", WatchInput{Cursor: "abc"}, []string{"cursor"}},
		{"watch from the start", WatchInput{Cursor: "0"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.in.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if fault.KindOf(err) != fault.InvalidArgument {
				t.Fatalf("Validate() = %v, want InvalidArgument", err)
			}
			if diff := cmp.Diff(tt.want, violated(err)); diff != "" {
				t.Errorf("violations mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// A stored request's fingerprint is the JSON of its input: the case
// decisions' own types keep the shape CaseInput had.
func TestCaseDecisionsKeepTheirFingerprint(t *testing.T) {
	t.Parallel()
	in := CaseInput{RequestID: "r", CaseID: "c", Reason: "x", ReviewDate: "2026-04-01"}
	want, _ := json.Marshal(in)
	for _, got := range []any{CancelInput(in), ParkInput(in), UnparkInput(in), ExcludeInput(in)} {
		b, _ := json.Marshal(got)
		if string(b) != string(want) {
			t.Errorf("%T marshals to %s, want %s", got, b, want)
		}
	}
}
