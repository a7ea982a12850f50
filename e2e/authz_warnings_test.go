package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// Early warning (issue 20): the matrix's calls of WarningService, over two
// warnings of 芷江西路 it raises for the purpose (four reports at each of
// two places of its own). Acknowledge and dismiss change the warning, so
// the first allowed column succeeds and the later allowed ones find it no
// longer raised (F).
func authzWarningCalls(t *testing.T, s *stack) map[string]func(ctx context.Context, col string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	now := time.Now().Add(-time.Minute)
	ackID := authzWarning(t, ctx, s, warningOrders(t, ctx, s, "AZ-WA", "上海市静安区共和新路8871弄1号", now, now, now, now))
	dismissID := authzWarning(t, ctx, s, warningOrders(t, ctx, s, "AZ-WD", "上海市静安区共和新路8872弄1号", now, now, now, now))
	clients := map[string]feedbackv1.WarningServiceClient{}
	for _, col := range append(append(slices.Clone(authzColumns), authzPublic), authzGridLeaders...) {
		clients[col] = feedbackv1.NewWarningServiceClient(authzDial(t, s, "feedback", col))
	}
	return map[string]func(ctx context.Context, col string) error{
		"WarningService/ListWarnings": func(ctx context.Context, col string) error {
			_, err := clients[col].ListWarnings(ctx, &feedbackv1.ListWarningsRequest{AreaCode: zhijiang})
			return err
		},
		"WarningService/GetWarning": func(ctx context.Context, col string) error {
			_, err := clients[col].GetWarning(ctx, &feedbackv1.GetWarningRequest{WarningId: ackID})
			return err
		},
		"WarningService/AcknowledgeWarning": func(ctx context.Context, col string) error {
			_, err := clients[col].AcknowledgeWarning(ctx, &feedbackv1.AcknowledgeWarningRequest{RequestId: "az-ack-" + col, WarningId: ackID})
			return err
		},
		"WarningService/DismissWarning": func(ctx context.Context, col string) error {
			_, err := clients[col].DismissWarning(ctx, &feedbackv1.DismissWarningRequest{RequestId: "az-dismiss-" + col, WarningId: dismissID,
				Note: "临时情况"})
			return err
		},
	}
}

// authzWarning waits for the place warning raised over ids and returns its id.
func authzWarning(t *testing.T, ctx context.Context, s *stack, ids []string) string {
	t.Helper()
	admin := feedbackv1.NewWarningServiceClient(s.dial(t, "feedback", auth.Principal{Role: auth.RoleAdmin}))
	deadline := time.Now().Add(time.Minute)
	for {
		r, err := admin.ListWarnings(ctx, &feedbackv1.ListWarningsRequest{Kind: "place", AreaCode: zhijiang, PageSize: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range r.GetWarnings() {
			if slices.Contains(w.GetReasons().GetCaseIds(), ids[0]) {
				return w.GetKey().GetWarningId()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no warning over cases %v", ids)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
