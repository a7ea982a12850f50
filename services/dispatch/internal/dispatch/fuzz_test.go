package dispatch

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/dispatch/internal/routing"
)

// The fuzz targets below drive every request's Validate. Their seed corpora
// are in testdata/fuzz/<target> (valid requests and tricky ones); make fuzz
// runs each for FUZZTIME, make test runs the seeds. Each checks the same
// properties (checkInput): no panic; a refusal is InvalidArgument and every
// violation names one of the request's fields with a reason; an accepted
// request is well-formed text throughout and round-trips through its JSON
// (the fingerprint pkg/idempotency stores) to an equal request that is still
// valid.

// fuzzTime turns fuzzed seconds and nanoseconds into a time, the way
// wire.TimeIn would decode any protobuf timestamp.
func fuzzTime(sec int64, nsec int32) time.Time {
	if sec == 0 && nsec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// checkInput checks in's Validate against the properties above; fields are
// the request's field names (a violation of "evidence[3]" names
// "evidence"). Free-text fields are also checked for control characters
// when accepted.
func checkInput[T interface{ Validate() error }](t *testing.T, in T, fields ...string) {
	t.Helper()
	err := in.Validate()
	if err != nil {
		var f *fault.Error
		if !errors.As(err, &f) || f.Kind != fault.InvalidArgument || len(f.Violations) == 0 {
			t.Fatalf("refused with %v (%T), want InvalidArgument with violations", err, err)
		}
		for _, v := range f.Violations {
			name, _, _ := strings.Cut(v.Field, "[")
			if v.Reason == "" || !contains(fields, name) {
				t.Fatalf("violation %+v names no field of the request (%v)", v, fields)
			}
		}
		return
	}
	wellFormed(t, reflect.ValueOf(in), "")
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("accepted %+v does not marshal: %v", in, err)
	}
	var back T
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("accepted %+v does not unmarshal from %s: %v", in, b, err)
	}
	if diff := cmp.Diff(in, back); diff != "" {
		t.Fatalf("accepted request does not round-trip (-in +back):\n%s", diff)
	}
	if err := back.Validate(); err != nil {
		t.Fatalf("round-tripped request is refused: %v", err)
	}
}

func contains(fields []string, f string) bool {
	for _, x := range fields {
		if x == f {
			return true
		}
	}
	return false
}

// wellFormed checks every string an accepted request holds is valid UTF-8
// without control characters but line breaks and tabs, and every time lies
// in the window a request may name.
func wellFormed(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			wellFormed(t, v.Elem(), path)
		}
	case reflect.Struct:
		if tm, ok := v.Interface().(time.Time); ok {
			if !tm.IsZero() && (tm.Before(minTime) || !tm.Before(maxTime)) {
				t.Fatalf("accepted %s = %v", path, tm)
			}
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				wellFormed(t, v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			wellFormed(t, v.Index(i), path)
		}
	case reflect.String:
		s := v.String()
		if !utf8.ValidString(s) || strings.ContainsFunc(s, freetext.Control) {
			t.Fatalf("accepted %s = %q", path, s)
		}
	}
}

func FuzzAckInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, requestID, taskID string, etaSec int64, etaNsec int32, note string) {
		in := AckInput{RequestID: requestID, TaskID: taskID, ETA: fuzzTime(etaSec, etaNsec), Note: note}
		checkInput(t, in, "request_id", "task_id", "eta", "note")
		if in.Validate() == nil {
			if _, err := uuid.Parse(in.TaskID); err != nil {
				t.Fatalf("accepted task id %q", in.TaskID)
			}
		}
	})
}

func FuzzRejectInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, requestID, taskID, reason, note, area string) {
		in := RejectInput{RequestID: requestID, TaskID: taskID, Reason: RejectReason(reason), Note: note, Area: area}
		checkInput(t, in, "request_id", "task_id", "reason", "note", "area_code")
		if in.Validate() == nil {
			switch in.Reason {
			case NotMyArea, NotMyDuty, UnclearOwnership, OtherReason:
			default:
				t.Fatalf("accepted reason %q", in.Reason)
			}
			if in.Area != "" && in.Reason != NotMyArea {
				t.Fatalf("accepted area %q for %s", in.Area, in.Reason)
			}
		}
	})
}

func FuzzForwardInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, requestID, taskID, department, note string) {
		in := ForwardInput{RequestID: requestID, TaskID: taskID, Department: department, Note: note}
		checkInput(t, in, "request_id", "task_id", "department_code", "note")
		if in.Validate() == nil && in.Department == "" {
			t.Fatal("accepted without a department")
		}
	})
}

func FuzzExtensionInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, requestID, taskID string, dueSec int64, dueNsec int32, reason string) {
		in := ExtensionInput{RequestID: requestID, TaskID: taskID, Due: fuzzTime(dueSec, dueNsec), Reason: reason}
		checkInput(t, in, "request_id", "task_id", "new_due", "reason")
		if in.Validate() == nil && (in.Due.IsZero() || strings.TrimSpace(in.Reason) == "") {
			t.Fatalf("accepted without a due time or a reason: %+v", in)
		}
	})
}

func FuzzProgressInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, requestID, taskID, text string, onSite bool) {
		in := ProgressInput{RequestID: requestID, TaskID: taskID, Text: text, OnSite: onSite}
		checkInput(t, in, "request_id", "task_id", "text")
		if in.Validate() == nil && !in.OnSite && strings.TrimSpace(in.Text) == "" {
			t.Fatal("accepted progress without a text off site")
		}
	})
}

func FuzzCompleteInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, requestID, taskID, result, evidence string) {
		var ev []string
		if evidence != "" {
			ev = strings.Split(evidence, ",")
		}
		in := CompleteInput{RequestID: requestID, TaskID: taskID, Result: result, Evidence: ev}
		checkInput(t, in, "request_id", "task_id", "result", "evidence")
		if in.Validate() == nil {
			if len(in.Evidence) > MaxEvidence {
				t.Fatalf("accepted %d references", len(in.Evidence))
			}
			for _, e := range in.Evidence {
				if e == "" || len(e) > maxEvidenceID || strings.ContainsAny(e, " \t\r\n") {
					t.Fatalf("accepted evidence %q", e)
				}
			}
		}
	})
}

func FuzzTaskFilter(f *testing.F) {
	f.Fuzz(func(t *testing.T, caseID, caseNumber, orderNo, department string, size int, pageToken string) {
		in := TaskFilter{CaseID: caseID, CaseNumber: caseNumber, HotlineOrderNo: orderNo, Department: department,
			PageSize: size, PageToken: pageToken}
		checkInput(t, in, "page_size", "page_token", "case_id", "case_number", "hotline_order_no", "case", "department_code")
		if in.Validate() == nil {
			if n := pageSize(in.PageSize); n < 1 || n > MaxPageSize {
				t.Fatalf("accepted page size %d pages %d", in.PageSize, n)
			}
		}
	})
}

func FuzzCaseFilter(f *testing.F) {
	f.Fuzz(func(t *testing.T, arbitration bool, pageSize int, pageToken string) {
		in := CaseFilter{Arbitration: arbitration, PageSize: pageSize, PageToken: pageToken}
		checkInput(t, in, "page_size", "page_token")
		if in.Validate() == nil && in.PageSize < 0 {
			t.Fatalf("accepted page size %d", in.PageSize)
		}
	})
}

func FuzzWatchInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, department, cursor string) {
		in := WatchInput{Department: department, Cursor: cursor}
		checkInput(t, in, "department_code", "cursor")
		if in.Validate() == nil {
			n, err := parseCursor(in.Cursor)
			if err != nil {
				t.Fatalf("accepted cursor %q: %v", in.Cursor, err)
			}
			// A cursor this service issues reads back as itself.
			if in.Cursor != "" && strings.TrimLeft(in.Cursor, "0") != "" && strings.TrimLeft(in.Cursor, "0") != uitoa(n) {
				t.Fatalf("cursor %q reads as %d", in.Cursor, n)
			}
		}
	})
}

