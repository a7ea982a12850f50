// Package webhooks is dispatch's door for departments whose systems can only
// receive (issue 19): their registrations (a URL, a secret, which task
// events) and the deliveries of their task events. It imports no grpc, pgx
// or HTTP client: the store (internal/postgres) keeps registrations and
// deliveries, and a notify.Sender sends.
//
// A delivery row is written for every registration of the unit in the
// transaction that enqueues the task event (the store's commit), so an event
// committed is an event delivered or dead, and never one made twice. The
// Worker drives deliveries from the table alone: a restart, or another
// replica, picks up where the last one stopped.
package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/notify"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/requestid"
)

// ServiceName is the gRPC service whose rows pkg/policy holds.
const ServiceName = "gridflow.dispatch.v1.WebhookService"

// Operations, named as their gRPC methods.
const (
	OpRegister       = "RegisterWebhook"
	OpList           = "ListWebhooks"
	OpDelete         = "DeleteWebhook"
	OpListDeliveries = "ListWebhookDeliveries"
	OpRetryDelivery  = "RetryWebhookDelivery"
)

// Webhook is one registration. Its secret never leaves the store but to
// sign (Claimed.Secret) and once, to the caller who registered it.
type Webhook struct {
	ID         string
	Department string
	URL        string
	Events     []string
	CreatedBy  string
	CreatedAt  time.Time
}

// State is where a delivery is.
type State string

// States.
const (
	Pending   State = "pending"
	Delivered State = "delivered"
	Dead      State = "dead"
)

// Delivery is one task event for one registration.
type Delivery struct {
	ID, WebhookID, Department, URL string
	EventID, EventType, CaseID     string
	State                          State
	Attempts                       int
	NextTry                        time.Time
	LastError                      string
	CreatedAt, UpdatedAt           time.Time
}

// DeliveryFilter narrows ListDeliveries.
type DeliveryFilter struct {
	States     []State
	Department string
	PageSize   int
	PageToken  string
}

// Store keeps registrations and deliveries (internal/postgres).
type Store interface {
	// Register stores w with secret unless the principal's request id was
	// used: then it answers the first registration and its secret, or
	// ALREADY_EXISTS when that one differs.
	Register(ctx context.Context, principal, requestID string, w Webhook, secret []byte) (Webhook, []byte, error)
	ListWebhooks(ctx context.Context, department string, pageSize int, pageToken string) ([]Webhook, string, error)
	// Webhook returns a live registration, NOT_FOUND when none.
	Webhook(ctx context.Context, id string) (Webhook, error)
	Delete(ctx context.Context, id string, at time.Time) error
	ListDeliveries(ctx context.Context, scope policy.Scope, f DeliveryFilter) ([]Delivery, string, error)
	// Delivery returns one delivery and whether its registration is live,
	// NOT_FOUND when there is none.
	Delivery(ctx context.Context, id string) (Delivery, bool, error)
	// Revive makes a dead delivery of a live registration pending again,
	// its tries counted afresh and due at at, and answers it; a delivery
	// not dead (or whose registration ended) is answered as it is.
	Revive(ctx context.Context, id string, at time.Time) (Delivery, error)
}

// Service answers the WebhookService RPCs.
type Service struct {
	store  Store
	events []string
	now    func() time.Time
}

// New returns the service; events are the task events a registration may
// name ("task.dispatched" …).
func New(store Store, events []string, now func() time.Time) *Service {
	return &Service{store: store, events: slices.Sorted(slices.Values(events)), now: now}
}

func authorize(ctx context.Context, op string) (auth.Principal, policy.Scope, error) {
	return policy.Authorize(ctx, policy.Method(ServiceName, op))
}

// unit is the department a call is about: a department's own (naming
// another is PERMISSION_DENIED); admin's named one ("" where it may mean
// every unit).
func unit(p auth.Principal, named string) (string, error) {
	if p.Role != auth.RoleDepartment {
		return named, nil
	}
	if named != "" && named != p.Subject {
		return "", fault.New(fault.PermissionDenied, "%s may manage the webhooks of its own unit only, not %s", p, named)
	}
	return p.Subject, nil
}

// RegisterInput is a registration asked for.
type RegisterInput struct {
	RequestID, Department, URL string
	Events                     []string
}

// MaxEvents bounds the event names of one registration.
const MaxEvents = 64

// Register registers a webhook and answers its secret.
func (s *Service) Register(ctx context.Context, in RegisterInput) (Webhook, string, error) {
	p, _, err := authorize(ctx, OpRegister)
	if err != nil {
		return Webhook{}, "", err
	}
	var vs fault.Violations
	requestid.Check(in.RequestID, &vs)
	if in.Department == "" && p.Role != auth.RoleDepartment {
		vs.Add("department_code", "is required")
	} else if !utf8.ValidString(in.Department) || len(in.Department) > 64 || strings.ContainsAny(in.Department, " .*>\t\n") {
		vs.Add("department_code", "is not a unit code")
	}
	if err := notify.CheckURL(in.URL); err != nil {
		vs.Add("url", "%s", err)
	}
	if len(in.Events) > MaxEvents {
		vs.Add("events", "names more than %d events", MaxEvents)
	}
	seen := map[string]bool{}
	for i, e := range in.Events {
		if _, ok := slices.BinarySearch(s.events, e); !ok {
			vs.Add("events", "event %d %q is not a task event (one of %s)", i, e, strings.Join(s.events, ", "))
		} else if seen[e] {
			vs.Add("events", "event %q is named twice", e)
		}
		seen[e] = true
	}
	if err := vs.Err(); err != nil {
		return Webhook{}, "", err
	}
	dept, err := unit(p, in.Department)
	if err != nil {
		return Webhook{}, "", err
	}
	// The secret is the text the department is given (32 random bytes in
	// base64url): the HMAC key is that text, so any receiver (openssl
	// dgst -hmac "$SECRET") uses it as it was handed over.
	var random [32]byte
	_, _ = rand.Read(random[:])
	secret := []byte(base64.RawURLEncoding.EncodeToString(random[:]))
	w := Webhook{ID: newID(), Department: dept, URL: in.URL, Events: append([]string{}, slices.Sorted(slices.Values(in.Events))...),
		CreatedBy: p.Actor(), CreatedAt: s.now().UTC()}
	w, secret, err = s.store.Register(ctx, p.String(), in.RequestID, w, secret)
	if err != nil {
		return Webhook{}, "", err
	}
	return w, string(secret), nil
}

