package grpcapi_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/notify"
	"github.com/gridflow/gridflow/services/dispatch/internal/postgres"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
)

// Dead deliveries retried (issue 19): once the receiver is mended, the
// owning department (or admin) sends a dead letter again, and it arrives.
func TestWebhookDeadDeliveryRetriedIsDelivered(t *testing.T) {
	e := setup(t)
	pcs := "department:" + zj + "-pcs"
	hc, hctx := e.hooks(pcs)
	rcv := newReceiver(t, -1) // down until mended
	reg, err := hc.RegisterWebhook(hctx, &dispatchv1.RegisterWebhookRequest{RequestId: "reg-1", Url: rcv.srv.URL + "/hook",
		Events: []string{"task.dispatched"}})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := hc.RegisterWebhook(hctx, &dispatchv1.RegisterWebhookRequest{RequestId: "reg-2", Url: rcv.srv.URL + "/old",
		Events: []string{"task.dispatched"}})
	if err != nil {
		t.Fatal(err)
	}
	caseID := e.newCase("H04001", zj, true) // the street's police station leads
	e.waitTasks(caseID, 1)

	b := notify.Backoff{Base: 50 * time.Millisecond, Max: 100 * time.Millisecond, Attempts: 2}
	stop := e.worker(e.pool, b)
	deadOnes := func() map[string]*dispatchv1.WebhookDelivery {
		resp, err := hc.ListWebhookDeliveries(hctx, &dispatchv1.ListWebhookDeliveriesRequest{
			States: []dispatchv1.WebhookDeliveryState{dispatchv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_DEAD}})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*dispatchv1.WebhookDelivery{}
		for _, d := range resp.GetDeliveries() {
			out[d.GetWebhookId()] = d
		}
		return out
	}
	waitUntil(t, "two dead letters", func() bool { return len(deadOnes()) == 2 })
	stop()
	dead := deadOnes()
	d, old := dead[reg.GetWebhook().GetWebhookId()], dead[gone.GetWebhook().GetWebhookId()]
	if d.GetAttempts() != 2 || d.GetLastError() != "receiver answered 500" {
		t.Fatalf("dead delivery %v", d)
	}
	st := postgres.New(e.pool, nil)
	if got, err := st.WebhookGauges().Poll(e.ctx); err != nil || got[postgres.GaugeDeadWebhooks] != 2 {
		t.Errorf("gauges with two dead letters %v, %v", got, err)
	}
	// A deleted registration's dead letter stays listed but is not counted:
	// nobody can retry it.
	if _, err := hc.DeleteWebhook(hctx, &dispatchv1.DeleteWebhookRequest{RequestId: "del-2", WebhookId: gone.GetWebhook().GetWebhookId()}); err != nil {
		t.Fatal(err)
	}
	if got, err := st.WebhookGauges().Poll(e.ctx); err != nil || got[postgres.GaugeDeadWebhooks] != 1 || len(deadOnes()) != 2 {
		t.Errorf("gauges after the delete %v, %v", got, err)
	}

	other, octx := e.hooks("department:" + lf + "-cgzd")
	disp, dctx := e.hooks("dispatcher:" + zj)
	for _, tt := range []struct {
		name   string
		call   func() error
		code   codes.Code
		fields []string
	}{
		{"another unit's delivery", func() error {
			_, err := other.RetryWebhookDelivery(octx, &dispatchv1.RetryWebhookDeliveryRequest{RequestId: "x", DeliveryId: d.GetDeliveryId()})
			return err
		}, codes.PermissionDenied, nil},
		{"a dispatcher", func() error {
			_, err := disp.RetryWebhookDelivery(dctx, &dispatchv1.RetryWebhookDeliveryRequest{RequestId: "x", DeliveryId: d.GetDeliveryId()})
			return err
		}, codes.PermissionDenied, nil},
		{"a delivery that is not there", func() error {
			_, err := hc.RetryWebhookDelivery(hctx, &dispatchv1.RetryWebhookDeliveryRequest{RequestId: "x", DeliveryId: "0190a5e0-0000-7000-8000-000000000000"})
			return err
		}, codes.PermissionDenied, nil},
		{"bad input", func() error {
			_, err := hc.RetryWebhookDelivery(hctx, &dispatchv1.RetryWebhookDeliveryRequest{DeliveryId: "nope"})
			return err
		}, codes.InvalidArgument, []string{"request_id", "delivery_id"}},
		{"its registration deleted", func() error {
			_, err := hc.RetryWebhookDelivery(hctx, &dispatchv1.RetryWebhookDeliveryRequest{RequestId: "x", DeliveryId: old.GetDeliveryId()})
			return err
		}, codes.FailedPrecondition, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if status.Code(err) != tt.code {
				t.Fatalf("%v, want %s", err, tt.code)
			}
			if got := fields(err); tt.fields != nil && !slices.Equal(got, tt.fields) {
				t.Fatalf("violations %v, want %v", got, tt.fields)
			}
		})
	}

	// The receiver is mended; the department retries: pending again, its
	// tries counted afresh, due now; a repeat is the same answer.
	rcv.mu.Lock()
	rcv.failFirst = 0
	rcv.mu.Unlock()
	for range 2 {
		resp, err := hc.RetryWebhookDelivery(hctx, &dispatchv1.RetryWebhookDeliveryRequest{RequestId: "retry-1", DeliveryId: d.GetDeliveryId()})
		if err != nil {
			t.Fatal(err)
		}
		if r := resp.GetDelivery(); r.GetState() != dispatchv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_PENDING || r.GetAttempts() != 0 ||
			r.GetDeliveryId() != d.GetDeliveryId() || r.GetEventId() != d.GetEventId() {
			t.Fatalf("retried %v", r)
		}
	}
	if got, err := st.WebhookGauges().Poll(e.ctx); err != nil || got[postgres.GaugeDeadWebhooks] != 0 || got[postgres.GaugePendingWebhooks] != 1 {
		t.Errorf("gauges after the retry %v, %v", got, err)
	}
	before := len(rcv.seen())
	stop = e.worker(e.pool, b)
	defer stop()
	waitUntil(t, "the retried delivery", func() bool { s := rcv.seen(); return len(s) > before && s[len(s)-1].ok })
	last := rcv.seen()[len(rcv.seen())-1]
	if err := notify.Verify([]byte(reg.GetSecret()), last.header, last.body, time.Now(), time.Minute); err != nil ||
		last.header.Get(notify.HeaderEventID) != d.GetEventId() {
		t.Errorf("the retried try: %v (event %s)", err, last.header.Get(notify.HeaderEventID))
	}
	waitUntil(t, "the delivered state", func() bool {
		resp, err := hc.ListWebhookDeliveries(hctx, &dispatchv1.ListWebhookDeliveriesRequest{
			States: []dispatchv1.WebhookDeliveryState{dispatchv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_DELIVERED}})
		return err == nil && len(resp.GetDeliveries()) == 1 && resp.GetDeliveries()[0].GetDeliveryId() == d.GetDeliveryId()
	})
	// Admin may retry any unit's; a delivered one is not retried.
	admin, actx := e.hooks("admin")
	if _, err := admin.RetryWebhookDelivery(actx, &dispatchv1.RetryWebhookDeliveryRequest{RequestId: "retry-2", DeliveryId: d.GetDeliveryId()}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("retry of a delivered one: %v, want FAILED_PRECONDITION", err)
	}
	if got, err := st.WebhookGauges().Poll(e.ctx); err != nil || got[postgres.GaugeDeadWebhooks] != 0 || got[postgres.GaugePendingWebhooks] != 0 {
		t.Errorf("gauges after delivery %v, %v", got, err)
	}
}
