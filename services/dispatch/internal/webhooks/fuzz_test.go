package webhooks

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/testenv"
)

// keep is a Store that keeps what it is given in memory: the fuzz target
// checks the validator, not the store (internal/grpcapi tests that against
// PostgreSQL).
type keep struct{ got *Webhook }

func (k *keep) Register(_ context.Context, _, _ string, w Webhook, secret []byte) (Webhook, []byte, error) {
	k.got = &w
	return w, secret, nil
}
func (k *keep) ListWebhooks(context.Context, string, int, string) ([]Webhook, string, error) {
	return nil, "", nil
}
func (k *keep) Webhook(context.Context, string) (Webhook, error) { return Webhook{}, nil }
func (k *keep) Delete(context.Context, string, time.Time) error  { return nil }
func (k *keep) ListDeliveries(context.Context, policy.Scope, DeliveryFilter) ([]Delivery, string, error) {
	return nil, "", nil
}
func (k *keep) Delivery(context.Context, string) (Delivery, bool, error) {
	return Delivery{}, false, nil
}
func (k *keep) Revive(context.Context, string, time.Time) (Delivery, error) {
	return Delivery{}, nil
}

// FuzzRegister drives a registration's validation: no panic, no internal
// error, a refusal names only the request's fields, and what is kept is an
// http(s) URL with a host and known, distinct task events.
func FuzzRegister(f *testing.F) {
	f.Add("r-1", "", "https://dept.example/hook", "task.dispatched")
	f.Add("", "310106022-cgzd", "ftp://user:pw@x/#f", "case.received")
	f.Fuzz(func(t *testing.T, requestID, dept, rawURL, event string) {
		k := &keep{}
		svc := New(k, []string{"task.dispatched", "task.urged"}, time.Now)
		ctx := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleDepartment, Subject: "310106022-cgzd"})
		var evs []string
		if event != "" {
			evs = []string{event}
		}
		_, secret, err := svc.Register(ctx, RegisterInput{RequestID: requestID, Department: dept, URL: rawURL, Events: evs})
		if err != nil {
			if fault.KindOf(err) == fault.InvalidArgument {
				testenv.Refusal(t, err, "request_id", "department_code", "url", "events")
				return
			}
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Kind != fault.PermissionDenied {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		u, perr := url.Parse(k.got.URL)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil || len(secret) != 43 ||
			k.got.Department != "310106022-cgzd" || (event != "" && event != "task.dispatched" && event != "task.urged") {
			t.Fatalf("accepted %q %q %q %q as %+v", requestID, dept, rawURL, event, k.got)
		}
	})
}
