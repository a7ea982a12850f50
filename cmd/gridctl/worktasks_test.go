package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/notify"
)

// TestNotifySink: the sink prints a notification signed with its secret
// and refuses one that is not (issue 20, work tasks).
func TestNotifySink(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	srv := httptest.NewServer(sinkHandler(&out, []byte("s3cret"), time.Minute, false))
	defer srv.Close()
	body := []byte(`{"type":"task.dispatched","case_id":"c1"}`)
	post := func(secret string) int {
		t.Helper()
		now := time.Now()
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header.Set(notify.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(notify.HeaderSignature, notify.Sign([]byte(secret), now, body))
		req.Header.Set(notify.HeaderEventType, "task.dispatched")
		req.Header.Set(notify.HeaderEventID, "e1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post("wrong"); got != http.StatusUnauthorized {
		t.Errorf("a wrongly signed notification: %d, want 401", got)
	}
	if out.Len() != 0 {
		t.Errorf("a refused notification was printed: %s", out.String())
	}
	if got := post("s3cret"); got != http.StatusNoContent {
		t.Errorf("a signed notification: %d, want 204", got)
	}
	if s := out.String(); !strings.Contains(s, "task.dispatched e1 ") || !strings.Contains(s, `"case_id":"c1"`) {
		t.Errorf("printed %q", s)
	}
}
