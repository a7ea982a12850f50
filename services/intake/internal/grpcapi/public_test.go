package grpcapi_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

func (e *env) public(t *testing.T, p string) (intakev1.PublicIntakeServiceClient, context.Context) {
	t.Helper()
	pr, err := auth.ParsePrincipal(p)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.signer.Issue(pr, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return intakev1.NewPublicIntakeServiceClient(e.conn), metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

// A public request (Open311, issue 19): source public, no operator, no
// contact, nobody to call back; phone numbers in its text masked on the
// stream and in every read.
func TestPublicRequest(t *testing.T) {
	e := setup(t)
	c, ctx := e.public(t, "public:k-demo")
	req := &intakev1.PublicRequest{RequestId: "o311-1", ServiceCode: "06022", Description: "路口烧烤摊夜里油烟很大，我电话13812345678",
		Location: &typesv1.LatLng{Lat: 31.2980, Lng: 121.4500, Datum: typesv1.Datum_DATUM_WGS84}, Address: "临汾路375号门口",
		MediaUrl: "https://photos.example/p/1.jpg"}
	resp, err := c.SubmitPublicRequest(ctx, &intakev1.SubmitPublicRequestRequest{Request: req})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.GetCaseNumber(), "GF-") {
		t.Fatalf("answer %v", resp)
	}
	env, _ := e.event(t, "grid.case.received.310106.310106021")
	got := env.GetCaseReceived()
	if got.GetSource() != typesv1.Source_SOURCE_PUBLIC || got.GetCatalogueCode() != "06022" || !got.GetNoCallback() ||
		got.GetCaller() != nil || got.GetWorkerId() != "" || got.GetCaseNumber() != resp.GetCaseNumber() ||
		env.GetActor().GetRole() != "public" || env.GetActor().GetSubject() != "k-demo" {
		t.Errorf("event %v", env)
	}
	if strings.Contains(got.GetContent(), "13812345678") || !strings.Contains(got.GetContent(), "138****5678") {
		t.Errorf("content %q: the phone is not masked", got.GetContent())
	}
	// A repeat is the first case; the same id with other content is not.
	again, err := c.SubmitPublicRequest(ctx, &intakev1.SubmitPublicRequestRequest{Request: req})
	if err != nil || again.GetCaseId() != resp.GetCaseId() {
		t.Errorf("repeat: %v, %v", again, err)
	}
	other := proto.Clone(req).(*intakev1.PublicRequest)
	other.Description = "别的事"
	if _, err := c.SubmitPublicRequest(ctx, &intakev1.SubmitPublicRequestRequest{Request: other}); status.Code(err) != codes.AlreadyExists {
		t.Errorf("other content: %v, want ALREADY_EXISTS", err)
	}

	for name, tc := range map[string]struct {
		mutate func(*intakev1.PublicRequest)
		fields []string
	}{
		"no service":       {func(r *intakev1.PublicRequest) { r.ServiceCode = "" }, []string{"request.service_code"}},
		"unknown service":  {func(r *intakev1.PublicRequest) { r.ServiceCode = "H99999" }, []string{"request.service_code"}},
		"no description":   {func(r *intakev1.PublicRequest) { r.Description = " " }, []string{"request.description"}},
		"no location":      {func(r *intakev1.PublicRequest) { r.Location = nil }, []string{"request.location"}},
		"outside the city": {func(r *intakev1.PublicRequest) { r.Location.Lat = 39.9 }, []string{"request.location"}},
		"bad media url":    {func(r *intakev1.PublicRequest) { r.MediaUrl = "javascript:alert(1)" }, []string{"request.media_url"}},
		"no request id":    {func(r *intakev1.PublicRequest) { r.RequestId = "" }, []string{"request.request_id"}},
		"bad UTF-8":        {func(r *intakev1.PublicRequest) { r.Description = "bad \xff" }, []string{"request.description"}},
	} {
		r := proto.Clone(req).(*intakev1.PublicRequest)
		r.RequestId = "o311-" + strings.ReplaceAll(name, " ", "-")
		tc.mutate(r)
		_, err := c.SubmitPublicRequest(ctx, &intakev1.SubmitPublicRequestRequest{Request: r})
		if status.Code(err) != codes.InvalidArgument || !slices.Equal(violations(err), tc.fields) {
			t.Errorf("%s: %v (%v), want INVALID_ARGUMENT on %v", name, err, violations(err), tc.fields)
		}
	}
	// Only the public (and admin) submit here; the public submits nowhere else.
	hc, hctx := e.public(t, "hotline")
	if _, err := hc.SubmitPublicRequest(hctx, &intakev1.SubmitPublicRequestRequest{Request: req}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("hotline: %v, want PERMISSION_DENIED", err)
	}
	ic, ictx := e.as(t, "public:k-demo")
	if _, err := ic.SubmitWorkOrder(ictx, &intakev1.SubmitWorkOrderRequest{WorkOrder: order("o311-wo")}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("public submitting a work order: %v, want PERMISSION_DENIED", err)
	}
	if _, err := ic.GetSubmission(ictx, &intakev1.GetSubmissionRequest{Key: &intakev1.GetSubmissionRequest_CaseId{CaseId: resp.GetCaseId()}}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("public reading a submission: %v, want PERMISSION_DENIED", err)
	}
}
