package grpcapi_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/geo"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Self-disposal (issue 20): a report settled on the spot needs what was
// done and a photo; intake records it and says so in case.received.
func TestSelfDisposedPatrolReport(t *testing.T) {
	e := setup(t)
	c, ctx := e.as(t, "patrol:w-022001001")
	lat, lng := geo.WGS84ToGCJ02(31.2980, 121.4500)
	report := &intakev1.PatrolReport{
		RequestId: "sd-1", Description: "楼道堆物堵塞通道", CatalogueCode: "",
		Location:     &typesv1.LatLng{Lat: lat, Lng: lng, Datum: typesv1.Datum_DATUM_GCJ02},
		Photos:       []*typesv1.Attachment{{Uri: "gridflow-upload:0123456789abcdef", MediaType: "image/jpeg"}},
		ObservedAt:   timestamppb.New(time.Now().Add(-time.Minute).Truncate(time.Second)),
		SelfDisposed: true, DisposalNote: "已劝导住户清理堆物，通道恢复畅通（联系13812345678）",
	}
	resp, err := c.SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: report})
	if err != nil {
		t.Fatal(err)
	}
	got := resp.GetSubmission().GetPatrolReport()
	if !got.GetSelfDisposed() || got.GetDisposalNote() == "" {
		t.Errorf("submission's report = %v, want self_disposed with its note", got)
	}
	env, _ := e.event(t, "grid.case.received.310106.310106021")
	r := env.GetCaseReceived()
	if !r.GetSelfDisposed() || r.GetSelfDisposalNote() == "" || len(r.GetAttachments()) != 1 || r.GetWorkerId() != "w-022001001" {
		t.Errorf("case.received = %v, want self_disposed with note, photo and worker", r)
	}
	// The note is free text: a phone number in it is masked like the description's.
	if n := r.GetSelfDisposalNote(); n == report.GetDisposalNote() {
		t.Errorf("the event carries the note's phone number in clear: %q", n)
	}
	// The same request again: the first result; other content: ALREADY_EXISTS.
	again, err := c.SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: report})
	if err != nil || again.GetSubmission().GetCaseId() != resp.GetSubmission().GetCaseId() {
		t.Errorf("repeat: %v, %v", again.GetSubmission().GetCaseId(), err)
	}
	changed := proto.Clone(report).(*intakev1.PatrolReport)
	changed.DisposalNote = "另一说法"
	if _, err := c.SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: changed}); status.Code(err) != codes.AlreadyExists {
		t.Errorf("same request id, other note: %v, want ALREADY_EXISTS", err)
	}

	for _, tc := range []struct {
		name  string
		edit  func(*intakev1.PatrolReport)
		field string
	}{
		{"no photo", func(r *intakev1.PatrolReport) { r.Photos = nil }, "report.photos"},
		{"no note", func(r *intakev1.PatrolReport) { r.DisposalNote = "  " }, "report.disposal_note"},
		{"note too long", func(r *intakev1.PatrolReport) { r.DisposalNote = string(make([]rune, 501)) }, "report.disposal_note"},
		{"note without settled", func(r *intakev1.PatrolReport) { r.SelfDisposed = false }, "report.disposal_note"},
		{"bad photo ref", func(r *intakev1.PatrolReport) { r.Photos[0].Uri = "no scheme" }, "report.photos[0].uri"},
	} {
		bad := proto.Clone(report).(*intakev1.PatrolReport)
		bad.RequestId = "sd-bad-" + tc.name
		tc.edit(bad)
		_, err := c.SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: bad})
		if status.Code(err) != codes.InvalidArgument || !slices.Contains(violations(err), tc.field) {
			t.Errorf("%s: %v (%v), want INVALID_ARGUMENT naming %s", tc.name, err, violations(err), tc.field)
		}
	}
}
