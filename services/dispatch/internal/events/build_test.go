package events

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
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/workcal"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// sample is one event of every type dispatch emits, with its subject.
func samples() []struct {
	ev      dispatch.Event
	subject string
} {
	task := &dispatch.Task{ID: "t1", CaseID: "c1", CaseNumber: "GF-20260302-000001", Department: "310106022-pcs",
		Role: dispatch.Lead, State: dispatch.Dispatched}
	te := func() dispatch.TaskEvent { return dispatch.TaskEvent{Task: task} }
	summary := &dispatch.Summary{CaseNumber: "GF-20260302-000001", Item: "H04001",
		Address: dispatch.Address{Road: "共和新路", Number: 1001}}
	return []struct {
		ev      dispatch.Event
		subject string
	}{
		{&dispatch.TaskDispatched{TaskEvent: te(), Summary: summary}, "grid.task.dispatched.310106022-pcs.310106.310106022"},
		{&dispatch.TaskAcknowledged{TaskEvent: te()}, "grid.task.acknowledged.310106022-pcs.310106.310106022"},
		{&dispatch.TaskRejected{TaskEvent: te(), Rejection: dispatch.Rejection{Reason: dispatch.NotMyArea, Area: "310106021"}}, "grid.task.rejected.310106022-pcs.310106.310106022"},
		{&dispatch.TaskForwarded{TaskEvent: te(), NewTaskID: "t2"}, "grid.task.forwarded.310106022-pcs.310106.310106022"},
		{&dispatch.TaskExtensionRequested{TaskEvent: te()}, "grid.task.extension_requested.310106022-pcs.310106.310106022"},
		{&dispatch.TaskExtensionDecided{TaskEvent: te(), Granted: true}, "grid.task.extension_decided.310106022-pcs.310106.310106022"},
		{&dispatch.TaskProgressReported{TaskEvent: te()}, "grid.task.progress_reported.310106022-pcs.310106.310106022"},
		{&dispatch.TaskCompleted{TaskEvent: te()}, "grid.task.completed.310106022-pcs.310106.310106022"},
		{&dispatch.TaskCompletionApproved{TaskEvent: te()}, "grid.task.completion_approved.310106022-pcs.310106.310106022"},
		{&dispatch.TaskCompletionReturned{TaskEvent: te()}, "grid.task.completion_returned.310106022-pcs.310106.310106022"},
		{&dispatch.TaskWithdrawn{TaskEvent: te(), Reason: dispatch.WithdrawHotline}, "grid.task.withdrawn.310106022-pcs.310106.310106022"},
		{&dispatch.TaskWarned{TaskEvent: te(), Step: dispatch.ClockStep{Limit: dispatch.AckLimit, Action: reference.Remind}}, "grid.task.warned.310106022-pcs.310106.310106022"},
		{&dispatch.TaskOverdue{TaskEvent: te(), Step: dispatch.ClockStep{Limit: dispatch.AckLimit}}, "grid.task.overdue.310106022-pcs.310106.310106022"},
		{&dispatch.TaskUrged{TaskEvent: te(), Urges: 1}, "grid.task.urged.310106022-pcs.310106.310106022"},
		{&dispatch.TaskSupervised{TaskEvent: te(), Note: "督办"}, "grid.task.supervised.310106022-pcs.310106.310106022"},
		{&dispatch.TaskEscalated{TaskEvent: te(), Step: dispatch.ClockStep{Limit: dispatch.CompleteLimit, Action: reference.Escalate}}, "grid.task.escalated.310106022-pcs.310106.310106022"},
		{&dispatch.TaskDeadlineChanged{TaskEvent: te(), Reason: dispatch.Unparked}, "grid.task.deadline_changed.310106022-pcs.310106.310106022"},
		{&dispatch.CaseCancelled{}, "grid.case.cancelled.310106.310106022"},
		{&dispatch.CaseParked{ReviewDate: workcal.Date{Year: 2026, Month: 3, Day: 20}}, "grid.case.parked.310106.310106022"},
		{&dispatch.CaseUnparked{}, "grid.case.unparked.310106.310106022"},
		{&dispatch.CaseExcluded{}, "grid.case.excluded.310106.310106022"},
		{&dispatch.CaseArbitrationOpened{RejectedBy: []string{"a", "b"}}, "grid.case.arbitration_opened.310106.310106022"},
		{&dispatch.CaseArbitrated{Department: "310106022-cgzd"}, "grid.case.arbitrated.310106.310106022"},
	}
}

func typeName(e dispatch.Event) string { return reflect.TypeOf(e).Elem().Name() }

