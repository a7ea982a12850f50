package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// authzPublicCalls are the matrix's calls of the public's door (Open311,
// issue 19): intake's PublicIntakeService and feedback's PublicCaseService,
// each column dialled on its own.
func authzPublicCalls(t *testing.T, s *stack, w *authzWorld) map[string]func(ctx context.Context, col string) error {
	intake := map[string]intakev1.PublicIntakeServiceClient{}
	cases := map[string]feedbackv1.PublicCaseServiceClient{}
	for _, col := range append(authzColumns, authzPublic) {
		intake[col] = intakev1.NewPublicIntakeServiceClient(authzDial(t, s, "intake", col))
		cases[col] = feedbackv1.NewPublicCaseServiceClient(authzDial(t, s, "feedback", col))
	}
	return map[string]func(ctx context.Context, col string) error{
		"PublicIntakeService/SubmitPublicRequest": func(ctx context.Context, col string) error {
			_, err := intake[col].SubmitPublicRequest(ctx, &intakev1.SubmitPublicRequestRequest{Request: &intakev1.PublicRequest{
				RequestId: w.rid("o311", strings.ReplaceAll(col, ":", "-")), ServiceCode: "06022", Description: "路口露天烧烤，油烟很大",
				Location: &typesv1.LatLng{Lat: 31.2980, Lng: 121.4500, Datum: typesv1.Datum_DATUM_WGS84}}})
			return err
		},
		"PublicCaseService/ListPublicCases": func(ctx context.Context, col string) error {
			_, err := cases[col].ListPublicCases(ctx, &feedbackv1.ListPublicCasesRequest{PageSize: 10})
			return err
		},
		"PublicCaseService/GetPublicCase": func(ctx context.Context, col string) error {
			_, err := cases[col].GetPublicCase(ctx, &feedbackv1.GetPublicCaseRequest{CaseId: w.home.id})
			return err
		},
	}
}

// authzPublic is the public's column: a key's principal.
const authzPublic = "public:k0123456789ab"

// authzPublicColumn calls every RPC as the public: refused everywhere but
// the catalogue and its own door (DESIGN.md: the public reads services and
// request status, and may submit) — and never a 12345 case.
func authzPublicColumn(t *testing.T, ctx context.Context, s *stack, w *authzWorld, calls map[string]func(ctx context.Context, col string) error) {
	w.intake[authzPublic] = intakev1.NewIntakeServiceClient(authzDial(t, s, "intake", authzPublic))
	w.classify[authzPublic] = classifyv1.NewClassifyServiceClient(authzDial(t, s, "classify", authzPublic))
	w.dispatch[authzPublic] = dispatchv1.NewDispatchServiceClient(authzDial(t, s, "dispatch", authzPublic))
	w.feedback[authzPublic] = feedbackv1.NewFeedbackServiceClient(authzDial(t, s, "feedback", authzPublic))
	w.webhooks[authzPublic] = dispatchv1.NewWebhookServiceClient(authzDial(t, s, "dispatch", authzPublic))
	allowed := map[string]string{
		"ClassifyService/ListCatalogue":           "O",
		"ClassifyService/GetCatalogueItem":        "O",
		"PublicIntakeService/SubmitPublicRequest": "O",
		"PublicCaseService/ListPublicCases":       "O",
	}
	for rpc, call := range calls {
		want := allowed[rpc]
		if want == "" {
			want = "P"
		}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := call(cctx, authzPublic)
		cancel()
		if got := authzCode(err); got != want {
			t.Errorf("%s as %s: %s (%v), want %s", rpc, authzPublic, got, err, want)
		}
	}
}
