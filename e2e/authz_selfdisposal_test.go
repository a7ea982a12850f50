package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
)

// Self-disposal (issue 20): the grid leader's principal and feedback's
// SelfDisposalService in the authorization matrix.

// The grid leaders' columns: the leader of the grid of the matrix's patrol
// report (w-0031's first, in 310106022001001) and the leader of the grid
// next to it, which asks for the same case and learns nothing.
var authzGridLeaders = []string{"gridleader:310106022001001", "gridleader:310106022001002"}

// authzGridLeaderAllowed is what each leader column may do, written out by
// hand from DESIGN.md and issue 20; every other RPC is PERMISSION_DENIED.
// A leader reads its grid's cases (the matrix's patrol report) through
// feedback, masked, lists its grid's cases and self-disposals, reads its
// grid's 自处率, and checks self-disposals: the patrol report sent is not
// one (FAILED_PRECONDITION) — its neighbour is refused before its state.
var authzGridLeaderAllowed = map[string][2]string{
	"FeedbackService/GetCase":                    {"O", "P"},
	"FeedbackService/GetCaseTimeline":            {"O", "P"},
	"FeedbackService/ListCases":                  {"O", "O"},
	"SelfDisposalService/ListSelfDisposals":      {"O", "O"},
	"SelfDisposalService/CheckSelfDisposal":      {"F", "P"},
	"SelfDisposalService/GetSelfDisposalFigures": {"O", "O"},
}

// authzSelfDisposalCalls are the matrix's calls of SelfDisposalService. A
// check sends a valid request about the column's home case, which is not a
// self-disposal: allowed callers get FAILED_PRECONDITION (the case's state
// refuses it), callers outside its scope PERMISSION_DENIED.
func authzSelfDisposalCalls(t *testing.T, s *stack, w *authzWorld) map[string]func(ctx context.Context, col string) error {
	sd := map[string]feedbackv1.SelfDisposalServiceClient{}
	for _, col := range append(append(authzColumns, authzPublic), authzGridLeaders...) {
		sd[col] = feedbackv1.NewSelfDisposalServiceClient(authzDial(t, s, "feedback", col))
	}
	period := &feedbackv1.Period{Start: timestamppb.New(time.Now().Add(-30 * 24 * time.Hour)), End: timestamppb.New(time.Now().Add(time.Hour))}
	return map[string]func(ctx context.Context, col string) error{
		"SelfDisposalService/ListSelfDisposals": func(ctx context.Context, col string) error {
			resp, err := sd[col].ListSelfDisposals(ctx, &feedbackv1.ListSelfDisposalsRequest{PageSize: 10})
			return masked(resp, err)
		},
		"SelfDisposalService/CheckSelfDisposal": func(ctx context.Context, col string) error {
			_, err := sd[col].CheckSelfDisposal(ctx, &feedbackv1.CheckSelfDisposalRequest{RequestId: w.rid("sd", strings.ReplaceAll(col, ":", "-")),
				CaseId: w.authzHome(col).id, Verdict: feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_CONFIRMED})
			return err
		},
		"SelfDisposalService/GetSelfDisposalFigures": func(ctx context.Context, col string) error {
			_, err := sd[col].GetSelfDisposalFigures(ctx, &feedbackv1.GetSelfDisposalFiguresRequest{Period: period})
			return err
		},
	}
}

// authzGridLeaderColumns calls every RPC as each grid leader column
// (authzGridLeaderAllowed). The public door's calls dial their own clients
// per column, so those are sent here; the policy refuses the role before
// any request is read.
func authzGridLeaderColumns(t *testing.T, ctx context.Context, s *stack, w *authzWorld, calls map[string]func(ctx context.Context, col string) error) {
	for i, col := range authzGridLeaders {
		w.intake[col] = intakev1.NewIntakeServiceClient(authzDial(t, s, "intake", col))
		w.classify[col] = classifyv1.NewClassifyServiceClient(authzDial(t, s, "classify", col))
		w.dispatch[col] = dispatchv1.NewDispatchServiceClient(authzDial(t, s, "dispatch", col))
		w.feedback[col] = feedbackv1.NewFeedbackServiceClient(authzDial(t, s, "feedback", col))
		w.webhooks[col] = dispatchv1.NewWebhookServiceClient(authzDial(t, s, "dispatch", col))
		public := intakev1.NewPublicIntakeServiceClient(authzDial(t, s, "intake", col))
		publicCases := feedbackv1.NewPublicCaseServiceClient(authzDial(t, s, "feedback", col))
		for rpc, call := range calls {
			want := "P"
			if a, ok := authzGridLeaderAllowed[rpc]; ok {
				want = a[i]
			}
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			var err error
			switch rpc {
			case "PublicIntakeService/SubmitPublicRequest":
				_, err = public.SubmitPublicRequest(cctx, &intakev1.SubmitPublicRequestRequest{})
			case "PublicCaseService/ListPublicCases":
				_, err = publicCases.ListPublicCases(cctx, &feedbackv1.ListPublicCasesRequest{})
			case "PublicCaseService/GetPublicCase":
				_, err = publicCases.GetPublicCase(cctx, &feedbackv1.GetPublicCaseRequest{CaseId: w.home.id})
			default:
				err = call(cctx, col)
			}
			cancel()
			if got := authzCode(err); got != want {
				t.Errorf("%s as %s: %s (%v), want %s", rpc, col, got, err, want)
			}
		}
	}
}