// TestEncode checks every event type dispatch emits: its subject reads as
// DESIGN.md says, its payload is the one its type names, and task events
// carry no personal data.
func TestEncode(t *testing.T) {
	t.Parallel()
	area := dispatch.Area{District: "310106", Street: "310106022", Community: "0", Grid: "0"}
	at := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	for _, tt := range samples() {
		t.Run(typeName(tt.ev), func(t *testing.T) {
			t.Parallel()
			ev := tt.ev
			h := reflect.ValueOf(ev).Elem().FieldByName("Header").Addr().Interface().(*dispatch.Header)
			h.At, h.Actor, h.CaseID, h.CaseNumber, h.Area = at, "department:310106022-pcs", "c1", "GF-20260302-000001", area
			msgs, err := Encode([]dispatch.Event{ev})
			if err != nil {
				t.Fatal(err)
			}
			m := msgs[0]
			if diff := cmp.Diff(tt.subject, m.Subject); diff != "" {
				t.Errorf("subject mismatch (-want +got):\n%s", diff)
			}
			var env eventsv1.Envelope
			if err := proto.Unmarshal(m.Data, &env); err != nil {
				t.Fatal(err)
			}
			// The payload is the proto message of the domain type's name,
			// and the envelope's type and subject are named after it.
			field := env.ProtoReflect().WhichOneof(env.ProtoReflect().Descriptor().Oneofs().ByName("payload"))
			if field == nil || string(field.Message().Name()) != typeName(ev) || env.GetType() != envelope.FieldName(field) ||
				!strings.HasPrefix(m.Subject, "grid."+env.GetType()+".") || env.GetEventId() != m.ID || m.Headers[HeaderEventType] != env.GetType() {
				t.Fatalf("envelope %v", &env)
			}
		})
	}
	if _, err := Encode([]dispatch.Event{nil}); err == nil {
		t.Error("an event of no type was encoded")
	}
}

// TestEnvelopeMapsEveryEvent: every event type the domain declares (a type
// embedding dispatch.Header or dispatch.TaskEvent) has a sample above, so
// TestEncode proves Envelope maps it; and every payload of the envelope's
// oneof is either one dispatch publishes or one another service does. A
// new domain event, or a new payload, fails here until it is mapped.
func TestEnvelopeMapsEveryEvent(t *testing.T) {
	t.Parallel()
	declared := domainEvents(t)
	var sampled []string
	for _, s := range samples() {
		sampled = append(sampled, typeName(s.ev))
	}
	slices.Sort(sampled)
	if diff := cmp.Diff(declared, sampled); diff != "" {
		t.Errorf("domain event types vs encoded samples mismatch (-declared +sampled):\n%s", diff)
	}
	others := []string{
		"case_received", "case_answered", "case_followed_up", "case_contact_read", // intake
		"case_classified", "case_review_needed", "incident_grouped", "incident_linked", // classify
		"place_upserted",                                                                                                              // classify (issue 20, places)
		"incident_source_place_lead",                                                                                                  // classify: source place coordination (issue 20)
		"case_resolved", "case_replied", "case_callback_recorded", "case_rechecked", "case_reopened", "case_closed", "case_withdrawn", // feedback
		"place_upserted",             // classify (issue 20)
		"case_self_disposal_checked", // feedback: self-disposal (issue 20)
		// Early warning (issue 20): feedback's warnings.
		"warning_raised", "warning_acknowledged", "warning_dismissed",
	}
	for _, f := range envelope.Payloads(&eventsv1.Envelope{}) {
		// issue 20 (work tasks): the inspections' payloads are dispatch's,
		// mapped by EncodeWork (TestEncodeWorkMapsEveryEvent).
		mine := slices.Contains(declared, string(f.Message().Name())) || slices.Contains(workPayloads, string(f.Name()))
		other := slices.Contains(others, string(f.Name()))
		if mine == other {
			t.Errorf("payload %s: published by dispatch %v, by another service %v: exactly one must hold", f.Name(), mine, other)
		}
	}
}

// domainEvents lists the event types package dispatch declares, sorted.
func domainEvents(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join("..", "dispatch", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok || ts.Name.Name == "TaskEvent" {
				return false
			}
			for _, fl := range st.Fields.List {
				if id, ok := fl.Type.(*ast.Ident); ok && len(fl.Names) == 0 && (id.Name == "Header" || id.Name == "TaskEvent") {
					out = append(out, ts.Name.Name)
				}
			}
			return false
		})
	}
	slices.Sort(out)
	return out
}
