package grpcapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/auth"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// The public read (Open311, issue 19): public cases only, whoever asks;
// the text masked, the point coarse; a hotline case refused like one that
// does not exist.
func TestPublicCases(t *testing.T) {
	e := setup(t)
	client := feedbackv1.NewPublicCaseServiceClient(e.conn)
	ctxAs := func(p string) context.Context {
		pr, err := auth.ParsePrincipal(p)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := e.signer.Issue(pr, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return metadata.AppendToOutgoingContext(e.timeout(), "authorization", "Bearer "+tok)
	}
	// A public case: received, classified, worked, replied.
	k := kase{id: uuid.Must(uuid.NewV7()).String(), number: "GF-20260302-900001", street: zj, source: typesv1.Source_SOURCE_PUBLIC}
	e.publish(k.id, "case_received", &eventsv1.CaseReceived{CaseId: k.id, CaseNumber: k.number, Source: typesv1.Source_SOURCE_PUBLIC,
		ReceivedAt: timestamppb.New(e.clock.Now()), Content: "路口占道经营，电话138****5678", CatalogueCode: "09006", NoCallback: true,
		Area: area(zj), Location: &typesv1.LatLng{Lat: 31.271234, Lng: 121.445678, Datum: typesv1.Datum_DATUM_WGS84},
		Attachments: []*typesv1.Attachment{{Uri: "https://photos.example/p/1.jpg", Name: "media_url"}}})
	e.classify(k, "")
	open := e.receive(typesv1.Source_SOURCE_PUBLIC, zj) // still open
	hotline := e.replied(zj)

	ctx := ctxAs("public:k-1")
	got, err := client.GetPublicCase(ctx, &feedbackv1.GetPublicCaseRequest{CaseId: k.id})
	if err != nil {
		t.Fatal(err)
	}
	c := got.GetCase()
	if c.GetServiceCode() != "09006" || c.GetDescription() != "路口占道经营，电话138****5678" || c.GetClosed() ||
		c.GetLocation().GetLat() != 31.271 || c.GetLocation().GetLng() != 121.446 || c.GetArea().GetStreetCode() != zj ||
		c.GetMediaUrl() != "https://photos.example/p/1.jpg" {
		t.Errorf("public case %v", c)
	}
	e.work(k, 0)
	got, err = client.GetPublicCase(ctx, &feedbackv1.GetPublicCaseRequest{CaseId: k.id})
	if err != nil || !got.GetCase().GetClosed() || !strings.Contains(got.GetCase().GetReply(), "已清理占道摊位") {
		t.Errorf("after the work: %v, %v", got, err)
	}
	// A hotline case and one that does not exist: the same refusal, for
	// the public and for admin alike.
	for _, p := range []string{"public:k-1", "admin"} {
		for _, id := range []string{hotline.id, uuid.NewString()} {
			_, err := client.GetPublicCase(ctxAs(p), &feedbackv1.GetPublicCaseRequest{CaseId: id})
			code(t, err, codes.PermissionDenied)
		}
	}
	// Lists: public cases only; filters by status, service and ids.
	list := func(req *feedbackv1.ListPublicCasesRequest) []string {
		t.Helper()
		resp, err := client.ListPublicCases(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range resp.GetCases() {
			ids = append(ids, c.GetCaseId())
		}
		return ids
	}
	if ids := list(&feedbackv1.ListPublicCasesRequest{}); len(ids) != 2 || strings.Contains(strings.Join(ids, ","), hotline.id) {
		t.Errorf("all: %v", ids)
	}
	if ids := list(&feedbackv1.ListPublicCasesRequest{Status: feedbackv1.PublicStatus_PUBLIC_STATUS_CLOSED}); len(ids) != 1 || ids[0] != k.id {
		t.Errorf("closed: %v", ids)
	}
	if ids := list(&feedbackv1.ListPublicCasesRequest{Status: feedbackv1.PublicStatus_PUBLIC_STATUS_OPEN}); len(ids) != 1 || ids[0] != open.id {
		t.Errorf("open: %v", ids)
	}
	if ids := list(&feedbackv1.ListPublicCasesRequest{ServiceCode: "09006"}); len(ids) != 1 || ids[0] != k.id {
		t.Errorf("service 09006: %v", ids)
	}
	if ids := list(&feedbackv1.ListPublicCasesRequest{CaseIds: []string{hotline.id, open.id}}); len(ids) != 1 || ids[0] != open.id {
		t.Errorf("by ids: %v", ids)
	}
	// Bad input names its field; other roles are refused.
	_, err = client.ListPublicCases(ctx, &feedbackv1.ListPublicCasesRequest{PageSize: -1})
	if f := fields(t, err); len(f) != 1 || f[0] != "page_size" {
		t.Errorf("page size: %v", f)
	}
	_, err = client.ListPublicCases(ctxAs("hotline"), &feedbackv1.ListPublicCasesRequest{})
	code(t, err, codes.PermissionDenied)

	// A repeated report merged into an incident has no task of its own: it
	// names its primary's lead (DESIGN.md: a merged case mirrors its
	// primary), whichever of two racing reports opened the incident.
	primary := e.receive(typesv1.Source_SOURCE_PUBLIC, zj)
	e.classify(primary, "")
	repeat := e.receive(typesv1.Source_SOURCE_PUBLIC, zj)
	e.classify(repeat, primary.id)
	lead := func() (string, string) {
		t.Helper()
		got, err := client.GetPublicCase(ctx, &feedbackv1.GetPublicCaseRequest{CaseId: repeat.number})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.ListPublicCases(ctx, &feedbackv1.ListPublicCasesRequest{CaseIds: []string{repeat.id, primary.id}})
		if err != nil || len(resp.GetCases()) != 2 {
			t.Fatalf("list %v: %v", resp, err)
		}
		for _, c := range resp.GetCases() {
			if c.GetLeadDepartmentCode() != got.GetCase().GetLeadDepartmentCode() {
				t.Errorf("listed %s leads %q, the repeat %q", c.GetCaseId(), c.GetLeadDepartmentCode(), got.GetCase().GetLeadDepartmentCode())
			}
		}
		return got.GetCase().GetLeadDepartmentCode(), got.GetCase().GetState().String()
	}
	if l, st := lead(); l != "" || st != "CASE_STATE_MERGED" {
		t.Errorf("before the primary's dispatch: lead %q, state %s", l, st)
	}
	e.dispatch(primary, 0)
	if l, st := lead(); l != cgzd || st != "CASE_STATE_MERGED" {
		t.Errorf("after the primary's dispatch: lead %q (want %s), state %s", l, cgzd, st)
	}

	fc, fctx := e.as("public:k-1")
	_, err = fc.ListCases(fctx, &feedbackv1.ListCasesRequest{})
	code(t, err, codes.PermissionDenied)
}
