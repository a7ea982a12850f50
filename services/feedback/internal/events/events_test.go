package events_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/services/feedback/internal/events"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

func factName(f feedback.Fact) string { return reflect.TypeOf(f).Elem().Name() }

// TestDecodeEveryPayload walks every payload of the envelope's oneof:
// feedback consumes them all (grid.case.>, grid.incident.>, grid.task.>),
// so each must decode into the fact of the payload's name, named as its
// field. Every fact type the domain declares comes from a payload, but for
// the local retry note. A payload or a fact added without the other fails
// here.
func TestDecodeEveryPayload(t *testing.T) {
	t.Parallel()
	produced := []string{"CaseCallbackRetryDue"}
	for _, f := range envelope.Payloads(&eventsv1.Envelope{}) {
		env := envelope.New(&eventsv1.Envelope{}, f).(*eventsv1.Envelope)
		env.EventId, env.CaseId = "e1", "c1"
		b, err := proto.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		// Early warning (issue 20): feedback's own warnings, on
		// grid.warning.>, are refused as case events.
		if events.IsWarning(env) {
			if _, err := events.Decode(b); err == nil {
				t.Errorf("%s decodes as a case event", f.Name())
			}
			continue
		}
		e, err := events.Decode(b)
		if err != nil {
			t.Errorf("%s: %v", f.Name(), err)
			continue
		}
		if e.Fact == nil {
			t.Errorf("%s decodes to no fact", f.Name())
			continue
		}
		if got, want := factName(e.Fact), string(f.Message().Name()); got != want {
			t.Errorf("%s decodes to %s, want %s", f.Name(), got, want)
		}
		if e.Type != envelope.FieldName(f) || e.Summary == "" {
			t.Errorf("%s: type %q, summary %q", f.Name(), e.Type, e.Summary)
		}
		produced = append(produced, factName(e.Fact))
	}
	slices.Sort(produced)
	produced = slices.Compact(produced)
	if diff := cmp.Diff(declaredFacts(t), produced); diff != "" {
		t.Errorf("declared facts vs facts decoded from payloads mismatch (-declared +decoded):\n%s", diff)
	}
}

