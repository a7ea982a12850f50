package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/auth"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Every flag gridctl can check itself is checked before anything is
// dialled, and the error names the flag (or the argument) and says what
// it takes. The commands point at a port nothing listens on: a value that
// slipped through would fail with Unavailable instead.
func TestFlagErrors(t *testing.T) {
	t.Setenv("GRIDFLOW_RUN_DIR", t.TempDir())
	t.Setenv("GRIDFLOW_TOKEN", "")
	order := filepath.Join(t.TempDir(), "order.json")
	if err := os.WriteFile(order, []byte(`{"workOrder": {"title": 12}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	const task = "0194f5c0-0000-7000-8000-00000000000a"
	const number = "GF-20260302-000001"
	for _, tc := range []struct {
		args []string
		want []string // all in the error
	}{
		// route explain
		{[]string{"route", "explain", "--item", "06022", "--appeal-type", "gripe"}, []string{`--appeal-type "gripe"`, "complaint"}},
		{[]string{"dispatch", "route", "explain", "--source", "fax"}, []string{`--source "fax"`, "hotline, patrol or secretary"}},
		{[]string{"route", "explain", "--urgency", "high"}, []string{`--urgency "high"`, "normal, urgent or emergency"}},
		{[]string{"route", "explain", "--urgency", "unspecified"}, []string{`--urgency "unspecified"`}},
		{[]string{"route", "explain", "--received", "yesterday"}, []string{"--received", `"yesterday"`}},
		{[]string{"route", "explain", "--case", "GF-2026-1"}, []string{"--case", `"GF-2026-1" is not a case number`}},
		{[]string{"route", "explain", "--case", number, "--street", "310106022"}, []string{"[case street]"}},
		{[]string{"reference", "history", "--limit", "0"}, []string{"--limit must be positive"}},
		// task list and actions
		{[]string{"dispatch", "task", "list", "--state", "open"}, []string{`--state "open"`, "dispatched, acknowledged, rejected"}},
		{[]string{"dispatch", "task", "list", "--state", "dispatched,unspecified"}, []string{`--state "unspecified"`}},
		{[]string{"dispatch", "task", "list", "--case", "GF-1"}, []string{"--case", "GF-<yyyymmdd>-<at least 6 digits>"}},
		{[]string{"dispatch", "task", "ack", task, "--eta", "soon"}, []string{"--eta", `"soon"`}},
		{[]string{"dispatch", "task", "ack"}, []string{"accepts 1 arg(s), received 0"}},
		{[]string{"dispatch", "task", "reject", task}, []string{`--reason ""`, "not_my_area, not_my_duty, unclear_ownership or other"}},
		{[]string{"dispatch", "task", "reject", task, "--reason", "lazy"}, []string{`--reason "lazy"`}},
		{[]string{"dispatch", "task", "reject", task, "--reason", "unspecified"}, []string{`--reason "unspecified"`}},
		{[]string{"dispatch", "task", "extend", task}, []string{`required flag(s) "due", "reason" not set`}},
		{[]string{"dispatch", "task", "extend", task, "--due", "next week", "--reason", "r"}, []string{"--due", `"next week"`}},
		{[]string{"dispatch", "task", "complete", task}, []string{`required flag(s) "result" not set`}},
		{[]string{"dispatch", "task", "decide-extension", task}, []string{"exactly one of --grant, --deny"}},
		{[]string{"dispatch", "task", "decide-extension", task, "--grant", "--deny"}, []string{"exactly one of --grant, --deny"}},
		{[]string{"dispatch", "task", "decide-extension", task, "--grant", "--due", "friday"}, []string{"--due", `"friday"`}},
		{[]string{"dispatch", "task", "decide-extension", task, "--deny", "--due", "2026-04-01T10:00:00+08:00"}, []string{"--due goes with --grant"}},
		{[]string{"dispatch", "queue", "--as", "boss"}, []string{"--as", `unknown role "boss"`}},
		{[]string{"dispatch", "task", "list", "--as", "department"}, []string{"--as", "needs a subject"}},
		// dead letters: refused before anything is dialled
		{[]string{"dlq", "show", "x"}, []string{`sequence "x"`, "positive integer"}},
		{[]string{"dlq", "show", "0"}, []string{`sequence "0"`}},
		{[]string{"dlq", "list", "--durable", "classify"}, []string{`--durable "classify"`, "classify-cases"}},
		{[]string{"dlq", "list", "--last", "-1"}, []string{"--last -1", "must not be negative"}},
		{[]string{"dlq", "replay"}, []string{"sequence numbers", "--durable NAME --all"}},
		{[]string{"dlq", "replay", "3", "--all", "--durable", "classify-cases"}, []string{"--all", "not both"}},
		{[]string{"dlq", "replay", "--all"}, []string{"--all", "needs --durable"}},
		// feedback
		{[]string{"case", "show", "GF-x"}, []string{`"GF-x" is not a case number`}},
		{[]string{"case", "wait", number, "--state", "done"}, []string{`--state "done"`, "received, review_needed, classified, dispatched"}},
		{[]string{"case", "wait", number, "--state", "unspecified"}, []string{`--state "unspecified"`}},
		{[]string{"case", "wait", number}, []string{"--state is required"}},
		{[]string{"case", "timeline", "GF-20260302-1"}, []string{"is not a case number"}},
		{[]string{"callback", "record"}, []string{`required flag(s) "case" not set`}},
		{[]string{"callback", "record", "--case", "GF-1"}, []string{"--case", "is not a case number"}},
		{[]string{"callback", "record", "--case", number, "--satisfaction", "meh"}, []string{`--satisfaction "meh"`, "satisfied, basic or unsatisfied"}},
		{[]string{"callback", "record", "--case", number, "--satisfaction", "unspecified"}, []string{`--satisfaction "unspecified"`}},
		{[]string{"export", "metrics", "--scope", "street"}, []string{"--from and --to are required"}},
		{[]string{"export", "metrics", "--from", "March", "--to", "2026-04-01"}, []string{`--from "March"`, "YYYY-MM-DD"}},
		{[]string{"export", "metrics", "--from", "2026-03-01", "--to", "2026-13-01"}, []string{`--to "2026-13-01"`}},
		{[]string{"export", "metrics", "--from", "2026-03-01", "--to", "2026-04-01", "--scope", "planet"}, []string{`--scope "planet"`}},
		{[]string{"export", "metrics", "--from", "2026-03-01", "--to", "2026-04-01", "--scope", ""}, []string{`--scope ""`}},
		{[]string{"export", "cases", "--from", "1 March"}, []string{`--from "1 March"`}},
		// classify
		{[]string{"export", "corrections", "--label", "both"}, []string{`--label "both"`, "item or first-level"}},
		{[]string{"export", "corrections", "--after", "today"}, []string{"--after", `"today"`}},
		{[]string{"catalogue", "list", "--tree", "forest"}, []string{`--tree "forest"`, "urban or hotline"}},
		{[]string{"review", "resolve", number, "06022", "--urgency", "high"}, []string{`--urgency "high"`}},
		{[]string{"review", "resolve", "GF-x", "06022"}, []string{`"GF-x" is not a case number`}},
		{[]string{"classify", "reclassify", number, "06022", "--urgency", "urgentest"}, []string{`--urgency "urgentest"`}},
		{[]string{"classify", "show", "GF-123"}, []string{`"GF-123" is not a case number`}},
		{[]string{"incident", "list", "--min-reports", "-1"}, []string{`invalid argument "-1" for "--min-reports"`}},
		// intake
		{[]string{"submit", "work-order"}, []string{`required flag(s) "file" not set`}},
		{[]string{"submit", "work-order", "--file", filepath.Join(t.TempDir(), "missing.json")}, []string{"missing.json"}},
		{[]string{"submit", "work-order", "--file", order}, []string{order + ": not a SubmitWorkOrderRequest in protojson"}},
		{[]string{"submission", "show", "GF-20260302"}, []string{`"GF-20260302" is not a case number`}},
		{[]string{"submission", "show", "order no 1"}, []string{`"order no 1" is not a case reference`}},
		// auth
		{[]string{"auth", "issue"}, []string{`required flag(s) "role" not set`}},
		{[]string{"auth", "issue", "--role", "boss"}, []string{"--role boss", `unknown role "boss"`}},
		{[]string{"auth", "issue", "--role", "dispatcher"}, []string{"--subject", "needs a subject"}},
		{[]string{"auth", "issue", "--role", "admin", "--subject", "x"}, []string{"--subject", "takes no subject"}},
		// global
		{[]string{"--timeout", "soon", "context"}, []string{`invalid argument "soon" for "--timeout"`}},
		{[]string{"events", "tail", "--last", "many"}, []string{`invalid argument "many" for "--last"`}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{"--addr", "127.0.0.1:1", "--token", "t", "--timeout", "5s"}, tc.args...)
			out, _, err := gridctl(t, args...)
			if err == nil {
				t.Fatalf("gridctl %v succeeded:\n%s", tc.args, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("gridctl %v: error %q, want it to contain %q", tc.args, err, w)
				}
			}
			if strings.Contains(err.Error(), "Unavailable") {
				t.Errorf("gridctl %v dialled before checking its flags: %v", tc.args, err)
			}
		})
	}
}

// The names gridctl takes for enums are the proto names without their
// prefix, in lower case, "-" for "_"; "" is "not given"; the zero value's
// name "unspecified" is no name.
func TestEnumNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		want eventsv1.TaskState
		ok   bool
	}{
		{"", eventsv1.TaskState_TASK_STATE_UNSPECIFIED, true},
		{"dispatched", eventsv1.TaskState_TASK_STATE_DISPATCHED, true},
		{"extension_requested", eventsv1.TaskState_TASK_STATE_EXTENSION_REQUESTED, true},
		{"extension-requested", eventsv1.TaskState_TASK_STATE_EXTENSION_REQUESTED, true},
		{"Completed", eventsv1.TaskState_TASK_STATE_COMPLETED, true},
		{"unspecified", 0, false},
		{"UNSPECIFIED", 0, false},
		{"open", 0, false},
		{"TASK_STATE_DISPATCHED", 0, false},
	} {
		got, ok := enumValue[eventsv1.TaskState](eventsv1.TaskState_value, "TASK_STATE_", tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("enumValue(%q) = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	// Every name printed is a name taken back.
	for v, full := range eventsv1.TaskState_name {
		if v == 0 {
			continue
		}
		name := enumName(full, "TASK_STATE_")
		if got, ok := enumValue[eventsv1.TaskState](eventsv1.TaskState_value, "TASK_STATE_", name); !ok || int32(got) != v {
			t.Errorf("enumName(%s) = %q reads back as %v, %v", full, name, got, ok)
		}
	}
	if got, want := enumNames(feedbackv1.Scope_value, "SCOPE_"), "department, street, district, grid, city"; got != want {
		t.Errorf("enumNames(Scope) = %q, want %q", got, want)
	}
	for _, tc := range []struct {
		in   string
		want typesv1.Urgency
		err  bool
	}{
		{"", typesv1.Urgency_URGENCY_UNSPECIFIED, false},
		{"normal", typesv1.Urgency_URGENCY_NORMAL, false},
		{"URGENT", typesv1.Urgency_URGENCY_URGENT, false},
		{"emergency", typesv1.Urgency_URGENCY_EMERGENCY, false},
		{"unspecified", 0, true},
		{"high", 0, true},
	} {
		got, err := urgencyFlag(tc.in)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("urgencyFlag(%q) = %v, %v", tc.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), "--urgency") {
			t.Errorf("urgencyFlag(%q) error %q does not name the flag", tc.in, err)
		}
	}
	if got := urgencyName(typesv1.Urgency_URGENCY_EMERGENCY); got != "emergency" {
		t.Errorf("urgencyName = %q", got)
	}
}

// A refusal is shown with its code, message and one line per field
// violation, so a person sees every field and reason the service named.
func TestExplain(t *testing.T) {
	t.Parallel()
	withDetails := func(code codes.Code, msg string, details ...protoadapt.MessageV1) error {
		st, err := status.New(code, msg).WithDetails(details...)
		if err != nil {
			t.Fatal(err)
		}
		return st.Err()
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"field violations", withDetails(codes.InvalidArgument, "invalid request", &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "work_order.title", Description: "is required"}, {Field: "work_order.caller_phone", Description: "is not a phone number"}}}),
			"InvalidArgument: invalid request\n  work_order.title: is required\n  work_order.caller_phone: is not a phone number"},
		{"existing resource", withDetails(codes.AlreadyExists, "request id r1 was already used",
			&errdetails.ResourceInfo{ResourceName: "cases/0194f5c0-0000-7000-8000-000000000001"}),
			"AlreadyExists: request id r1 was already used\n  existing: cases/0194f5c0-0000-7000-8000-000000000001"},
		{"missing resource", withDetails(codes.NotFound, "no task", &errdetails.ResourceInfo{ResourceName: "tasks/x"}),
			"NotFound: no task\n  resource: tasks/x"},
		{"rate limited", withDetails(codes.ResourceExhausted, "rate limit for patrol:w-0017 (2/s, burst 30) exceeded: retry in 500ms",
			&errdetails.RetryInfo{RetryDelay: durationpb.New(500 * time.Millisecond)}),
			"ResourceExhausted: rate limit for patrol:w-0017 (2/s, burst 30) exceeded: retry in 500ms\n  retry in: 500ms"},
		{"plain status", status.Error(codes.PermissionDenied, "department:a may not see task t"), "PermissionDenied: department:a may not see task t"},
		{"not a status", os.ErrNotExist, os.ErrNotExist.Error()},
	} {
		if got := explain(tc.err).Error(); got != tc.want {
			t.Errorf("%s: explain = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// lines splits output into lines with runs of blanks made one space, so
// tests read what a person reads, not the column widths.
func lines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		out = append(out, strings.Join(strings.Fields(l), " "))
	}
	return out
}

func ts(s string) *timestamppb.Timestamp {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err)
	}
	return timestamppb.New(t)
}

func deadline(due, warn string) *eventsv1.Deadline {
	return &eventsv1.Deadline{Due: ts(due), WarnAt: ts(warn), Limit: "2 working_hours", Source: "urgency normal"}
}

// Tables and listings: what each command prints for a response, times in
// Shanghai, enums by their names, "-" for what is not there.
func TestOutput(t *testing.T) {
	t.Parallel()
	task := &dispatchv1.Task{TaskId: "T1", CaseNumber: "GF-20260302-000001", DepartmentCode: "310106022-pcs",
		Role: eventsv1.TaskRole_TASK_ROLE_LEAD, State: eventsv1.TaskState_TASK_STATE_EXTENSION_REQUESTED, Warned: true, Supervised: true,
		Deadlines: &eventsv1.Deadlines{Ack: deadline("2026-03-02 12:00", "2026-03-02 11:36"), Complete: deadline("2026-03-23 10:00", "2026-03-18 10:00")}}
	bare := &dispatchv1.Task{TaskId: "T2", DepartmentCode: "310106022-cgzd", Role: eventsv1.TaskRole_TASK_ROLE_CO_HANDLER,
		State: eventsv1.TaskState_TASK_STATE_DISPATCHED}
	rejection := &dispatchv1.Rejection{DepartmentCode: "310106022-pcs", Reason: eventsv1.RejectReason_REJECT_REASON_NOT_MY_DUTY}
	for _, tc := range []struct {
		name  string
		print func(w *bytes.Buffer) error
		want  []string
	}{
		{"task list", func(w *bytes.Buffer) error { return printTasks(w, []*dispatchv1.Task{task, bare}) }, []string{
			"TASK CASE DEPARTMENT ROLE STATE FLAGS ACK DUE COMPLETE DUE",
			"T1 GF-20260302-000001 310106022-pcs lead extension_requested warned,supervised 2026-03-02 12:00 2026-03-23 10:00",
			"T2 310106022-cgzd co_handler dispatched - - -",
		}},
		{"empty task list", func(w *bytes.Buffer) error { return printTasks(w, nil) }, []string{
			"TASK CASE DEPARTMENT ROLE STATE FLAGS ACK DUE COMPLETE DUE",
		}},
		{"task action", func(w *bytes.Buffer) error { _, err := w.WriteString(taskLine(task) + "\n"); return err }, []string{
			"task T1 310106022-pcs: extension_requested (complete by 2026-03-23 10:00)",
		}},
		{"task reject, re-decided", func(w *bytes.Buffer) error {
			printRejected(w, &dispatchv1.RejectTaskResponse{Task: task, Outcome: dispatchv1.RejectOutcome_REJECT_OUTCOME_REDECIDED,
				NewTask: &dispatchv1.Task{TaskId: "T3", DepartmentCode: "310106021-pcs"}})
			return nil
		}, []string{"task T1 rejected: redecided → task T3 for 310106021-pcs"}},
		{"task reject, queued", func(w *bytes.Buffer) error {
			printRejected(w, &dispatchv1.RejectTaskResponse{Task: task, Outcome: dispatchv1.RejectOutcome_REJECT_OUTCOME_QUEUED})
			return nil
		}, []string{"task T1 rejected: queued"}},
		{"queue", func(w *bytes.Buffer) error {
			return printQueue(w, []*dispatchv1.QueueEntry{{CaseId: "C1", CaseNumber: "GF-20260302-000001",
				Reason: dispatchv1.QueueReason_QUEUE_REASON_REJECTED, Since: ts("2026-03-02 10:05"), ItemCode: "H04001", Detail: "not_my_duty: 不属本单位"}})
		}, []string{"CASE NUMBER REASON SINCE ITEM DETAIL", "C1 GF-20260302-000001 rejected 2026-03-02 10:05 H04001 not_my_duty: 不属本单位"}},
		{"arbitration", func(w *bytes.Buffer) error {
			return printArbitrations(w, []*dispatchv1.Arbitration{{CaseId: "C1", CaseNumber: "GF-20260302-000001", ItemCode: "H04001",
				OpenedAt: ts("2026-03-02 11:00"), Rejections: []*dispatchv1.Rejection{rejection,
					{DepartmentCode: "310106022-cgzd", Reason: eventsv1.RejectReason_REJECT_REASON_UNCLEAR_OWNERSHIP}}}})
		}, []string{"CASE NUMBER ITEM OPENED REJECTED BY",
			"C1 GF-20260302-000001 H04001 2026-03-02 11:00 310106022-pcs (not_my_duty), 310106022-cgzd (unclear_ownership)"}},
		{"route explain", func(w *bytes.Buffer) error {
			printDecision(w, &dispatchv1.SimulateRouteResponse{
				Lead:       &dispatchv1.Assignment{DepartmentCode: "310106022-cgzd", DepartmentName: "芷江西路街道城管中队", Rule: "street-order"},
				CoHandlers: []*dispatchv1.Assignment{{DepartmentCode: "310106022-scjgs", DepartmentName: "市场监管所", Rule: "whistle"}},
				Urgency:    typesv1.Urgency_URGENCY_URGENT,
				Deadlines:  &eventsv1.Deadlines{Ack: deadline("2026-03-02 12:00", "2026-03-02 11:36")},
				Path: []*eventsv1.RouteStep{{Rule: "street-order", Line: 40, Why: "item 06022", Fired: true},
					{Rule: "district-fallback", Why: "not reached"}},
				ReferenceDigest: "sha256:abc"})
			return nil
		}, []string{
			"lead: 310106022-cgzd 芷江西路街道城管中队 (rule street-order)",
			"co-handler: 310106022-scjgs 市场监管所 (rule whistle)",
			"urgency: urgent",
			"acknowledge: 2026-03-02 12:00 (2 working_hours, urgency normal; warning 2026-03-02 11:36)",
			"path:",
			"fired street-order (rules.yaml:40): item 06022",
			"passed district-fallback: not reached",
			"reference: sha256:abc",
		}},
		{"case show", func(w *bytes.Buffer) error {
			printCase(w, &feedbackv1.Case{CaseId: "C1", CaseNumber: "GF-20260302-000001", State: feedbackv1.CaseState_CASE_STATE_IN_PROGRESS,
				ItemCode: "06022", ItemName: "露天烧烤", LeadDepartmentCode: "310106022-cgzd", Round: 1, ReceivedAt: ts("2026-03-02 10:00"),
				CompleteDue: ts("2026-03-09 10:00"), Tasks: []*feedbackv1.Task{{TaskId: "T1", DepartmentCode: "310106022-cgzd", Role: "lead",
					State: "acknowledged", Round: 1}}})
			return nil
		}, []string{
			"GF-20260302-000001 in_progress C1",
			"item 06022 露天烧烤 lead 310106022-cgzd round 1 excluded false",
			"received 2026-03-02 10:00 complete due 2026-03-09 10:00 callback due -",
			"task T1 310106022-cgzd lead acknowledged round 1",
		}},
		{"case timeline", func(w *bytes.Buffer) error {
			printTimeline(w, &feedbackv1.GetCaseTimelineResponse{CaseId: "C1", CaseNumber: "GF-20260302-000001", Entries: []*feedbackv1.TimelineEntry{
				{Type: "case.classified", OccurredAt: ts("2026-03-02 10:00"), Actor: &typesv1.Principal{Role: "system", Subject: "classify"},
					Summary: "06022 露天烧烤", ModelVersion: "nb-1"},
				{Type: "task.dispatched", OccurredAt: ts("2026-03-02 10:01"), Actor: &typesv1.Principal{Role: "system", Subject: "dispatch"},
					Summary: "to 310106022-cgzd", Rule: "street-order"}}})
			return nil
		}, []string{
			"GF-20260302-000001 C1",
			"2026-03-02 10:00 case.classified system:classify 06022 露天烧烤 model nb-1",
			"2026-03-02 10:01 task.dispatched system:dispatch to 310106022-cgzd rule street-order",
		}},
		{"case timeline names a principal without a subject as it is written", func(w *bytes.Buffer) error {
			printTimeline(w, &feedbackv1.GetCaseTimelineResponse{CaseId: "C1", CaseNumber: "GF-20260302-000001", Entries: []*feedbackv1.TimelineEntry{
				{Type: "case.callback_recorded", OccurredAt: ts("2026-03-05 10:00"), Actor: &typesv1.Principal{Role: "hotline"},
					Summary: "satisfied"}}})
			return nil
		}, []string{
			"GF-20260302-000001 C1",
			"2026-03-05 10:00 case.callback_recorded hotline satisfied",
		}},
		{"submission show", func(w *bytes.Buffer) error {
			printSubmission(w, &intakev1.Submission{CaseId: "C1", CaseNumber: "GF-20260302-000001", Source: typesv1.Source_SOURCE_HOTLINE,
				AcceptedAt: ts("2026-03-02 10:00"), Area: &typesv1.Area{DistrictCode: "310106", StreetCode: "310106022", CommunityCode: "0",
					GridCode: "0", Resolution: typesv1.AreaResolution_AREA_RESOLUTION_CODES},
				WorkOrder: &intakev1.WorkOrder{HotlineOrderNo: "DEMO-0001", AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT,
					Urgency: typesv1.Urgency_URGENCY_NORMAL, Title: "露天烧烤", Content: "晚上有人烧烤", Address: "共和新路1001号"},
				Notes: []string{"地址已规范化"}})
			return nil
		}, []string{
			"case GF-20260302-000001 (C1)",
			"source hotline",
			"accepted 2026-03-02 10:00:00 CST",
			"area district 310106 street 310106022 community 0 grid 0 (codes)",
			"order DEMO-0001 (complaint, normal)",
			"title 露天烧烤",
			"content 晚上有人烧烤",
			"address 共和新路1001号",
			"note 地址已规范化",
		}},
		{"classification", func(w *bytes.Buffer) error {
			return printClassification(w, &classifyv1.Classification{Version: 2, ItemCode: "06022", ItemName: "露天烧烤",
				Urgency: typesv1.Urgency_URGENCY_URGENT, Method: eventsv1.ClassificationMethod_CLASSIFICATION_METHOD_MODEL, Confidence: 0.912,
				ModelVersion: "nb-1", IncidentId: "I1", IncidentReports: 3, PrimaryCaseId: "C0", Labels: []string{"夜间"}, Reason: "top choice",
				Dispatchable: true}, false)
		}, []string{
			"v2 06022 露天烧烤 urgent model conf 0.91 model nb-1 incident I1 (3 reports, primary C0) 夜间",
			"top choice",
		}},
		{"duplicate classification", func(w *bytes.Buffer) error {
			return printClassification(w, &classifyv1.Classification{Version: 1, ItemCode: "06022", Urgency: typesv1.Urgency_URGENCY_NORMAL,
				Method: eventsv1.ClassificationMethod_CLASSIFICATION_METHOD_MODEL, Unreviewed: true}, false)
		}, []string{"v1 06022 normal model conf 0.00 model not dispatchable, unreviewed", ""}},
		{"review", func(w *bytes.Buffer) error {
			printReview(w, &classifyv1.Review{CaseId: "C1", CaseNumber: "GF-20260302-000001", State: classifyv1.ReviewState_REVIEW_STATE_WAITING,
				QueuedAt: ts("2026-03-02 10:00"), FallbackAt: ts("2026-03-02 10:30"), Title: "噪声", Content: "楼上\n每天晚上" + strings.Repeat("吵", 100),
				Choices: []*eventsv1.ReviewChoice{{ItemCode: "H04001", ItemName: "噪声扰民", Confidence: 0.41}, {ItemCode: "06010", ItemName: "施工噪声", Confidence: 0.3}}})
			return nil
		}, []string{
			"C1 GF-20260302-000001 queued 2026-03-02 10:00:00 CST fallback 2026-03-02 10:30:00 CST [waiting]",
			"噪声 楼上 每天晚上" + strings.Repeat("吵", 70) + "…", // 80 characters of the text on one line
			"choices: H04001 噪声扰民 0.41; 06010 施工噪声 0.30",
		}},
		{"reference history", func(w *bytes.Buffer) error {
			return printReloads(w, []*typesv1.ReferenceReload{
				{Time: ts("2026-03-02 11:00"), Service: "dispatch", By: "SIGHUP", Digest: "sha256:0123456789abcdef0123", PreviousDigest: "sha256:0123456789abcdef0123",
					Outcome: typesv1.ReferenceReloadOutcome_REFERENCE_RELOAD_OUTCOME_FAILED, Instance: "h1:42",
					Error: "reference: 1 problem\n  rules.yaml:30: rule kw: lead 310106-xfzd lacks power"},
				{Time: ts("2026-03-02 10:00"), Service: "intake", By: "start", Digest: "sha256:0123456789abcdef0123",
					Outcome: typesv1.ReferenceReloadOutcome_REFERENCE_RELOAD_OUTCOME_STARTED, Instance: "h1:41"},
			})
		}, []string{"TIME SERVICE BY OUTCOME DIGEST PREVIOUS INSTANCE ERROR",
			"2026-03-02 11:00 dispatch SIGHUP failed sha256:0123456789ab sha256:0123456789ab h1:42 reference: 1 problem",
			"2026-03-02 10:00 intake start started sha256:0123456789ab - h1:41"}},
		{"incident", func(w *bytes.Buffer) error {
			return printIncident(w, &classifyv1.Incident{IncidentId: "I1", ItemCode: "06022", ItemName: "露天烧烤", Reports: 3,
				Urgency: typesv1.Urgency_URGENCY_URGENT, UrgencyRaised: true, Open: true, PlaceKey: "共和新路|1001",
				FirstReportedAt: ts("2026-03-02 10:00"), LastReportedAt: ts("2026-03-02 11:00"), CaseIds: []string{"C1", "C2", "C3"},
				SourcePlaceId: "P1", LinkedIncidentIds: []string{"I0"}}, false)
		}, []string{
			`I1 06022 露天烧烤 3 reports urgent (raised) open at "共和新路|1001" 2026-03-02 10:00:00 CST … 2026-03-02 11:00:00 CST`,
			"cases: C1 C2 C3",
			"source place P1, linked: I0",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.print(&b); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, lines(b.String())); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s\n%s", diff, b.String())
			}
		})
	}
}

// export cases and export metrics write CSV a spreadsheet reads back.
func TestExportCSV(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(caseColumns)
	_ = w.Write(caseRow(&feedbackv1.Case{CaseId: "C1", CaseNumber: "GF-20260302-000001", HotlineOrderNo: "DEMO,0001",
		State: feedbackv1.CaseState_CASE_STATE_CLOSED, Source: typesv1.Source_SOURCE_HOTLINE,
		Area: &typesv1.Area{DistrictCode: "310106", StreetCode: "310106022", GridCode: "310106022001001"}, ItemCode: "06022",
		ItemName: "露天\"烧烤\"", LeadDepartmentCode: "310106022-cgzd", Round: 2, Excluded: true, ReceivedAt: ts("2026-03-02 10:00")}))
	w.Flush()
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{caseColumns, {"C1", "GF-20260302-000001", "DEMO,0001", "closed", "hotline", "310106", "310106022", "310106022001001",
		"06022", `露天"烧烤"`, "310106022-cgzd", "2", "true", "2026-03-02T02:00:00Z", ""}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("export cases mismatch (-want +got):\n%s", diff)
	}

	m := metricsRows("department", "310106022-cgzd", &feedbackv1.Metrics{Cases: 12, ExcludedCases: 1, ValidCallbacks: 10,
		ResponseRate: 0.9, ResolutionRate: 2.0 / 3, SatisfactionRate: 0.75, Score: 91.25, Grade: "A",
		TimeToSignFor:  &feedbackv1.DurationStats{Average: durationpb.New(90*time.Minute + 400*time.Millisecond), P90: durationpb.New(3 * time.Hour)},
		TimeToComplete: &feedbackv1.DurationStats{Count: 0}})
	got := map[string]string{}
	for i, r := range m {
		if len(r) != 2 {
			t.Fatalf("row %d = %v, want name,value", i, r)
		}
		got[r[0]] = r[1]
	}
	for k, v := range map[string]string{"name": "value", "scope": "department", "code": "310106022-cgzd", "cases": "12", "excluded_cases": "1",
		"response_rate": "0.9000", "resolution_rate": "0.6667", "satisfaction_rate": "0.7500", "score": "91.2500", "grade": "A",
		"time_to_sign_for_avg": "1h30m0s", "time_to_sign_for_p90": "3h0m0s", "time_to_complete_avg": "0s"} {
		if got[k] != v {
			t.Errorf("metrics %s = %q, want %q", k, got[k], v)
		}
	}
	if m[0][0] != "name" || len(got) != len(m) {
		t.Errorf("metrics rows: header first, each name once: %v", m)
	}
}

// --json prints the response as protojson: proto field names in
// lowerCamelCase, enums by their full names, read back to the same message.
func TestJSONOutput(t *testing.T) {
	t.Parallel()
	in := &dispatchv1.ListTasksResponse{Tasks: []*dispatchv1.Task{{TaskId: "T1", DepartmentCode: "310106022-pcs",
		State: eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED, Deadlines: &eventsv1.Deadlines{Ack: deadline("2026-03-02 12:00", "2026-03-02 11:36")}}},
		NextPageToken: "tok"}
	var b bytes.Buffer
	if err := printProto(&b, in); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"taskId": "T1"`, `"departmentCode": "310106022-pcs"`, `"state": "TASK_STATE_ACKNOWLEDGED"`,
		`"due": "2026-03-02T04:00:00Z"`, `"nextPageToken": "tok"`} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("--json output lacks %s:\n%s", w, b.String())
		}
	}
	out := &dispatchv1.ListTasksResponse{}
	if err := protojson.Unmarshal(b.Bytes(), out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out, protocmp.Transform()); diff != "" {
		t.Errorf("--json does not read back (-want +got):\n%s", diff)
	}
}

