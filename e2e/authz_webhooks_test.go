package e2e

import (
	"context"
	"sync"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
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
	}
}

type authzError string

func (e authzError) Error() string { return string(e) }

const errNoSecret = authzError("RegisterWebhook answered no secret")
