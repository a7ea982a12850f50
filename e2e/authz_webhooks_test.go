package e2e

import (
	"context"
	"sync"
	"time"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
)

// authzWebhookCalls are the matrix's calls of dispatch's WebhookService
// (issue 19). The receiver's URL answers nothing: the stack's deliveries to
// it fail and wait for their next try, which the matrix does not look at.
func authzWebhookCalls(w *authzWorld) map[string]func(ctx context.Context, col string) error {
	squad := zhijiang + "-cgzd"
	const url = "https://receiver.invalid/gridflow"
	// The squad's registration the DeleteWebhook row deletes, made by admin
	// at its first call.
	var once sync.Once
	var victim string
	var victimErr error
	// The squad's delivery the RetryWebhookDelivery row retries: admin
	// registers for the squad, the hotline submits a case the squad leads,
	// and its task.dispatched delivery is waited for (issue 19).
	var onceDelivery sync.Once
	var delivery string
	var deliveryErr error
	return map[string]func(ctx context.Context, col string) error{
		"WebhookService/RegisterWebhook": func(ctx context.Context, col string) error {
			req := &dispatchv1.RegisterWebhookRequest{RequestId: w.rid("hook", col), Url: url, Events: []string{"task.dispatched"}}
			if col == "admin" {
				req.DepartmentCode = squad
			}
			resp, err := w.webhooks[col].RegisterWebhook(ctx, req)
			if err == nil && resp.GetSecret() == "" {
				return errNoSecret
			}
			return err
		},
		"WebhookService/ListWebhooks": func(ctx context.Context, col string) error {
			_, err := w.webhooks[col].ListWebhooks(ctx, &dispatchv1.ListWebhooksRequest{})
			return err
		},
		"WebhookService/DeleteWebhook": func(ctx context.Context, col string) error {
			once.Do(func() {
				resp, err := w.webhooks["admin"].RegisterWebhook(ctx, &dispatchv1.RegisterWebhookRequest{RequestId: w.rid("victim", "admin"),
					DepartmentCode: squad, Url: url})
				victim, victimErr = resp.GetWebhook().GetWebhookId(), err
			})
			if victimErr != nil {
				return victimErr
			}
			_, err := w.webhooks[col].DeleteWebhook(ctx, &dispatchv1.DeleteWebhookRequest{RequestId: w.rid("unhook", col), WebhookId: victim})
			return err
		},
		"WebhookService/ListWebhookDeliveries": func(ctx context.Context, col string) error {
			_, err := w.webhooks[col].ListWebhookDeliveries(ctx, &dispatchv1.ListWebhookDeliveriesRequest{
				States: []dispatchv1.WebhookDeliveryState{dispatchv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_DEAD}})
			return err
		},
		"WebhookService/RetryWebhookDelivery": func(ctx context.Context, col string) error {
			onceDelivery.Do(func() { delivery, deliveryErr = authzSquadDelivery(ctx, w, squad, url) })
			if deliveryErr != nil {
				return deliveryErr
			}
			_, err := w.webhooks[col].RetryWebhookDelivery(ctx, &dispatchv1.RetryWebhookDeliveryRequest{RequestId: w.rid("retry", col), DeliveryId: delivery})
			return err
		},
	}
}

// authzSquadDelivery makes a webhook delivery for squad and answers its id.
func authzSquadDelivery(ctx context.Context, w *authzWorld, squad, url string) (string, error) {
	reg, err := w.webhooks["admin"].RegisterWebhook(ctx, &dispatchv1.RegisterWebhookRequest{RequestId: w.rid("retried", "admin"),
		DepartmentCode: squad, Url: url, Events: []string{"task.dispatched"}})
	if err != nil {
		return "", err
	}
	if _, err := w.intake["hotline"].SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: authzNoise(w.rid("retried", "hotline"), 77)}); err != nil {
		return "", err
	}
	for {
		resp, err := w.webhooks["admin"].ListWebhookDeliveries(ctx, &dispatchv1.ListWebhookDeliveriesRequest{DepartmentCode: squad, PageSize: 500})
		if err != nil {
			return "", err
		}
		for _, d := range resp.GetDeliveries() {
			if d.GetWebhookId() == reg.GetWebhook().GetWebhookId() {
				return d.GetDeliveryId(), nil
			}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

type authzError string

func (e authzError) Error() string { return string(e) }

const errNoSecret = authzError("RegisterWebhook answered no secret")
