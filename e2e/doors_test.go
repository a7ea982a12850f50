package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/geo"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// TestEveryDoor drives the patrol app, the 一指通办 channel and the hotline's
// follow-ups against the running stack, reading each event off the stream.
func TestEveryDoor(t *testing.T) {
	s := startStack(t, "intake")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// A grid worker's report, located by a GCJ-02 point from the patrol app.
	patrol := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RolePatrol, Subject: "w-0017"}))
	lat, lng := geo.WGS84ToGCJ02(31.2580, 121.4600)
	pr, err := patrol.SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: &intakev1.PatrolReport{
		RequestId: "patrol-1", Description: "普善路消防通道被三轮车和杂物堵塞",
		Location: &typesv1.LatLng{Lat: lat, Lng: lng, Datum: typesv1.Datum_DATUM_GCJ02},
		Photos:   []*typesv1.Attachment{{Uri: "s3://patrol/w-0017/1.jpg", MediaType: "image/jpeg"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if g := pr.GetSubmission().GetArea().GetGridCode(); g != "310106022002002" {
		t.Errorf("patrol report grid = %s, want 310106022002002", g)
	}
	ev := decode(t, s.events(t, "grid.case.received.310106.310106022", 1, 20*time.Second)[0].Data())
	if ev.GetCaseReceived().GetWorkerId() != "w-0017" {
		t.Errorf("patrol event = %v", ev)
	}

	// A community secretary whistles for two departments (吹哨报到).
	sec := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleSecretary, Subject: "310106021002"}))
	is, err := sec.RaiseIssue(ctx, &intakev1.RaiseIssueRequest{Issue: &intakev1.Issue{
		RequestId: "issue-1", SecretaryId: "李书记", Title: "临汾路菜场门口占道经营",
		Content:            "菜场门口每天早上有摊贩占道经营，行人只能走机动车道，请城管和市场监管一起来。",
		WhistleDepartments: []string{"310106021-cgzd", "310106021-scjgs"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ev = decode(t, s.events(t, "grid.case.received.310106.310106021", 1, 20*time.Second)[0].Data())
	if got := ev.GetCaseReceived().GetWhistleDepartments(); len(got) != 2 || ev.GetCaseId() != is.GetSubmission().GetCaseId() {
		t.Errorf("issue event = %v", ev)
	}

	// The hotline adds to a case, then withdraws it.
	hotline := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	wo, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: workOrder("E2E-FU-1")})
	if err != nil {
		t.Fatal(err)
	}
	for i, kind := range []intakev1.FollowUpKind{intakev1.FollowUpKind_FOLLOW_UP_KIND_SUPPLEMENT, intakev1.FollowUpKind_FOLLOW_UP_KIND_URGE, intakev1.FollowUpKind_FOLLOW_UP_KIND_WITHDRAW} {
		if _, err := hotline.AddFollowUp(ctx, &intakev1.AddFollowUpRequest{RequestId: "fu-" + kind.String(), Kind: kind, Text: "市民来电补充情况",
			Case: &intakev1.AddFollowUpRequest_CaseNumber{CaseNumber: wo.GetSubmission().GetCaseNumber()}}); err != nil {
			t.Fatalf("follow-up %d: %v", i, err)
		}
	}
	msgs := s.events(t, "grid.case.followed_up.310106.310106022", 3, 20*time.Second)
	if k := decode(t, msgs[2].Data()).GetCaseFollowedUp().GetKind(); k != eventsv1.FollowUpKind_FOLLOW_UP_KIND_WITHDRAW {
		t.Errorf("third follow-up kind = %v, want withdraw", k)
	}
}

func decode(t *testing.T, data []byte) *eventsv1.Envelope {
	t.Helper()
	var env eventsv1.Envelope
	if err := proto.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	return &env
}
