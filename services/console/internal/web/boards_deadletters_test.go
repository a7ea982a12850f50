package web_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/testenv"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	"github.com/gridflow/gridflow/services/console/internal/deadletters"
	"github.com/gridflow/gridflow/services/console/internal/web"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// deadWebhooks answers the board's one call: the dead deliveries, and
// nothing else (a request for other states is a test failure).
type deadWebhooks struct {
	dispatchv1.UnimplementedWebhookServiceServer
	t *testing.T
}

func (s deadWebhooks) ListWebhookDeliveries(ctx context.Context, req *dispatchv1.ListWebhookDeliveriesRequest) (*dispatchv1.ListWebhookDeliveriesResponse, error) {
	if st := req.GetStates(); len(st) != 1 || st[0] != dispatchv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_DEAD {
		s.t.Errorf("the board asks for deliveries in states %v, want the dead ones", st)
	}
	if md, _ := metadata.FromIncomingContext(ctx); len(md.Get("authorization")) != 1 {
		s.t.Error("the board lists deliveries without the person's credential")
	}
	return &dispatchv1.ListWebhookDeliveriesResponse{Deliveries: []*dispatchv1.WebhookDelivery{{DeliveryId: "D1", DepartmentCode: "310106022-cgzd",
		EventType: "task.dispatched", CaseId: "01a23d74-8cea-726e-a019-c94e928393c9", State: dispatchv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_DEAD,
		Attempts: 8, LastError: "HTTP 500: " + boardsHostile, UpdatedAt: timestamppb.New(time.Now())}}}, nil
}

// The escalation board's dead letters (issue 18): GRID_DLQ's counts per
// durable read from a real in-process NATS, narrowed to the street, and
// dispatch's dead webhook deliveries with the receiver's error as text.
func TestEscalationBoardShowsDeadLetters(t *testing.T) {
	_, js := testenv.JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for subject, n := range map[string]int{
		"dlq.classify-cases.grid.case.received.310106.310106022":     3,
		"dlq.feedback-events.grid.incident.grouped.310106.310106021": 2, // the other street's
	} {
		for range n {
			if _, err := js.Publish(ctx, subject, []byte("poison")); err != nil {
				t.Fatal(err)
			}
		}
	}
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	dispatchv1.RegisterDispatchServiceServer(gs, boardsDispatch{})
	dispatchv1.RegisterWebhookServiceServer(gs, deadWebhooks{t: t})
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("passthrough:///dispatch", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	h := newHarnessWith(t, func(string) web.Options {
		return web.Options{Boards: web.Boards{Dispatch: dispatchv1.NewDispatchServiceClient(conn),
			Webhooks: dispatchv1.NewWebhookServiceClient(conn), DeadLetters: deadletters.Counter{JS: js}.Count}}
	})
	b := h.boardsSignedIn("zj-07", "dispatcher:310106022")
	resp, page := h.get(b, "/boards/escalations")
	wantStatus(t, resp, http.StatusOK, "escalation board")
	if !strings.Contains(page, "<tr><td>classify-cases</td><td>3</td></tr>") {
		t.Errorf("the board lacks the street's dead letters of classify-cases (3):\n%s", page)
	}
	if strings.Contains(page, "feedback-events") {
		t.Error("the board counts another street's dead letters")
	}
	if strings.Contains(page, "控制台未连接 NATS") {
		t.Error("the board says it has no NATS connection")
	}
	if !strings.Contains(page, "推送失败（1）") || !strings.Contains(page, "<td>task.dispatched</td>") || !strings.Contains(page, "<td>8</td>") {
		t.Errorf("the board lacks the dead webhook delivery:\n%s", page)
	}
	wantBoardsEscaped(t, "escalation board's dead deliveries", page)
}
