package grpcapi_test

import (
	"context"
	"crypto/ed25519"
	"net"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/grpcserver"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/classify/memstore"
	"github.com/gridflow/gridflow/services/classify/internal/grpcapi"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

type lowModel struct{}

func (lowModel) Version() string { return "low1" }
func (lowModel) Predict(string) []classify.Choice {
	return []classify.Choice{{Code: "H13001", Name: "邻里纠纷", Label: "H13001", Confidence: 0.2},
		{Code: "06020", Name: "噪声扰民", Label: "06020", Confidence: 0.15}}
}

type fixture struct {
	store  *memstore.Store
	svc    *classify.Service
	signer *auth.Signer
	conn   *grpc.ClientConn
	reload int
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ref, err := reference.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Load("", ref)
	if err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(nil)
	f := &fixture{store: memstore.New(), signer: auth.NewSigner(key)}
	f.svc = classify.New(classify.DefaultConfig(), f.store, classify.Deps{
		Reference: func() *reference.Set { return ref }, Rules: func() *rules.Set { return rs },
		Model: func() classify.Model { return lowModel{} },
		Reload: func(context.Context) (classify.ReloadResult, error) {
			f.reload++
			return classify.ReloadResult{ModelVersion: "low2", PreviousModelVersion: "low1", Source: "default", Labels: 2}, nil
		},
	})
	srv := grpcserver.New(grpcserver.Options{Verifier: auth.NewVerifier(pub)})
	classifyv1.RegisterClassifyServiceServer(srv, grpcapi.New(f.svc, func() *reference.Set { return ref }, time.Now))
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f.conn = conn
	return f
}

func (f *fixture) as(t *testing.T, who string) (context.Context, classifyv1.ClassifyServiceClient) {
	t.Helper()
	p, err := auth.ParsePrincipal(who)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.signer.Issue(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok), classifyv1.NewClassifyServiceClient(f.conn)
}

func TestCatalogue(t *testing.T) {
	f := setup(t)
	ctx, c := f.as(t, "hotline")
	var got []string
	req := &classifyv1.ListCatalogueRequest{PageSize: 40, Tree: classifyv1.CatalogueTree_CATALOGUE_TREE_URBAN}
	for {
		resp, err := c.ListCatalogue(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range resp.GetItems() {
			got = append(got, it.GetCode())
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if len(got) != 10+49 || got[0] != "01" || got[len(got)-1] != "10999" {
		t.Errorf("urban tree: %d entries from %s to %s", len(got), got[0], got[len(got)-1])
	}
	resp, err := c.GetCatalogueItem(ctx, &classifyv1.GetCatalogueItemRequest{Key: &classifyv1.GetCatalogueItemRequest_Name{Name: "煤气泄漏"}})
	if err != nil {
		t.Fatal(err)
	}
	it := resp.GetItem()
	if it.GetCode() != "H01008" || it.GetDefaultUrgency() != typesv1.Urgency_URGENCY_EMERGENCY || it.GetDuplicateWindow().AsDuration() != time.Hour {
		t.Errorf("煤气泄漏 = %v", it)
	}
	_, err = c.GetCatalogueItem(ctx, &classifyv1.GetCatalogueItemRequest{Key: &classifyv1.GetCatalogueItemRequest_Code{Code: "99999"}})
	if status.Code(err) != codes.NotFound {
		t.Errorf("unknown code: %v", err)
	}
	_, err = c.ListCatalogue(ctx, &classifyv1.ListCatalogueRequest{ClassCode: "06001"})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("item as class: %v", err)
	}
	// No credential.
	_, err = classifyv1.NewClassifyServiceClient(f.conn).ListCatalogue(context.Background(), &classifyv1.ListCatalogueRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("no token: %v", err)
	}
}

func TestReviewOverGRPC(t *testing.T) {
	f := setup(t)
	c := classify.Case{ID: "case-1", Number: "GF-20260302-000001", Source: reference.FromHotline, Content: "有点事",
		Area: reference.AreaCodes{District: "310106", Street: "310106022", Community: "0", Grid: "0"}, ReceivedAt: time.Now()}
	if err := f.store.Tx(context.Background(), func(ctx context.Context, tx classify.Tx) error { return f.svc.Receive(ctx, tx, c) }); err != nil {
		t.Fatal(err)
	}
	ctx, cl := f.as(t, "dispatcher:310106022")
	q, err := cl.ListReviewQueue(ctx, &classifyv1.ListReviewQueueRequest{})
	if err != nil || len(q.GetReviews()) != 1 {
		t.Fatalf("queue = %v, %v", q, err)
	}
	rv := q.GetReviews()[0]
	if rv.GetState() != classifyv1.ReviewState_REVIEW_STATE_WAITING || len(rv.GetChoices()) != 2 || rv.GetChoices()[0].GetItemName() != "邻里纠纷" {
		t.Errorf("review = %v", rv)
	}
	// A bad byte in the note is a field violation, not INTERNAL.
	_, err = cl.ResolveReview(ctx, &classifyv1.ResolveReviewRequest{RequestId: "r1", CaseId: "case-1", ItemCode: "06020", Note: "\xff"})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument || len(st.Details()) == 0 {
		t.Fatalf("bad note: %v", err)
	}
	if br, ok := st.Details()[0].(*errdetails.BadRequest); !ok || br.GetFieldViolations()[0].GetField() != "note" {
		t.Errorf("details = %v", st.Details())
	}
	resp, err := cl.ResolveReview(ctx, &classifyv1.ResolveReviewRequest{RequestId: "r1", CaseId: "case-1", ItemCode: "06020",
		Urgency: typesv1.Urgency_URGENCY_URGENT, Note: "夜里噪声"})
	if err != nil {
		t.Fatal(err)
	}
	got := resp.GetClassification()
	if got.GetVersion() != 1 || got.GetItemCode() != "06020" || got.GetUrgency() != typesv1.Urgency_URGENCY_URGENT ||
		got.GetActor().GetRole() != "dispatcher" || got.GetModelVersion() != "low1" {
		t.Errorf("classification = %v", got)
	}
	hist, err := cl.GetClassification(ctx, &classifyv1.GetClassificationRequest{CaseId: "case-1"})
	if err != nil || len(hist.GetVersions()) != 1 || hist.GetReview().GetState() != classifyv1.ReviewState_REVIEW_STATE_RESOLVED {
		t.Errorf("history = %v, %v", hist, err)
	}
	octx, other := f.as(t, "dispatcher:310106021")
	if _, err := other.GetClassification(octx, &classifyv1.GetClassificationRequest{CaseId: "case-1"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("other street: %v", err)
	}
	// Corrections are admin's.
	if _, err := cl.ListCorrections(ctx, &classifyv1.ListCorrectionsRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("dispatcher exporting: %v", err)
	}
	actx, admin := f.as(t, "admin")
	corr, err := admin.ListCorrections(actx, &classifyv1.ListCorrectionsRequest{})
	if err != nil || len(corr.GetCorrections()) != 1 || corr.GetCorrections()[0].GetFirstLevelClass() != "环境保护" {
		t.Errorf("corrections = %v, %v", corr, err)
	}
}

func TestReloadModelIsAdmins(t *testing.T) {
	f := setup(t)
	ctx, c := f.as(t, "dispatcher:310106022")
	if _, err := c.ReloadModel(ctx, &classifyv1.ReloadModelRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("dispatcher reload: %v", err)
	}
	actx, a := f.as(t, "admin")
	resp, err := a.ReloadModel(actx, &classifyv1.ReloadModelRequest{})
	if err != nil || resp.GetModelVersion() != "low2" || resp.GetPreviousModelVersion() != "low1" || f.reload != 1 {
		t.Errorf("reload = %v, %v (%d reloads)", resp, err, f.reload)
	}
}

// GetClassification over the wire: each of the three reference fields
// finds the case; two at once, or a malformed one, is InvalidArgument naming
// the field; an unknown one NotFound naming what was asked. (The same reads
// against PostgreSQL: postgres.TestGetClassificationByAnyReference.)
func TestGetClassificationByAnyReferenceOverGRPC(t *testing.T) {
	f := setup(t)
	c := classify.Case{ID: "case-1", Number: "GF-20260302-000001", HotlineOrderNo: "12345-0001", Source: reference.FromHotline,
		Content: "有点事", Area: reference.AreaCodes{District: "310106", Street: "310106022", Community: "0", Grid: "0"}, ReceivedAt: time.Now()}
	if err := f.store.Tx(context.Background(), func(ctx context.Context, tx classify.Tx) error { return f.svc.Receive(ctx, tx, c) }); err != nil {
		t.Fatal(err)
	}
	ctx, cl := f.as(t, "dispatcher:310106022")
	for _, req := range []*classifyv1.GetClassificationRequest{{CaseId: "case-1"}, {CaseNumber: "GF-20260302-000001"}, {HotlineOrderNo: "12345-0001"}} {
		got, err := cl.GetClassification(ctx, req)
		if err != nil || got.GetReview().GetCaseId() != "case-1" {
			t.Errorf("GetClassification(%v) = %v, %v", req, got, err)
		}
	}
	for _, tc := range []struct {
		req   *classifyv1.GetClassificationRequest
		field string
	}{
		{&classifyv1.GetClassificationRequest{CaseId: "case-1", CaseNumber: "GF-20260302-000001"}, "case_id"},
		{&classifyv1.GetClassificationRequest{CaseNumber: "GF-1"}, "case_number"},
		{&classifyv1.GetClassificationRequest{CaseId: "GF-20260302-000001"}, "case_id"},
		{&classifyv1.GetClassificationRequest{}, "case_id"},
	} {
		_, err := cl.GetClassification(ctx, tc.req)
		st := status.Convert(err)
		br, ok := errdetailsOf(st)
		if st.Code() != codes.InvalidArgument || !ok || br.GetFieldViolations()[0].GetField() != tc.field {
			t.Errorf("GetClassification(%v) = %v, want InvalidArgument on %s", tc.req, err, tc.field)
		}
	}
	// Unknown: NotFound naming what was asked to admin; a street's
	// dispatcher hears what it hears of another street's case.
	actx, acl := f.as(t, "admin")
	_, err := acl.GetClassification(actx, &classifyv1.GetClassificationRequest{CaseNumber: "GF-20260302-000009"})
	if st := status.Convert(err); st.Code() != codes.NotFound || st.Message() != `classify knows no case with case number "GF-20260302-000009"` {
		t.Errorf("unknown case number: %v", err)
	}
	_, err = cl.GetClassification(ctx, &classifyv1.GetClassificationRequest{CaseNumber: "GF-20260302-000009"})
	if st := status.Convert(err); st.Code() != codes.PermissionDenied || st.Message() != `case GF-20260302-000009 is not within the caller's scope` {
		t.Errorf("unknown case number by a street's dispatcher: %v", err)
	}
}

func errdetailsOf(st *status.Status) (*errdetails.BadRequest, bool) {
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return br, true
		}
	}
	return nil, false
}
