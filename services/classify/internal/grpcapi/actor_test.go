package grpcapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/testing/protocmp"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// The dispatcher a credential names is the actor of the classification
// their review files, and the one who resolved the review.
func TestPersonIsTheActor(t *testing.T) {
	f := setup(t)
	c := classify.Case{ID: "case-p", Number: "GF-20260302-000002", Source: reference.FromHotline, Content: "有点事",
		Area: reference.AreaCodes{District: "310106", Street: "310106022", Community: "0", Grid: "0"}, ReceivedAt: time.Now()}
	if err := f.store.Tx(context.Background(), func(ctx context.Context, tx classify.Tx) error { return f.svc.Receive(ctx, tx, c) }); err != nil {
		t.Fatal(err)
	}
	tok, err := f.signer.Issue(auth.Principal{Role: auth.RoleDispatcher, Subject: "310106022", Person: auth.Person{ID: "zj-07", Name: "王芳"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
	cl := classifyv1.NewClassifyServiceClient(f.conn)
	resp, err := cl.ResolveReview(ctx, &classifyv1.ResolveReviewRequest{RequestId: "r-p", CaseId: "case-p", ItemCode: "06020"})
	if err != nil {
		t.Fatal(err)
	}
	want := &typesv1.Principal{Role: "dispatcher", Subject: "310106022", Person: &typesv1.Person{Id: "zj-07", Name: "王芳"}}
	if diff := cmp.Diff(want, resp.GetClassification().GetActor(), protocmp.Transform()); diff != "" {
		t.Errorf("classification actor mismatch (-want +got):\n%s", diff)
	}
	hist, err := cl.GetClassification(ctx, &classifyv1.GetClassificationRequest{CaseId: "case-p"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, hist.GetReview().GetResolvedBy(), protocmp.Transform()); diff != "" {
		t.Errorf("review resolved by mismatch (-want +got):\n%s", diff)
	}
}
