package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The headers of a webhook delivery. The signature is
// "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)), timestamp
// being the Unix seconds in HeaderTimestamp: a receiver checks it against
// the body it read and refuses a timestamp too far from its clock, so a
// captured delivery cannot be replayed later (Verify does both).
const (
	HeaderSignature = "Gridflow-Signature"
	HeaderTimestamp = "Gridflow-Timestamp"
	HeaderEventID   = "Gridflow-Event-Id"
	HeaderEventType = "Gridflow-Event-Type"
)

// Sign is the signature of body sent at ts to the holder of secret.
func Sign(secret []byte, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// ErrBadSignature is Verify's answer for a delivery not signed with the
// secret, or signed too long ago.
var ErrBadSignature = errors.New("notify: webhook signature does not verify")

// Verify checks a delivery's headers against its body, as a receiver does:
// the signature must be the secret's over the timestamp and the body, and
// the timestamp within tolerance of now.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(h.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: no timestamp", ErrBadSignature)
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp %s is outside %s of now", ErrBadSignature, ts.UTC().Format(time.RFC3339), tolerance)
	}
	if !hmac.Equal([]byte(h.Get(HeaderSignature)), []byte(Sign(secret, ts, body))) {
		return ErrBadSignature
	}
	return nil
}

// CheckURL says why a webhook URL cannot be registered: it must be an
// absolute http or https URL with a host and no credentials in it (they
// would be shown wherever the URL is).
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("is not a URL")
	case u.Scheme != "https" && u.Scheme != "http":
		return errors.New("must be an http or https URL")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("has no host")
	case u.User != nil:
		return errors.New("must not carry a user or password")
	case u.Fragment != "":
		return errors.New("must not have a fragment")
	case len(raw) > 2048:
		return errors.New("is longer than 2048 bytes")
	}
	return nil
}

// Webhook POSTs messages to their URL, signed. A 2xx answer is delivered;
// anything else (a network error, a timeout, any other status) is a Failure.
// Redirects are not followed: a receiver that moved registers its new URL.
type Webhook struct {
	Client *http.Client
	// Now stamps deliveries (time.Now when nil).
	Now func() time.Time
	// UserAgent identifies the sender ("gridflow-dispatch").
	UserAgent string
}

// NewWebhook returns a sender whose every POST gives up after timeout.
func NewWebhook(timeout time.Duration, userAgent string) *Webhook {
	return &Webhook{UserAgent: userAgent, Client: &http.Client{Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var _ Sender = (*Webhook)(nil)

// Send implements Sender.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.To, bytes.NewReader(m.Body))
	if err != nil {
		return Failed("bad URL")
	}
	ct := m.ContentType
	if ct == "" {
		ct = "application/json"
	}
	req.Header.Set("Content-Type", ct)
	if w.UserAgent != "" {
		req.Header.Set("User-Agent", w.UserAgent)
	}
	req.Header.Set(HeaderEventID, m.ID)
	if m.Type != "" {
		req.Header.Set(HeaderEventType, m.Type)
	}
	ts := now()
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(m.Secret, ts, m.Body))
	client := w.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// The error names the URL; the reason stays short and names none of
		// the request's contents.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Failed("POST failed: %s", strings.TrimSpace(err.Error()))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if c := resp.StatusCode; c < 200 || c > 299 {
		return Failed("receiver answered %d", c)
	}
	return nil
}
