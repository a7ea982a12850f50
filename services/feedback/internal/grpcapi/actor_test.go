package grpcapi_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/auth"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// The hotline agent a credential names is the actor of the callback and of
// the closing it causes, in the case's timeline; a colleague retrying the
// same request on the same principal gets the first result.
func TestPersonIsTheActor(t *testing.T) {
	e := setup(t)
	k := e.replied(zj)
	issue := func(person auth.Person) (feedbackv1.FeedbackServiceClient, metadata.MD) {
		tok, err := e.signer.Issue(auth.Principal{Role: auth.RoleHotline, Person: person}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return e.client(), metadata.Pairs("authorization", "Bearer "+tok)
	}
	req := &feedbackv1.RecordCallbackRequest{RequestId: "cb-person", CaseId: k.id, Reached: true, ContactedByUnit: true, Solved: true,
		Satisfaction: eventsv1.Satisfaction_SATISFACTION_SATISFIED}
	c, md := issue(auth.Person{ID: "a-0107", Name: "陈静"})
	first, err := c.RecordCallback(metadata.NewOutgoingContext(e.timeout(), md), req)
	if err != nil {
		t.Fatal(err)
	}
	c2, md2 := issue(auth.Person{ID: "a-0110", Name: "周敏"})
	again, err := c2.RecordCallback(metadata.NewOutgoingContext(e.timeout(), md2), req)
	if err != nil || again.GetCase().GetState() != first.GetCase().GetState() {
		t.Errorf("a colleague's retry = %v, %v; want the first result", again, err)
	}

	admin, ctx := e.as("admin")
	tl, err := admin.GetCaseTimeline(ctx, &feedbackv1.GetCaseTimelineRequest{CaseId: k.id})
	if err != nil {
		t.Fatal(err)
	}
	want := &typesv1.Principal{Role: "hotline", Person: &typesv1.Person{Id: "a-0107", Name: "陈静"}}
	seen := map[string]bool{}
	for _, en := range tl.GetEntries() {
		switch en.GetType() {
		case "case.callback_recorded", "case.closed":
			seen[en.GetType()] = true
			if diff := cmp.Diff(want, en.GetActor(), protocmp.Transform()); diff != "" {
				t.Errorf("%s actor mismatch (-want +got):\n%s", en.GetType(), diff)
			}
		}
	}
	if !seen["case.callback_recorded"] || !seen["case.closed"] {
		t.Errorf("timeline %v lacks the callback or the closing", tl.GetEntries())
	}
}

// An audited contact read (intake's case.contact_read) shows in the case's
// timeline with its reader, person included, and its grant; it changes
// nothing else of the case.
func TestContactReadInTimeline(t *testing.T) {
	e := setup(t)
	k := e.replied(zj)
	admin, ctx := e.as("admin")
	before, err := admin.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: k.id})
	if err != nil {
		t.Fatal(err)
	}
	reader := &typesv1.Principal{Role: "department", Subject: cgzd, Person: &typesv1.Person{Id: "cg-12", Name: "张伟"}}
	e.publishAs(k.id, reader, "case_contact_read", &eventsv1.CaseContactRead{CaseId: k.id, CaseNumber: k.number, Reader: reader,
		ReadAt: timestamppb.New(e.clock.Now()), Grant: "lead_department", Area: area(zj)})
	tl, err := admin.GetCaseTimeline(ctx, &feedbackv1.GetCaseTimelineRequest{CaseId: k.id})
	if err != nil {
		t.Fatal(err)
	}
	var got *feedbackv1.TimelineEntry
	for _, en := range tl.GetEntries() {
		if en.GetType() == "case.contact_read" {
			got = en
		}
	}
	if got == nil {
		t.Fatalf("timeline %v has no case.contact_read", tl.GetEntries())
	}
	if diff := cmp.Diff(reader, got.GetActor(), protocmp.Transform()); diff != "" {
		t.Errorf("case.contact_read actor mismatch (-want +got):\n%s", diff)
	}
	if want := "caller's contact read by department:" + cgzd + " (cg-12 张伟) (lead_department)"; got.GetSummary() != want {
		t.Errorf("summary %q, want %q", got.GetSummary(), want)
	}
	after, err := admin.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: k.id})
	if err != nil {
		t.Fatal(err)
	}
	if before.GetCase().GetState() != after.GetCase().GetState() {
		t.Errorf("a contact read moved the case from %v to %v", before.GetCase().GetState(), after.GetCase().GetState())
	}
}
