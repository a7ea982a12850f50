package grpcapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/notify"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/services/dispatch/internal/events"
	"github.com/gridflow/gridflow/services/dispatch/internal/postgres"
	"github.com/gridflow/gridflow/services/dispatch/internal/webhooks"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
)

// receiver is a department's webhook endpoint that fails the first tries
// of every event, then takes it; it records every try.
type receiver struct {
	srv       *httptest.Server
	failFirst int // tries of each event answered 500; -1: every one
	mu        sync.Mutex
	tries     []try
}

type try struct {
	at     time.Time
	header http.Header
	body   []byte
	ok     bool
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{failFirst: failFirst}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		n := 0
		for _, tr := range r.tries {
			if tr.header.Get(notify.HeaderEventID) == req.Header.Get(notify.HeaderEventID) {
				n++
			}
		}
		ok := r.failFirst >= 0 && n >= r.failFirst
		r.tries = append(r.tries, try{at: time.Now(), header: req.Header.Clone(), body: b, ok: ok})
		if !ok {
			http.Error(w, "down for maintenance", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) seen() []try {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.tries)
}

func (e *env) hooks(p string) (dispatchv1.WebhookServiceClient, context.Context) {
	e.t.Helper()
	pr, err := auth.ParsePrincipal(p)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.signer.Issue(pr, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 60*time.Second)
	e.t.Cleanup(cancel)
	return dispatchv1.NewWebhookServiceClient(e.conn), metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

// worker runs a delivery worker on pool (a "process") until the returned
// stop is called.
func (e *env) worker(pool *pgxpool.Pool, b notify.Backoff) (stop func()) {
	ctx, cancel := context.WithCancel(e.ctx)
	w := &webhooks.Worker{Queue: postgres.New(pool, nil), Sender: notify.NewWebhook(5*time.Second, "gridflow-test"), Backoff: b,
		Body: events.WebhookBody, Poll: 10 * time.Millisecond, Lease: 10 * time.Second, Log: quiet}
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	return func() { cancel(); <-done }
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWebhookRetriesWithBackoffSurvivesARestartAndDeadLetters(t *testing.T) {
	e := setup(t)
	pcs := "department:" + zj + "-pcs"
	hc, hctx := e.hooks(pcs)
	ok := newReceiver(t, 2)    // takes an event at its third try
	down := newReceiver(t, -1) // never takes one
	reg, err := hc.RegisterWebhook(hctx, &dispatchv1.RegisterWebhookRequest{RequestId: "reg-1", Url: ok.srv.URL + "/hook",
		Events: []string{"task.dispatched"}})
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte(reg.GetSecret())
	if raw, err := base64.RawURLEncoding.DecodeString(reg.GetSecret()); err != nil || len(raw) != 32 || reg.GetWebhook().GetDepartmentCode() != zj+"-pcs" {
		t.Fatalf("registration %v (secret %d bytes, %v)", reg, len(raw), err)
	}
	// A repeat of the request answers the same registration and secret.
	again, err := hc.RegisterWebhook(hctx, &dispatchv1.RegisterWebhookRequest{RequestId: "reg-1", Url: ok.srv.URL + "/hook",
		Events: []string{"task.dispatched"}})
	if err != nil || again.GetWebhook().GetWebhookId() != reg.GetWebhook().GetWebhookId() || again.GetSecret() != reg.GetSecret() {
		t.Fatalf("repeat: %v, %v", again, err)
	}
	if _, err := hc.RegisterWebhook(hctx, &dispatchv1.RegisterWebhookRequest{RequestId: "reg-2", Url: down.srv.URL,
		Events: []string{"task.dispatched"}}); err != nil {
		t.Fatal(err)
	}
	// No read answers a secret.
	list, err := hc.ListWebhooks(hctx, &dispatchv1.ListWebhooksRequest{})
	if err != nil || len(list.GetWebhooks()) != 2 {
		t.Fatalf("list: %v, %v", list, err)
	}
	if b, _ := protojson.Marshal(list); strings.Contains(string(b), reg.GetSecret()) {
		t.Fatal("ListWebhooks answers the secret")
	}

	caseID := e.newCase("H04001", zj, true) // 噪声: the street's police station leads
	task := e.waitTasks(caseID, 1)[0]

	// The first worker makes the first try and "crashes" (stops) after it.
	b := notify.Backoff{Base: 200 * time.Millisecond, Max: 400 * time.Millisecond, Attempts: 3}
	stop := e.worker(e.pool, b)
	st := postgres.New(e.pool, nil)
	// Stop it once the try is recorded, not when the receiver has seen it:
	// a stop while the answer is on its way cuts the try short, and the
	// second worker would then retake it at once, uncounted, which would
	// shift every interval below by one (CI saw the second try 74 ms after
	// the first).
	waitUntil(t, "the first try, recorded", func() bool {
		ds, _, err := st.ListDeliveries(e.ctx, policy.Scope{Kind: policy.All}, webhooks.DeliveryFilter{States: []webhooks.State{webhooks.Pending}})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if strings.HasPrefix(d.URL, ok.srv.URL) && d.Attempts == 1 && d.LastError != "" {
				return true
			}
		}
		return false
	})
	stop()
	pending, _, err := st.ListDeliveries(e.ctx, policy.Scope{Kind: policy.All}, webhooks.DeliveryFilter{States: []webhooks.State{webhooks.Pending}})
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending after the first worker: %v, %v", pending, err)
	}
	// A second process, on its own pool, resumes from the table.
	stop = e.worker(e.openPool(), b)
	defer stop()
	waitUntil(t, "the delivery", func() bool { s := ok.seen(); return len(s) == 3 && s[2].ok })
	tries := ok.seen()
	for i, tr := range tries {
		if err := notify.Verify(secret, tr.header, tr.body, time.Now(), time.Minute); err != nil {
			t.Errorf("try %d: %v", i, err)
		}
		var body struct {
			EventID        string `json:"event_id"`
			Type           string `json:"type"`
			TaskDispatched struct {
				Task struct {
					TaskID string `json:"task_id"`
				} `json:"task"`
			} `json:"task_dispatched"`
		}
		if err := json.Unmarshal(tr.body, &body); err != nil {
			t.Fatalf("try %d: body %s: %v", i, tr.body, err)
		}
		if body.EventID != tr.header.Get(notify.HeaderEventID) || body.Type != "task.dispatched" ||
			body.TaskDispatched.Task.TaskID != task.GetTaskId() || tr.header.Get(notify.HeaderEventType) != "task.dispatched" {
			t.Errorf("try %d: headers %v, body %s", i, tr.header, tr.body)
		}
		for _, personal := range []string{"张三", "13800000000"} {
			if strings.Contains(string(tr.body), personal) {
				t.Errorf("try %d carries personal data", i)
			}
		}
	}
	// Backoff: the second try waited at least half of Base, the third at
	// least half of 2·Base (equal jitter).
	if d := tries[2].at.Sub(tries[1].at); d < b.Base {
		t.Errorf("third try %s after the second, want ≥ %s", d, b.Base)
	}

	// The receiver that never answers 2xx: dead after the third counted try.
	// It may have seen one more: a try the first worker's stop cut short
	// after the request reached it is released, not counted (worker.send),
	// and that try may be the fourth it saw before this line runs.
	waitUntil(t, "the dead letter", func() bool { return len(down.seen()) >= 3 })
	admin, actx := e.hooks("admin")
	var dead []*dispatchv1.WebhookDelivery
	waitUntil(t, "the dead state", func() bool {
		resp, err := admin.ListWebhookDeliveries(actx, &dispatchv1.ListWebhookDeliveriesRequest{
			States: []dispatchv1.WebhookDeliveryState{dispatchv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_DEAD}})
		if err != nil {
			t.Fatal(err)
		}
		dead = resp.GetDeliveries()
		return len(dead) == 1
	})
	if n := len(down.seen()); n > 4 {
		t.Errorf("the dead receiver saw %d tries, want 3 (4 with one cut short)", n)
	}
	if d := dead[0]; d.GetAttempts() != 3 || d.GetLastError() != "receiver answered 500" || d.GetCaseId() != caseID || d.GetEventType() != "task.dispatched" {
		t.Errorf("dead delivery %v", d)
	}
	if d := tries[1].at.Sub(tries[0].at); d < b.Base/2 {
		t.Errorf("second try %s after the first, want ≥ %s", d, b.Base/2)
	}
	// The gauge counts it.
	got, err := st.WebhookGauges().Poll(e.ctx)
	if err != nil || got[postgres.GaugeDeadWebhooks] != 1 || got[postgres.GaugePendingWebhooks] != 0 {
		t.Errorf("gauges %v, %v", got, err)
	}
	// The escalation board: the street's dispatcher sees it, the other
	// street's does not, another department is refused a unit not its own.
	for p, want := range map[string]int{"dispatcher:" + zj: 1, "district:" + dis: 1, "dispatcher:" + lf: 0, pcs: 1, "department:" + lf + "-cgzd": 0} {
		c, ctx := e.hooks(p)
		resp, err := c.ListWebhookDeliveries(ctx, &dispatchv1.ListWebhookDeliveriesRequest{
			States: []dispatchv1.WebhookDeliveryState{dispatchv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_DEAD}})
		if err != nil || len(resp.GetDeliveries()) != want {
			t.Errorf("%s: %d dead deliveries (%v), want %d", p, len(resp.GetDeliveries()), err, want)
		}
	}
}

func TestWebhookRegistrationRefusals(t *testing.T) {
	e := setup(t)
	pcs, ctx := e.hooks("department:" + zj + "-pcs")
	other, octx := e.hooks("department:" + lf + "-cgzd")
	admin, actx := e.hooks("admin")
	reg, err := pcs.RegisterWebhook(ctx, &dispatchv1.RegisterWebhookRequest{RequestId: "r", Url: "https://pcs.example/hook"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		call   func() error
		code   codes.Code
		fields []string
	}{
		{"no request id", func() error {
			_, err := pcs.RegisterWebhook(ctx, &dispatchv1.RegisterWebhookRequest{Url: "https://x.example/"})
			return err
		}, codes.InvalidArgument, []string{"request_id"}},
		{"not a URL", func() error {
			_, err := pcs.RegisterWebhook(ctx, &dispatchv1.RegisterWebhookRequest{RequestId: "a", Url: "ftp://x/"})
			return err
		}, codes.InvalidArgument, []string{"url"}},
		{"credentials in the URL", func() error {
			_, err := pcs.RegisterWebhook(ctx, &dispatchv1.RegisterWebhookRequest{RequestId: "a", Url: "https://u:p@x/"})
			return err
		}, codes.InvalidArgument, []string{"url"}},
		{"an unknown event", func() error {
			_, err := pcs.RegisterWebhook(ctx, &dispatchv1.RegisterWebhookRequest{RequestId: "a", Url: "https://x/", Events: []string{"case.received"}})
			return err
		}, codes.InvalidArgument, []string{"events"}},
		{"admin names no unit", func() error {
			_, err := admin.RegisterWebhook(actx, &dispatchv1.RegisterWebhookRequest{RequestId: "a", Url: "https://x/"})
			return err
		}, codes.InvalidArgument, []string{"department_code"}},
		{"another unit's registration", func() error {
			_, err := pcs.RegisterWebhook(ctx, &dispatchv1.RegisterWebhookRequest{RequestId: "a", Url: "https://x/", DepartmentCode: lf + "-cgzd"})
			return err
		}, codes.PermissionDenied, nil},
		{"another unit's list", func() error {
			_, err := pcs.ListWebhooks(ctx, &dispatchv1.ListWebhooksRequest{DepartmentCode: lf + "-cgzd"})
			return err
		}, codes.PermissionDenied, nil},
		{"another unit's delete", func() error {
			_, err := other.DeleteWebhook(octx, &dispatchv1.DeleteWebhookRequest{RequestId: "d", WebhookId: reg.GetWebhook().GetWebhookId()})
			return err
		}, codes.PermissionDenied, nil},
		{"a bad webhook id", func() error {
			_, err := pcs.DeleteWebhook(ctx, &dispatchv1.DeleteWebhookRequest{RequestId: "d", WebhookId: "x"})
			return err
		}, codes.InvalidArgument, []string{"webhook_id"}},
		{"a bad page token", func() error {
			_, err := pcs.ListWebhookDeliveries(ctx, &dispatchv1.ListWebhookDeliveriesRequest{PageToken: "nope"})
			return err
		}, codes.InvalidArgument, []string{"page_token"}},
		{"same request id, other content", func() error {
			_, err := pcs.RegisterWebhook(ctx, &dispatchv1.RegisterWebhookRequest{RequestId: "r", Url: "https://pcs.example/other"})
			return err
		}, codes.AlreadyExists, nil},
	}
	for _, tt := range tests {
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
	// The unit deletes its own; it is gone from the list, and deleting it
	// again is the same answer.
	for range 2 {
		if _, err := pcs.DeleteWebhook(ctx, &dispatchv1.DeleteWebhookRequest{RequestId: "d", WebhookId: reg.GetWebhook().GetWebhookId()}); err != nil {
			t.Fatal(err)
		}
	}
	if l, err := admin.ListWebhooks(actx, &dispatchv1.ListWebhooksRequest{}); err != nil || len(l.GetWebhooks()) != 0 {
		t.Fatalf("after delete: %v, %v", l, err)
	}
}
