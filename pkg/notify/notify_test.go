package notify

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestBackoffDoublesWithJitterUpToMax(t *testing.T) {
	t.Parallel()
	b := Backoff{Base: 10 * time.Second, Max: time.Minute, Attempts: 5}
	for _, tc := range []struct {
		attempt int
		u       float64
		want    time.Duration
		lo, hi  time.Duration
	}{
		{attempt: 1, u: 0, want: 5 * time.Second},
		{attempt: 1, u: 0.999999999, lo: 9 * time.Second, hi: 10 * time.Second},
		{attempt: 2, u: 0, want: 10 * time.Second},
		{attempt: 3, u: 0.5, want: 30 * time.Second},
		{attempt: 4, u: 0, want: 30 * time.Second},  // 80 s capped at 60 s
		{attempt: 40, u: 0, want: 30 * time.Second}, // no overflow
	} {
		got := b.wait(tc.attempt, tc.u)
		if tc.want != 0 && got != tc.want {
			t.Errorf("wait(%d, %v) = %s, want %s", tc.attempt, tc.u, got, tc.want)
		}
		if tc.want == 0 && (got < tc.lo || got > tc.hi) {
			t.Errorf("wait(%d, %v) = %s, want within [%s, %s]", tc.attempt, tc.u, got, tc.lo, tc.hi)
		}
	}
	if b.Dead(4) || !b.Dead(5) {
		t.Errorf("Dead(4)=%v Dead(5)=%v, want false, true", b.Dead(4), b.Dead(5))
	}
}

func TestWebhookSignsAndReceiverVerifies(t *testing.T) {
	t.Parallel()
	secret := []byte("s3cret")
	type got struct {
		h    http.Header
		body []byte
	}
	seen := make(chan got, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen <- got{r.Header.Clone(), b}
	}))
	defer srv.Close()
	at := time.Unix(1_800_000_000, 0)
	w := NewWebhook(5*time.Second, "gridflow-test")
	w.Now = func() time.Time { return at }
	body := []byte(`{"event_id":"e-1"}`)
	if err := w.Send(context.Background(), Message{ID: "e-1", Type: "task.dispatched", To: srv.URL, Secret: secret, Body: body}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	g := <-seen
	if g.h.Get(HeaderEventID) != "e-1" || g.h.Get(HeaderEventType) != "task.dispatched" || g.h.Get(HeaderTimestamp) != "1800000000" {
		t.Errorf("headers %v", g.h)
	}
	if err := Verify(secret, g.h, g.body, at.Add(time.Minute), 5*time.Minute); err != nil {
		t.Errorf("Verify: %v", err)
	}
	// Another secret, another body, a stale timestamp: each refused.
	if err := Verify([]byte("other"), g.h, g.body, at, 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Errorf("other secret: %v", err)
	}
	if err := Verify(secret, g.h, []byte(`{"event_id":"e-2"}`), at, 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Errorf("other body: %v", err)
	}
	if err := Verify(secret, g.h, g.body, at.Add(10*time.Minute), 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Errorf("stale: %v", err)
	}
	// The signature is the documented one, computable by any receiver.
	if want := Sign(secret, at, body); g.h.Get(HeaderSignature) != want {
		t.Errorf("signature %q, want %q", g.h.Get(HeaderSignature), want)
	}
}

func TestWebhookFailures(t *testing.T) {
	t.Parallel()
	for _, code := range []int{http.StatusInternalServerError, http.StatusBadRequest, http.StatusFound} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if code == http.StatusFound {
				http.Redirect(w, r, "http://example.invalid/", code)
				return
			}
			w.WriteHeader(code)
		}))
		err := NewWebhook(time.Second, "").Send(context.Background(), Message{ID: "e", To: srv.URL, Secret: []byte("k")})
		var f *Failure
		if !errors.As(err, &f) {
			t.Errorf("%d: %v, want a Failure", code, err)
		}
		srv.Close()
	}
	// Nothing listening.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	var f *Failure
	if err := NewWebhook(time.Second, "").Send(context.Background(), Message{ID: "e", To: url}); !errors.As(err, &f) {
		t.Errorf("closed: %v", err)
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	for raw, ok := range map[string]bool{
		"https://dept.example.gov.cn/hooks/gridflow": true,
		"http://10.0.0.7:8080/hook":                  true,
		"ftp://x/":                                   false,
		"https://user:pw@host/":                      false,
		"/relative":                                  false,
		"https://host/#frag":                         false,
		"https://":                                   false,
		"":                                           false,
	} {
		if err := CheckURL(raw); (err == nil) != ok {
			t.Errorf("CheckURL(%q) = %v, want ok=%v", raw, err, ok)
		}
	}
}
