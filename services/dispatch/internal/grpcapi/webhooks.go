package grpcapi

import (
	"context"

	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/dispatch/internal/webhooks"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
)

// Webhooks implements dispatchv1.WebhookServiceServer (issue 19).
type Webhooks struct {
	dispatchv1.UnimplementedWebhookServiceServer
	svc *webhooks.Service
}

// NewWebhooks returns the gRPC face of svc.
func NewWebhooks(svc *webhooks.Service) *Webhooks { return &Webhooks{svc: svc} }

func webhookOut(w webhooks.Webhook) *dispatchv1.Webhook {
	return &dispatchv1.Webhook{WebhookId: w.ID, DepartmentCode: w.Department, Url: w.URL, Events: w.Events,
		CreatedAt: wire.TimeOut(w.CreatedAt), CreatedBy: w.CreatedBy}
}

var deliveryStates = map[webhooks.State]dispatchv1.WebhookDeliveryState{
	webhooks.Pending:   dispatchv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_PENDING,
	webhooks.Delivered: dispatchv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_DELIVERED,
	webhooks.Dead:      dispatchv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_DEAD,
}

func deliveryOut(d webhooks.Delivery) *dispatchv1.WebhookDelivery {
	return &dispatchv1.WebhookDelivery{DeliveryId: d.ID, WebhookId: d.WebhookID, DepartmentCode: d.Department, Url: d.URL,
		EventId: d.EventID, EventType: d.EventType, CaseId: d.CaseID, State: deliveryStates[d.State], Attempts: int32(d.Attempts),
		NextAttemptAt: wire.TimeOut(d.NextTry), LastError: d.LastError, CreatedAt: wire.TimeOut(d.CreatedAt),
		UpdatedAt: wire.TimeOut(d.UpdatedAt)}
}

// RegisterWebhook implements dispatchv1.WebhookServiceServer.
func (s *Webhooks) RegisterWebhook(ctx context.Context, req *dispatchv1.RegisterWebhookRequest) (*dispatchv1.RegisterWebhookResponse, error) {
	w, secret, err := s.svc.Register(ctx, webhooks.RegisterInput{RequestID: req.GetRequestId(), Department: req.GetDepartmentCode(),
		URL: req.GetUrl(), Events: req.GetEvents()})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.RegisterWebhookResponse{Webhook: webhookOut(w), Secret: secret}, nil
}

// ListWebhooks implements dispatchv1.WebhookServiceServer.
func (s *Webhooks) ListWebhooks(ctx context.Context, req *dispatchv1.ListWebhooksRequest) (*dispatchv1.ListWebhooksResponse, error) {
	ws, next, err := s.svc.List(ctx, req.GetDepartmentCode(), int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &dispatchv1.ListWebhooksResponse{NextPageToken: next}
	for _, w := range ws {
		out.Webhooks = append(out.Webhooks, webhookOut(w))
	}
	return out, nil
}

// DeleteWebhook implements dispatchv1.WebhookServiceServer.
func (s *Webhooks) DeleteWebhook(ctx context.Context, req *dispatchv1.DeleteWebhookRequest) (*dispatchv1.DeleteWebhookResponse, error) {
	if err := s.svc.Delete(ctx, req.GetRequestId(), req.GetWebhookId()); err != nil {
		return nil, err
	}
	return &dispatchv1.DeleteWebhookResponse{}, nil
}

// ListWebhookDeliveries implements dispatchv1.WebhookServiceServer.
func (s *Webhooks) ListWebhookDeliveries(ctx context.Context, req *dispatchv1.ListWebhookDeliveriesRequest) (*dispatchv1.ListWebhookDeliveriesResponse, error) {
	f := webhooks.DeliveryFilter{Department: req.GetDepartmentCode(), PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()}
	for _, st := range req.GetStates() {
		found := false
		for d, p := range deliveryStates {
			if p == st {
				f.States, found = append(f.States, d), true
			}
		}
		if !found {
			return nil, invalid("states", "unknown state %v", st)
		}
	}
	ds, next, err := s.svc.ListDeliveries(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &dispatchv1.ListWebhookDeliveriesResponse{NextPageToken: next}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, deliveryOut(d))
	}
	return out, nil
}

// RetryWebhookDelivery implements dispatchv1.WebhookServiceServer.
func (s *Webhooks) RetryWebhookDelivery(ctx context.Context, req *dispatchv1.RetryWebhookDeliveryRequest) (*dispatchv1.RetryWebhookDeliveryResponse, error) {
	d, err := s.svc.RetryDelivery(ctx, req.GetRequestId(), req.GetDeliveryId())
	if err != nil {
		return nil, err
	}
	return &dispatchv1.RetryWebhookDeliveryResponse{Delivery: deliveryOut(d)}, nil
}