// declaredFacts lists the types package feedback gives an apply method (or
// that embed TaskSnapshot, which has one), sorted.
func declaredFacts(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "feedback", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil && d.Name.Name == "apply" {
					if star, ok := d.Recv.List[0].Type.(*ast.StarExpr); ok {
						if id, ok := star.X.(*ast.Ident); ok && id.Name != "Case" && id.Name != "TaskSnapshot" {
							out = append(out, id.Name)
						}
					}
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					ts, ok := s.(*ast.TypeSpec)
					if !ok {
						continue
					}
					if st, ok := ts.Type.(*ast.StructType); ok {
						for _, fl := range st.Fields.List {
							if id, ok := fl.Type.(*ast.Ident); ok && len(fl.Names) == 0 && id.Name == "TaskSnapshot" {
								out = append(out, ts.Name.Name)
							}
						}
					}
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

var (
	t0 = time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Hour)
)

const caseID = "0195a3c0-0000-7000-8000-000000000001"

// wrap builds a delivered envelope around a payload, at at.
func wrap(t *testing.T, at time.Time, payload proto.Message) []byte {
	t.Helper()
	env := &eventsv1.Envelope{EventId: "e-" + at.Format("150405.000"), CaseId: caseID, OccurredAt: timestamppb.New(at),
		Actor: &typesv1.Principal{Role: "system", Subject: "test"}, Version: 1}
	if e, ok := payload.(*eventsv1.Envelope); ok {
		env.Payload = e.Payload
	}
	m := env.ProtoReflect()
	for _, f := range envelope.Payloads(env) {
		if env.GetPayload() != nil {
			break
		}
		if f.Message().FullName() == payload.ProtoReflect().Descriptor().FullName() {
			m.Set(f, protoreflect.ValueOfMessage(payload.ProtoReflect()))
			break
		}
	}
	if env.GetPayload() == nil {
		t.Fatalf("no payload field for %T", payload)
	}
	b, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var area = &typesv1.Area{DistrictCode: "310106", StreetCode: "310106022", CommunityCode: "310106022001", GridCode: "310106022001001"}

func taskRef(state eventsv1.TaskState) *eventsv1.TaskRef {
	return &eventsv1.TaskRef{TaskId: "task-1", CaseId: caseID, CaseNumber: "GF-20260302-000001", DepartmentCode: "310106022-cgzd",
		Role: eventsv1.TaskRole_TASK_ROLE_LEAD, State: state, DistrictCode: "310106", StreetCode: "310106022", Round: 0,
		Deadlines: &eventsv1.Deadlines{Ack: &eventsv1.Deadline{Due: timestamppb.New(t0.Add(2 * time.Hour))},
			Complete: &eventsv1.Deadline{Due: timestamppb.New(t0.Add(72 * time.Hour))}},
		Overdue: true, Review: eventsv1.ReviewState_REVIEW_STATE_NOT_REQUIRED}
}

func dispatchRef() *eventsv1.DispatchCaseRef {
	return &eventsv1.DispatchCaseRef{CaseId: caseID, CaseNumber: "GF-20260302-000001", Area: area}
}

func feedbackRef(round uint32) *eventsv1.FeedbackCaseRef {
	return &eventsv1.FeedbackCaseRef{CaseId: caseID, CaseNumber: "GF-20260302-000001", Area: area, Source: typesv1.Source_SOURCE_HOTLINE,
		HotlineOrderNo: "HL-1", Round: round}
}

// TestDecodeAppliesTheRightChange decodes one envelope of every payload and
// projects it onto a case that has already seen the events before it: the
// view must change exactly as the event says, no more.
func TestDecodeAppliesTheRightChange(t *testing.T) {
	t.Parallel()
	received := &eventsv1.CaseReceived{CaseId: caseID, CaseNumber: "GF-20260302-000001", Source: typesv1.Source_SOURCE_HOTLINE,
		ReceivedAt: timestamppb.New(t0), AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT, Title: "占道经营",
		Urgency: typesv1.Urgency_URGENCY_NORMAL, Area: area, Address: &typesv1.Address{Key: "共和新路|1001"}, HotlineOrderNo: "HL-1"}
	snapshot := func(state string) *feedback.Task {
		return &feedback.Task{ID: "task-1", Department: "310106022-cgzd", Role: "lead", State: state, Review: "not_required",
			AckDue: t0.Add(2 * time.Hour), CompleteDue: t0.Add(72 * time.Hour), Overdue: true, At: t1}
	}
	withTask := func(c *feedback.Case, t *feedback.Task) { c.Tasks = []*feedback.Task{t} }
	tests := []struct {
		name    string
		before  []proto.Message // delivered at t0, in order
		payload proto.Message   // delivered at t1
		want    func(c *feedback.Case)
	}{
		{"case.received", nil, received, func(c *feedback.Case) {
			c.Number, c.HotlineOrderNo, c.Source, c.AppealType, c.Urgency, c.Title = "GF-20260302-000001", "HL-1", feedback.Hotline, "complaint", "normal", "占道经营"
			c.Area = feedback.Area{District: "310106", Street: "310106022", Community: "310106022001", Grid: "310106022001001"}
			c.PlaceKey, c.ReceivedAt, c.State = "共和新路|1001", t0, feedback.Received
		}},
		{"case.answered", nil, &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseAnswered{CaseAnswered: received}}, func(c *feedback.Case) {
			c.Number, c.HotlineOrderNo, c.Source, c.AppealType, c.Urgency, c.Title = "GF-20260302-000001", "HL-1", feedback.Hotline, "complaint", "normal", "占道经营"
			c.Area = feedback.Area{District: "310106", Street: "310106022", Community: "310106022001", Grid: "310106022001001"}
			c.PlaceKey, c.ReceivedAt, c.Answered, c.State = "共和新路|1001", t0, true, feedback.Answered
		}},
		{"case.followed_up (撤单)", []proto.Message{received},
			&eventsv1.CaseFollowedUp{CaseId: caseID, FollowUpId: "fu-1", Kind: eventsv1.FollowUpKind_FOLLOW_UP_KIND_WITHDRAW, Text: "不需要了"},
			func(c *feedback.Case) { c.WithdrawRequested = "fu-1" }},
		{"case.followed_up (补充)", []proto.Message{received},
			&eventsv1.CaseFollowedUp{CaseId: caseID, FollowUpId: "fu-2", Kind: eventsv1.FollowUpKind_FOLLOW_UP_KIND_SUPPLEMENT, Text: "晚上更吵"},
			func(c *feedback.Case) {}},
		{"case.classified", []proto.Message{received},
			&eventsv1.CaseClassified{CaseId: caseID, ClassificationVersion: 2, ItemCode: "H04001", ItemName: "噪声扰民", HotlineClass: "H04",
				ModelVersion: "svm-3", IncidentId: "inc-1", PrimaryCaseId: "p-1", Urgency: typesv1.Urgency_URGENCY_URGENT},
			func(c *feedback.Case) {
				c.ClassVersion, c.ItemCode, c.ItemName, c.HotlineClass, c.ModelVersion = 2, "H04001", "噪声扰民", "H04", "svm-3"
				c.IncidentID, c.PrimaryCaseID, c.Urgency, c.State = "inc-1", "p-1", "urgent", feedback.Merged
			}},
		{"case.review_needed", []proto.Message{received}, &eventsv1.CaseReviewNeeded{CaseId: caseID},
			func(c *feedback.Case) { c.ReviewNeeded, c.State = true, feedback.ReviewNeeded }},
		{"incident.grouped", []proto.Message{received}, &eventsv1.IncidentGrouped{CaseId: caseID, IncidentId: "inc-1", PrimaryCaseId: "p-1"},
			func(c *feedback.Case) { c.IncidentID, c.PrimaryCaseID, c.State = "inc-1", "p-1", feedback.Merged }},
		{"incident.linked", []proto.Message{received}, &eventsv1.IncidentLinked{CaseId: caseID, SourcePlaceId: "sp-1"}, func(c *feedback.Case) {}},
		{"task.dispatched", []proto.Message{received}, &eventsv1.TaskDispatched{Task: taskRef(eventsv1.TaskState_TASK_STATE_DISPATCHED), Rule: "noise"},
			func(c *feedback.Case) {
				tk := snapshot("dispatched")
				tk.DispatchedAt = t1
				withTask(c, tk)
				c.State = feedback.Dispatched
			}},
		{"task.acknowledged", []proto.Message{received}, &eventsv1.TaskAcknowledged{Task: taskRef(eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED)},
			func(c *feedback.Case) {
				tk := snapshot("acknowledged")
				tk.AckedAt = t1
				withTask(c, tk)
				c.State = feedback.InProgress
			}},
		{"task.extension_decided (granted)", []proto.Message{received},
			&eventsv1.TaskExtensionDecided{Task: taskRef(eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED), Granted: true, Due: timestamppb.New(t1)},
			func(c *feedback.Case) {
				tk := snapshot("acknowledged")
				tk.Extended = true
				withTask(c, tk)
				c.State = feedback.InProgress
			}},
		{"task.extension_decided (denied)", []proto.Message{received},
			&eventsv1.TaskExtensionDecided{Task: taskRef(eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED)},
			func(c *feedback.Case) { withTask(c, snapshot("acknowledged")); c.State = feedback.InProgress }},
		{"task.completed", []proto.Message{received},
			&eventsv1.TaskCompleted{Task: taskRef(eventsv1.TaskState_TASK_STATE_COMPLETED), Result: "已整改", Evidence: []string{"s3://p/1.jpg"}},
			func(c *feedback.Case) {
				tk := snapshot("completed")
				tk.CompletedAt, tk.Result, tk.Evidence = t1, "已整改", []string{"s3://p/1.jpg"}
				withTask(c, tk)
				c.State = feedback.InProgress
			}},
		{"task.completion_returned", []proto.Message{received, &eventsv1.TaskCompleted{Task: taskRef(eventsv1.TaskState_TASK_STATE_COMPLETED), Result: "已整改"}},
			&eventsv1.TaskCompletionReturned{Task: taskRef(eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED)},
			func(c *feedback.Case) {
				tk := snapshot("acknowledged")
				tk.Result = "已整改"
				withTask(c, tk)
				c.State = feedback.InProgress
			}},
		{"task.progress_reported", []proto.Message{received},
			&eventsv1.TaskProgressReported{Task: taskRef(eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED), Text: "已到场"},
			func(c *feedback.Case) { withTask(c, snapshot("acknowledged")); c.State = feedback.InProgress }},
		{"task.rejected", []proto.Message{received}, &eventsv1.TaskRejected{Task: taskRef(eventsv1.TaskState_TASK_STATE_REJECTED)},
			func(c *feedback.Case) { withTask(c, snapshot("rejected")); c.State = feedback.Received }},
		{"task.forwarded", []proto.Message{received}, &eventsv1.TaskForwarded{Task: taskRef(eventsv1.TaskState_TASK_STATE_FORWARDED)},
			func(c *feedback.Case) { withTask(c, snapshot("forwarded")); c.State = feedback.Received }},
		{"task.extension_requested", []proto.Message{received}, &eventsv1.TaskExtensionRequested{Task: taskRef(eventsv1.TaskState_TASK_STATE_EXTENSION_REQUESTED)},
			func(c *feedback.Case) { withTask(c, snapshot("extension_requested")); c.State = feedback.InProgress }},
		{"task.completion_approved", []proto.Message{received}, &eventsv1.TaskCompletionApproved{Task: taskRef(eventsv1.TaskState_TASK_STATE_COMPLETED)},
			func(c *feedback.Case) { withTask(c, snapshot("completed")); c.State = feedback.InProgress }},
		{"task.warned", []proto.Message{received}, &eventsv1.TaskWarned{Task: taskRef(eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED)},
			func(c *feedback.Case) { withTask(c, snapshot("acknowledged")); c.State = feedback.InProgress }},
		{"task.overdue", []proto.Message{received}, &eventsv1.TaskOverdue{Task: taskRef(eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED)},
			func(c *feedback.Case) { withTask(c, snapshot("acknowledged")); c.State = feedback.InProgress }},
		{"task.urged", []proto.Message{received}, &eventsv1.TaskUrged{Task: taskRef(eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED)},
			func(c *feedback.Case) { withTask(c, snapshot("acknowledged")); c.State = feedback.InProgress }},
		{"task.supervised", []proto.Message{received}, &eventsv1.TaskSupervised{Task: taskRef(eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED)},
			func(c *feedback.Case) { withTask(c, snapshot("acknowledged")); c.State = feedback.InProgress }},
		{"task.escalated", []proto.Message{received}, &eventsv1.TaskEscalated{Task: taskRef(eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED)},
			func(c *feedback.Case) { withTask(c, snapshot("acknowledged")); c.State = feedback.InProgress }},
		{"task.deadline_changed", []proto.Message{received}, &eventsv1.TaskDeadlineChanged{Task: taskRef(eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED)},
			func(c *feedback.Case) { withTask(c, snapshot("acknowledged")); c.State = feedback.InProgress }},
		{"task.withdrawn", []proto.Message{received}, &eventsv1.TaskWithdrawn{Task: taskRef(eventsv1.TaskState_TASK_STATE_WITHDRAWN)},
			func(c *feedback.Case) { withTask(c, snapshot("withdrawn")) }},
		{"case.cancelled", []proto.Message{received}, &eventsv1.CaseCancelled{Case: dispatchRef(), Reason: "重复"},
			func(c *feedback.Case) { c.IsCancelled, c.CancelReason, c.State = true, "重复", feedback.Cancelled }},
		{"case.parked", []proto.Message{received}, &eventsv1.CaseParked{Case: dispatchRef(), Reason: "待规划", ReviewDate: "2026-04-01"},
			func(c *feedback.Case) { c.IsParked, c.ParkReason, c.State = true, "待规划", feedback.Parked }},
		{"case.unparked", []proto.Message{received, &eventsv1.CaseParked{Case: dispatchRef(), Reason: "待规划"}},
			&eventsv1.CaseUnparked{Case: dispatchRef()},
			func(c *feedback.Case) { c.IsParked, c.ParkReason, c.State = false, "", feedback.Received }},
		{"case.excluded", []proto.Message{received}, &eventsv1.CaseExcluded{Case: dispatchRef(), Reason: "不合理诉求"},
			func(c *feedback.Case) { c.Excluded, c.ExcludeReason = true, "不合理诉求" }},
		{"case.arbitration_opened", []proto.Message{received}, &eventsv1.CaseArbitrationOpened{Case: dispatchRef()}, func(c *feedback.Case) {}},
		{"case.arbitrated", []proto.Message{received}, &eventsv1.CaseArbitrated{Case: dispatchRef(), DepartmentCode: "310106022-cgzd"}, func(c *feedback.Case) {}},
		{"case.resolved", []proto.Message{received}, &eventsv1.CaseResolved{Case: feedbackRef(0), LeadTaskId: "task-1"},
			func(c *feedback.Case) { c.ResolvedRound, c.ResolvedAt, c.State = []int{0}, t1, feedback.Resolved }},
		{"case.replied", []proto.Message{received, &eventsv1.CaseResolved{Case: feedbackRef(0)}},
			&eventsv1.CaseReplied{Case: feedbackRef(0), ReplyId: "r-1", Text: "已办结", CallbackDue: timestamppb.New(t1.Add(72 * time.Hour))},
			func(c *feedback.Case) {
				c.Replies = []feedback.Reply{{ID: "r-1", Text: "已办结", At: t1}}
				c.CallbackDue, c.State = t1.Add(72*time.Hour), feedback.Replied
			}},
		{"case.callback_recorded", []proto.Message{received},
			&eventsv1.CaseCallbackRecorded{Case: feedbackRef(0), CallbackId: "cb-1", Reached: true, Solved: true,
				Satisfaction: eventsv1.Satisfaction_SATISFACTION_BASIC, RetryAt: timestamppb.New(t1.Add(time.Hour))},
			func(c *feedback.Case) {
				c.Callbacks = []feedback.Callback{{ID: "cb-1", Reached: true, Solved: true, Satisfaction: feedback.Basic, At: t1}}
				c.RetryAt = t1.Add(time.Hour)
			}},
		{"case.rechecked", []proto.Message{received}, &eventsv1.CaseRechecked{Case: feedbackRef(0), RecheckId: "rc-1", Passed: true},
			func(c *feedback.Case) { c.Rechecks = 1 }},
		{"case.reopened", []proto.Message{received, &eventsv1.CaseClosed{Case: feedbackRef(0), Reason: eventsv1.CloseReason_CLOSE_REASON_CALLBACK}},
			&eventsv1.CaseReopened{Case: feedbackRef(1), Reason: eventsv1.ReopenReason_REOPEN_REASON_UNSATISFIED},
			func(c *feedback.Case) { c.Round, c.IsClosed, c.State = 1, false, feedback.Dispatched }},
		{"case.closed", []proto.Message{received}, &eventsv1.CaseClosed{Case: feedbackRef(0), Reason: eventsv1.CloseReason_CLOSE_REASON_NO_CALLBACK},
			func(c *feedback.Case) {
				c.IsClosed, c.ClosedRound, c.CloseReason, c.ClosedAt, c.State = true, 0, "no_callback", t1, feedback.Closed
			}},
		{"case.withdrawn", []proto.Message{received}, &eventsv1.CaseWithdrawn{Case: feedbackRef(0), FollowUpId: "fu-1", Text: "撤单"},
			func(c *feedback.Case) { c.IsWithdrawn, c.State = true, feedback.Withdrawn }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var evs []feedback.Event
			for i, p := range tt.before {
				e, err := events.Decode(wrap(t, t0.Add(time.Duration(i)*time.Millisecond), p))
				if err != nil {
					t.Fatal(err)
				}
				e.Seq = int64(i + 1)
				evs = append(evs, e)
			}
			want := feedback.Project(caseID, evs)
			e, err := events.Decode(wrap(t, t1, tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			e.Seq = int64(len(evs) + 1)
			got := feedback.Project(caseID, append(evs, e))
			tt.want(want)
			want.UpdatedAt = t1
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("case mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEncodeEveryOwnFact encodes each of feedback's own facts and decodes it
// back: the same fact, under the payload of its name, on its subject. Every
// payload that names its case with a FeedbackCaseRef is feedback's to
// publish and needs a row here; a fact that is not feedback's own is
// refused.
func TestEncodeEveryOwnFact(t *testing.T) {
	t.Parallel()
	results := []feedback.Result{{TaskID: "task-1", Department: "310106022-cgzd", Role: feedback.RoleLead, Text: "已整改",
		Evidence: []string{"s3://p/1.jpg"}, CompletedAt: t0}}
	own := []feedback.Fact{
		&feedback.CaseResolved{Round: 1, LeadTaskID: "task-1", Results: results},
		&feedback.CaseReplied{Reply: feedback.Reply{ID: "r-1", Round: 1, Text: "已办结", Results: results, At: t1}, CallbackDue: t1.Add(72 * time.Hour)},
		&feedback.CaseCallbackRecorded{Callback: feedback.Callback{ID: "cb-1", Round: 1, Reached: true, ContactedByUnit: true, Solved: true,
			Satisfaction: feedback.Satisfied, Note: "满意", At: t1}},
		&feedback.CaseRechecked{Round: 1, Recheck: feedback.Recheck{ID: "rc-1", WorkerID: "w-0017", Note: "已整改", Passed: true, Photos: []string{"p.jpg"}}},
		&feedback.CaseReopened{Round: 2, Reason: "merged_case_callback", Note: "又来了", CauseCaseID: "c-2"},
		&feedback.CaseClosed{Round: 1, Reason: "callback", Satisfaction: feedback.Basic},
		&feedback.CaseWithdrawn{Round: 1, FollowUpID: "fu-1", Text: "hotline withdrew the case"},
		&feedback.CaseCallbackRetryDue{},
		// Self-disposal (issue 20).
		&feedback.CaseSelfDisposalChecked{Round: 0, CheckID: "ck-1", Verdict: feedback.VerdictSentBack, Note: "堆物仍在",
			Worker: "w-022001001", Grid: "310106022001001"},
		&feedback.CaseClosed{Round: 0, Reason: feedback.CloseSelfDisposalConfirmed},
	}
	var encoded []string
	for _, f := range own {
		t.Run(factName(f), func(t *testing.T) {
			e := &feedback.Event{ID: "e1", CaseID: caseID, At: t1, Actor: feedback.SystemActor, CaseNumber: "GF-20260302-000001",
				Area: feedback.Area{District: "310106", Street: "310106022"}, Source: feedback.Hotline, HotlineOrderNo: "HL-1", Fact: f}
			raw, name, err := events.Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			got, err := events.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(f, got.Fact); diff != "" {
				t.Errorf("fact mismatch (-encoded +decoded):\n%s", diff)
			}
			// The local note is stored as a bare envelope: its type and case.
			if got.Type != name || got.CaseID != caseID || !e.Local() && (got.CaseNumber != e.CaseNumber || got.HotlineOrderNo != "HL-1") {
				t.Errorf("decoded %s %+v", name, got)
			}
			e.Raw, e.Type = raw, name
			if m := events.Message(e); m.Subject != "grid."+name+".310106.310106022" || m.ID != "e1" {
				t.Errorf("message %s %s", m.ID, m.Subject)
			}
			encoded = append(encoded, name)
		})
	}
	for _, f := range envelope.Payloads(&eventsv1.Envelope{}) {
		ref := f.Message().Fields().ByName("case")
		if ref == nil || ref.Message() == nil || ref.Message().Name() != "FeedbackCaseRef" {
			continue
		}
		if !slices.Contains(encoded, envelope.FieldName(f)) {
			t.Errorf("%s is feedback's to publish but no own fact encodes to it", f.Name())
		}
	}
	if _, _, err := events.Encode(&feedback.Event{CaseID: caseID, Fact: &feedback.TaskCompleted{}}); err == nil {
		t.Error("a task event was encoded as feedback's own")
	}
}