func uitoa(n uint64) string {
	if n == 0 {
		return ""
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func FuzzReassignInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, requestID, caseID, taskID, department, note string) {
		in := ReassignInput{RequestID: requestID, CaseID: caseID, TaskID: taskID, Department: department, Note: note}
		checkInput(t, in, "request_id", "case_id", "task_id", "department_code", "note")
	})
}

func FuzzDecideExtensionInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, requestID, taskID string, grant bool, dueSec int64, dueNsec int32, note string) {
		in := DecideExtensionInput{RequestID: requestID, TaskID: taskID, Grant: grant, Due: fuzzTime(dueSec, dueNsec), Note: note}
		checkInput(t, in, "request_id", "task_id", "new_due", "note")
		if in.Validate() == nil && !in.Grant && !in.Due.IsZero() {
			t.Fatal("accepted a denial with a due time")
		}
	})
}

func FuzzReviewInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, requestID, taskID string, approve bool, note string) {
		in := ReviewInput{RequestID: requestID, TaskID: taskID, Approve: approve, Note: note}
		checkInput(t, in, "request_id", "task_id", "note")
		if in.Validate() == nil && !in.Approve && strings.TrimSpace(in.Note) == "" {
			t.Fatal("accepted a returned completion without a note")
		}
	})
}

func FuzzSuperviseInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, requestID, taskID, note string) {
		checkInput(t, SuperviseInput{RequestID: requestID, TaskID: taskID, Note: note}, "request_id", "task_id", "note")
	})
}

func FuzzArbitrateInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, requestID, caseID, department, note string) {
		checkInput(t, ArbitrateInput{RequestID: requestID, CaseID: caseID, Department: department, Note: note},
			"request_id", "case_id", "department_code", "note")
	})
}

func FuzzSimulateInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, caseID, caseNumber, orderNo string, withFacts bool, item, street, appealType, source, urgency string,
		receivedSec int64, text, named, redecide string) {
		in := SimulateInput{CaseID: caseID, CaseNumber: caseNumber, HotlineOrderNo: orderNo, Redecide: redecide}
		if withFacts {
			in.Facts = &routing.Case{Item: item, District: "310106", Street: street, AppealType: reference.AppealType(appealType),
				Source: reference.Source(source), Urgency: reference.Urgency(urgency), Received: fuzzTime(receivedSec, 0), Text: text}
			if named != "" {
				in.Facts.Named = strings.Split(named, ",")
			}
		}
		err := in.Validate()
		if err != nil {
			// A malformed case reference is caseref's refusal, also
			// InvalidArgument naming the field.
			if fault.KindOf(err) != fault.InvalidArgument {
				t.Fatalf("refused with %v", err)
			}
		}
		if err == nil {
			if !in.byCase() && in.Facts == nil {
				t.Fatal("accepted with no subject")
			}
			if in.Facts != nil && !in.byCase() {
				// A stored case wins over facts (the API's oneof sends
				// one); facts beside one are not read, nor checked.
				wellFormed(t, reflect.ValueOf(*in.Facts), "facts")
				if !in.Facts.Urgency.Valid() || (in.Facts.AppealType != "" && !in.Facts.AppealType.Valid()) ||
					(in.Facts.Source != "" && !in.Facts.Source.Valid()) {
					t.Fatalf("accepted facts %+v", in.Facts)
				}
			}
		}
	})
}

func FuzzCaseDecisions(f *testing.F) {
	f.Fuzz(func(t *testing.T, requestID, caseID, reason, reviewDate string) {
		// Only ParkCase carries a review date; the other decisions'
		// requests never set one (grpcapi).
		in := CaseInput{RequestID: requestID, CaseID: caseID, Reason: reason}
		checkInput(t, CancelInput(in), "request_id", "case_id", "reason")
		checkInput(t, UnparkInput(in), "request_id", "case_id", "note")
		checkInput(t, ExcludeInput(in), "request_id", "case_id", "reason")
		in.ReviewDate = reviewDate
		checkInput(t, ParkInput(in), "request_id", "case_id", "reason", "review_date")
	})
}