// auth keygen makes the development key pair once; auth issue prints, on
// its last line, a token that key signs for the principal asked for.
func TestAuthCommands(t *testing.T) {
	t.Parallel()
	keys := filepath.Join(t.TempDir(), "keys")
	if _, _, err := gridctl(t, "--key-dir", keys, "auth", "issue", "--role", "hotline"); err == nil ||
		!strings.Contains(err.Error(), "gridctl auth keygen") {
		t.Errorf("issue without a key = %v, want it to say to run auth keygen", err)
	}
	for _, want := range []string{"created key pair in " + keys, "kept existing key pair in " + keys} {
		out, _, err := gridctl(t, "--key-dir", keys, "auth", "keygen")
		if err != nil || !strings.HasPrefix(out, want) {
			t.Errorf("auth keygen = %q, %v; want %q", out, err, want)
		}
	}
	pub, err := auth.LoadPublicKey(filepath.Join(keys, auth.PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want auth.Principal
	}{
		{[]string{"--role", "hotline"}, auth.Principal{Role: auth.RoleHotline}},
		{[]string{"--role", "department", "--subject", "310106022-pcs", "--ttl", "2h"}, auth.Principal{Role: auth.RoleDepartment, Subject: "310106022-pcs"}},
		{[]string{"--role", "patrol", "--subject", "w-0017"}, auth.Principal{Role: auth.RolePatrol, Subject: "w-0017"}},
	} {
		out, stderr, err := gridctl(t, append([]string{"--key-dir", keys, "auth", "issue"}, tc.args...)...)
		if err != nil {
			t.Fatalf("auth issue %v: %v", tc.args, err)
		}
		l := lines(out)
		got, err := auth.NewVerifier(pub).Verify(l[len(l)-1])
		if err != nil || got != tc.want {
			t.Errorf("auth issue %v: token for %v, %v; want %v", tc.args, got, err, tc.want)
		}
		if !strings.HasPrefix(stderr, "token for "+tc.want.String()+", valid ") {
			t.Errorf("auth issue %v: stderr %q", tc.args, stderr)
		}
	}
}