// List lists the caller's unit's registrations (admin: one unit's or all).
func (s *Service) List(ctx context.Context, department string, pageSize int, pageToken string) ([]Webhook, string, error) {
	p, _, err := authorize(ctx, OpList)
	if err != nil {
		return nil, "", err
	}
	if pageSize < 0 {
		var vs fault.Violations
		vs.Add("page_size", "must not be negative")
		return nil, "", vs.Err()
	}
	dept, err := unit(p, department)
	if err != nil {
		return nil, "", err
	}
	return s.store.ListWebhooks(ctx, dept, pageSize, pageToken)
}

// Delete ends a registration of the caller's unit (admin: any).
func (s *Service) Delete(ctx context.Context, requestID, id string) error {
	p, _, err := authorize(ctx, OpDelete)
	if err != nil {
		return err
	}
	var vs fault.Violations
	requestid.Check(requestID, &vs)
	if !validID(id) {
		vs.Add("webhook_id", "is not a webhook id")
	}
	if err := vs.Err(); err != nil {
		return err
	}
	w, err := s.store.Webhook(ctx, id)
	if err != nil {
		if p.Role == auth.RoleDepartment && fault.KindOf(err) == fault.NotFound {
			// A department learns nothing of other units' registrations.
			return fault.New(fault.PermissionDenied, "webhook %s is not within the caller's scope", id)
		}
		return err
	}
	if _, err := unit(p, w.Department); err != nil {
		return fault.New(fault.PermissionDenied, "webhook %s is not within the caller's scope", id)
	}
	return s.store.Delete(ctx, id, s.now().UTC())
}

// ListDeliveries lists deliveries within the caller's scope: a department
// its own, a dispatcher those of its area's tasks (the escalation board's
// dead letters), admin all.
func (s *Service) ListDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, string, error) {
	p, scope, err := authorize(ctx, OpListDeliveries)
	if err != nil {
		return nil, "", err
	}
	if f.PageSize < 0 {
		var vs fault.Violations
		vs.Add("page_size", "must not be negative")
		return nil, "", vs.Err()
	}
	if f.Department, err = unit(p, f.Department); err != nil {
		return nil, "", err
	}
	return s.store.ListDeliveries(ctx, scope, f)
}

// RetryDelivery gives a dead delivery of the caller's unit (admin: any) a
// new round of tries, due at once, to its registration's URL: after the
// receiver is mended, the dead letters are sent again. A pending delivery
// is answered as it is (a repeat of the request, or the worker already has
// it); a delivered one, or one whose registration was deleted, is
// FAILED_PRECONDITION.
func (s *Service) RetryDelivery(ctx context.Context, requestID, id string) (Delivery, error) {
	p, _, err := authorize(ctx, OpRetryDelivery)
	if err != nil {
		return Delivery{}, err
	}
	var vs fault.Violations
	requestid.Check(requestID, &vs)
	if !validID(id) {
		vs.Add("delivery_id", "is not a delivery id")
	}
	if err := vs.Err(); err != nil {
		return Delivery{}, err
	}
	d, live, err := s.store.Delivery(ctx, id)
	if err != nil {
		if p.Role == auth.RoleDepartment && fault.KindOf(err) == fault.NotFound {
			// A department learns nothing of other units' deliveries.
			return Delivery{}, fault.New(fault.PermissionDenied, "webhook delivery %s is not within the caller's scope", id)
		}
		return Delivery{}, err
	}
	if _, err := unit(p, d.Department); err != nil {
		return Delivery{}, fault.New(fault.PermissionDenied, "webhook delivery %s is not within the caller's scope", id)
	}
	switch {
	case d.State == Pending:
		return d, nil
	case d.State == Delivered:
		return Delivery{}, fault.New(fault.FailedPrecondition, "webhook delivery %s was delivered; only a dead one is retried", id)
	case !live:
		return Delivery{}, fault.New(fault.FailedPrecondition, "webhook delivery %s belongs to webhook %s, which was deleted", id, d.WebhookID)
	}
	d, err = s.store.Revive(ctx, id, s.now().UTC())
	if err != nil {
		return Delivery{}, err
	}
	if d.State != Pending {
		// Changed under us (the registration deleted meanwhile).
		return Delivery{}, fault.New(fault.FailedPrecondition, "webhook delivery %s is %s; only a dead one is retried", id, d.State)
	}
	return d, nil
}
