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
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// TestMessageMapsEveryEvent: every event type package classify declares
// (its isEvent types) has a sample here that Message maps to the payload
// and subject DESIGN.md names; every payload of the envelope's oneof is
// either one classify publishes or one another service does. A new domain
// event or a new payload fails here until it is mapped.
func TestMessageMapsEveryEvent(t *testing.T) {
	t.Parallel()
	area := reference.AreaCodes{District: "310106", Street: "310106022"}
	c := classify.Case{ID: "c1", Number: "GF-20260302-000001", Area: area}
	inc := classify.Incident{ID: "i1", Area: area}
	samples := []struct {
		ev      classify.Event
		payload string
		subject string
	}{
		{classify.Classified{Classification: classify.Classification{CaseID: "c1", Version: 1}, Case: c}, "case_classified", "grid.case.classified.310106.310106022"},
		{classify.ReviewNeeded{Case: c}, "case_review_needed", "grid.case.review_needed.310106.310106022"},
		{classify.Grouped{Incident: inc, Case: c}, "incident_grouped", "grid.incident.grouped.310106.310106022"},
		{classify.Linked{Incident: inc, CaseID: "c1"}, "incident_linked", "grid.incident.linked.310106.310106022"},
		// Issue 20, places: a place's event names no case.
		{classify.PlaceUpserted{Place: classify.PlaceEntry{Key: "静安区|临汾路|375|1|", Area: area}}, "place_upserted",
			"grid.place.upserted.310106.310106022"},
		// Source place coordination (issue 20): one per incident, naming its primary case.
		{classify.LeadChanged{SourcePlace: classify.SourcePlace{ID: "sp1", Area: area}, Incident: classify.PlaceIncident{ID: "i1", PrimaryCaseID: "c1"},
			Change: classify.PlaceChange{Change: classify.ChangeLeadSet, Lead: "310106022-CG", Actor: "dispatcher:310106022", At: time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)}},
			"incident_source_place_lead", "grid.incident.source_place_lead.310106.310106022"},
	}
	var sampled, published []string
	for _, s := range samples {
		name := reflect.TypeOf(s.ev).Name()
		sampled = append(sampled, name)
		published = append(published, s.payload)
		m, err := Message(s.ev, time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var env eventsv1.Envelope
		if err := proto.Unmarshal(m.Data, &env); err != nil {
			t.Fatal(err)
		}
		f := env.ProtoReflect().WhichOneof(env.ProtoReflect().Descriptor().Oneofs().ByName(envelope.Oneof))
		if f == nil || string(f.Name()) != s.payload || env.GetType() != envelope.FieldName(f) || m.Subject != s.subject ||
			(env.GetCaseId() != "c1") != (s.payload == "place_upserted") || m.ID != env.GetEventId() || m.Headers["Gridflow-Event-Type"] != env.GetType() {
			t.Errorf("%s: envelope %v on %s", name, &env, m.Subject)
		}
	}
	slices.Sort(sampled)
	if diff := cmp.Diff(declaredEvents(t), sampled); diff != "" {
		t.Errorf("declared events vs samples mismatch (-declared +sampled):\n%s", diff)
	}
	others := []string{"case_received", "case_answered", "case_followed_up", "case_contact_read", // intake
		"case_resolved", "case_replied", "case_callback_recorded", "case_rechecked", "case_reopened", "case_closed", "case_withdrawn", // feedback
		"case_self_disposal_checked", // feedback: self-disposal (issue 20)
		// Early warning (issue 20): feedback's warnings.
		"warning_raised", "warning_acknowledged", "warning_dismissed"}
	for _, f := range envelope.Payloads(&eventsv1.Envelope{}) {
		name := string(f.Name())
		mine, other := slices.Contains(published, name), slices.Contains(others, name) || strings.HasPrefix(name, "task_") ||
			f.Message().Fields().ByName("case") != nil && f.Message().Fields().ByName("case").Message().Name() == "DispatchCaseRef"
		if mine == other {
			t.Errorf("payload %s: published by classify %v, by another service %v: exactly one must hold", name, mine, other)
		}
	}
}

// declaredEvents lists the types package classify gives an isEvent method.
func declaredEvents(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "classify", "*.go"))
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
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv != nil && fd.Name.Name == "isEvent" {
				if id, ok := fd.Recv.List[0].Type.(*ast.Ident); ok {
					out = append(out, id.Name)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestCaseOfTakesWhatItSubscribes walks every payload of the oneof: classify
// turns exactly the ones its subjects carry into a case and refuses every
// other (the handler dead-letters those as poison).
func TestCaseOfTakesWhatItSubscribes(t *testing.T) {
	t.Parallel()
	var took []string
	for _, f := range envelope.Payloads(&eventsv1.Envelope{}) {
		if _, ok := caseOf(envelope.New(&eventsv1.Envelope{}, f).(*eventsv1.Envelope)); ok {
			took = append(took, "grid."+envelope.FieldName(f))
		}
	}
	// The events the subjects name: a filter is the event's subject and its
	// routing keys, all (".>") or one lane's (".*.*", pkg/lane).
	var subjects []string
	for _, s := range []string{SubjectsReceived, SubjectsAnswered} {
		subjects = append(subjects, strings.TrimSuffix(strings.TrimSuffix(s, ".>"), ".*.*"))
	}
	if diff := cmp.Diff(subjects, took); diff != "" {
		t.Errorf("payloads taken vs subjects mismatch (-subjects +taken):\n%s", diff)
	}
}
