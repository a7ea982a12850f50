package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
)

// TestConsoleSignInShowsTheStreetsCases is the console's accounts through
// the real stack: an admin adds a street dispatcher with gridctl (the
// password generated and printed once), the dispatcher signs in and the
// first page lists, through feedback, the cases of their street — a
// complaint's script shown as text, another street's case absent — then
// signs out.
func TestConsoleSignInShowsTheStreetsCases(t *testing.T) {
	s := startStack(t, "intake", "classify", "dispatch", "feedback")
	// The console calls feedback, where this stack runs it.
	s.env = append(s.env, "FEEDBACK_GRPC_ADDR="+s.addrs["feedback"])
	s.start(t, "console", filepath.Join(s.bin, "console"))
	s.waitReady(t, "console")
	console := "http://" + s.addrs["console"]

	out, err := s.gridctl(t, "--addr", s.addrs["console"], "user", "add", "zj-07", "--name", "王芳", "--principal", "dispatcher:"+zhijiang)
	if err != nil {
		t.Fatalf("user add: %v", err)
	}
	password := strings.TrimSpace(out)
	if len(password) != 20 || strings.Contains(password, " ") {
		t.Fatalf("user add printed %q, want the generated password alone", out)
	}
	if _, err := s.gridctl(t, "--addr", s.addrs["console"], "user", "add", "x", "--name", "系统", "--principal", "system:intake"); err == nil ||
		!strings.Contains(err.Error(), "INVALID_ARGUMENT") || !strings.Contains(err.Error(), "principal:") {
		t.Fatalf("user add as system: %v, want INVALID_ARGUMENT on principal", err)
	}
	list, err := s.gridctl(t, "--addr", s.addrs["console"], "user", "list")
	if err != nil || !strings.Contains(list, "zj-07") || !strings.Contains(list, "dispatcher:"+zhijiang) || !strings.Contains(list, "enabled") {
		t.Fatalf("user list: %v\n%s", err, list)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	hotline := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	mine := authzNoise("CONSOLE-1", 41)
	mine.Title = `<script>alert("x")</script>夜间烧烤摊噪声扰民`
	theirs := authzNoise("CONSOLE-2", 42)
	theirs.StreetCode = linfen
	var numbers []string
	for _, wo := range []*intakev1.WorkOrder{mine, theirs} {
		resp, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
		if err != nil {
			t.Fatalf("submit %s: %v", wo.GetHotlineOrderNo(), err)
		}
		numbers = append(numbers, resp.GetSubmission().GetCaseNumber())
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fetch := func(method, path string, form url.Values) (int, string) {
		t.Helper()
		var resp *http.Response
		var err error
		if method == http.MethodGet {
			resp, err = browser.Get(console + path)
		} else {
			resp, err = browser.PostForm(console+path, form)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`)

	if code, _ := fetch(http.MethodGet, "/", nil); code != http.StatusSeeOther {
		t.Fatalf("the cases page without a session: %d, want 303 to /signin", code)
	}
	_, form := fetch(http.MethodGet, "/signin", nil)
	if !strings.Contains(form, "登录") {
		t.Fatalf("sign-in page:\n%s", form)
	}
	code, _ := fetch(http.MethodPost, "/signin", url.Values{"csrf": {csrf.FindStringSubmatch(form)[1]}, "name": {"zj-07"}, "password": {password}})
	if code != http.StatusSeeOther {
		t.Fatalf("sign in: %d", code)
	}

	// Feedback learns of the case from the stream: wait for it on the page.
	var page string
	for deadline := time.Now().Add(60 * time.Second); ; {
		code, page = fetch(http.MethodGet, "/", nil)
		if code == http.StatusOK && strings.Contains(page, numbers[0]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("case %s never appeared on the console (last answer %d):\n%s", numbers[0], code, page)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !strings.Contains(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") || strings.Contains(page, "<script>") {
		t.Errorf("the complaint's script is not shown as text:\n%s", page)
	}
	if !strings.Contains(page, "王芳（zj-07）") || !strings.Contains(page, "street "+zhijiang) {
		t.Errorf("the page does not say who is signed in and over which scope:\n%s", page)
	}
	// Another street's case is outside the dispatcher's scope; wait until
	// feedback has it (as admin) so its absence means something.
	waitFeedbackCase(t, s, numbers[1])
	if _, page = fetch(http.MethodGet, "/", nil); strings.Contains(page, numbers[1]) {
		t.Errorf("another street's case %s is on the dispatcher's page", numbers[1])
	}

	if code, _ := fetch(http.MethodPost, "/signout", url.Values{"csrf": {"forged"}}); code != http.StatusForbidden {
		t.Fatalf("sign-out with a forged CSRF token: %d, want 403", code)
	}
	if code, _ := fetch(http.MethodPost, "/signout", url.Values{"csrf": {csrf.FindStringSubmatch(page)[1]}}); code != http.StatusSeeOther {
		t.Fatalf("sign out: %d", code)
	}
	if code, _ := fetch(http.MethodGet, "/", nil); code != http.StatusSeeOther {
		t.Fatalf("the cases page after sign-out: %d, want 303", code)
	}
}

// waitFeedbackCase waits until feedback lists the case, read as admin.
func waitFeedbackCase(t *testing.T, s *stack, number string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		if out, err := s.gridctl(t, "--addr", s.addrs["feedback"], "case", "show", number); err == nil && strings.Contains(out, number) {
			return
		}
	}
	t.Fatalf("feedback never had case %s", number)
}
