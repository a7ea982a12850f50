package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/testenv"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	"github.com/gridflow/gridflow/services/console/internal/accounts"
	"github.com/gridflow/gridflow/services/console/internal/postgres"
	"github.com/gridflow/gridflow/services/console/internal/web"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// feedbackStub answers ListCases over bufconn and checks the credential the
// console called with, as feedback's interceptor would: the handler tests
// of the console's own door (the real feedback is the e2e test's).
type feedbackStub struct {
	feedbackv1.UnimplementedFeedbackServiceServer
	verifier *auth.Verifier
	mu       sync.Mutex
	callers  []auth.Principal
}

func (f *feedbackStub) ListCases(ctx context.Context, _ *feedbackv1.ListCasesRequest) (*feedbackv1.ListCasesResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	tok, _ := strings.CutPrefix(strings.Join(md.Get("authorization"), ""), "Bearer ")
	p, err := f.verifier.Verify(tok)
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, err.Error())
	}
	f.mu.Lock()
	f.callers = append(f.callers, p)
	f.mu.Unlock()
	return &feedbackv1.ListCasesResponse{Cases: []*feedbackv1.Case{
		{CaseNumber: "GF-20261203-000001", State: feedbackv1.CaseState_CASE_STATE_DISPATCHED, Title: `<script>alert("x")</script>夜间烧烤扰民`, ItemName: "露天烧烤"},
	}}, nil
}

type harness struct {
	t       *testing.T
	srv     *httptest.Server
	signer  *auth.Signer
	fb      *feedbackStub
	mu      sync.Mutex
	now     time.Time
	policy  accounts.Policy
	service *accounts.Service
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

func newHarness(t *testing.T) *harness { return newHarnessWith(t, nil) }

// newHarnessWith is newHarness with options made once the console's URL is
// known (an OIDC redirect URL names it).
func newHarnessWith(t *testing.T, options func(consoleURL string) web.Options) *harness {
	t.Helper()
	pool := testenv.Pool(t, postgres.Schema, 4, postgres.Migrations...)
	dir := t.TempDir()
	if _, err := auth.EnsureKeyPair(dir); err != nil {
		t.Fatal(err)
	}
	key, err := auth.SigningKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	verifier := auth.NewVerifier(key.Public().(ed25519.PublicKey))
	h := &harness{t: t, signer: auth.NewSigner(key), now: time.Now().Truncate(time.Second),
		policy: accounts.Policy{MaxFailures: 3, LockoutDuration: 15 * time.Minute, SessionIdle: 30 * time.Minute,
			SessionMax: 2 * time.Hour, Hashing: accounts.Params{Time: 1, MemKiB: 1024, Threads: 1}}}
	h.service, err = accounts.NewService(postgres.New(pool), h.policy, h.clock)
	if err != nil {
		t.Fatal(err)
	}
	minter, err := web.NewMinter(dir, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	h.fb = &feedbackStub{verifier: verifier}
	feedbackv1.RegisterFeedbackServiceServer(gs, h.fb)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("passthrough:///feedback", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })

	var handler http.Handler
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(h.srv.Close)
	var opts web.Options
	if options != nil {
		opts = options(h.srv.URL)
	}
	handler = web.New(h.service, minter, feedbackv1.NewFeedbackServiceClient(conn), verifier,
		slog.New(slog.NewTextHandler(testWriter{t}, nil)), opts)
	return h
}

// browser is a client with its own cookies that does not follow redirects.
func (h *harness) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (h *harness) token(p auth.Principal) string {
	tok, err := h.signer.Issue(p, time.Hour)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// api calls the admin API as p and returns the status and body.
func (h *harness) api(p auth.Principal, method, path string, body any) (int, string) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.srv.URL+path, rd)
	if p.Role != "" {
		req.Header.Set("Authorization", "Bearer "+h.token(p))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var admin = auth.Principal{Role: auth.RoleAdmin, Person: auth.Person{ID: "ops-1", Name: "管理员"}}

const password = "夜班调度-2026-secret"

func (h *harness) addAccount(id, principal string) {
	h.t.Helper()
	code, body := h.api(admin, "POST", "/api/admin/accounts", map[string]string{"person_id": id, "name": "王芳", "principal": principal, "password": password})
	if code != http.StatusCreated {
		h.t.Fatalf("add account: %d %s", code, body)
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (h *harness) get(c *http.Client, path string) (*http.Response, string) {
	h.t.Helper()
	resp, err := c.Get(h.srv.URL + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (h *harness) post(c *http.Client, path string, form url.Values) (*http.Response, string) {
	h.t.Helper()
	resp, err := c.PostForm(h.srv.URL+path, form)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn loads the form (for its CSRF value) and posts name and pw.
func (h *harness) signIn(c *http.Client, name, pw string) (*http.Response, string) {
	h.t.Helper()
	_, page := h.get(c, "/signin")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		h.t.Fatalf("sign-in page has no CSRF field:\n%s", page)
	}
	return h.post(c, "/signin", url.Values{"csrf": {m[1]}, "name": {name}, "password": {pw}})
}

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page has no CSRF field:\n%s", page)
	}
	return m[1]
}

func wantStatus(t *testing.T, resp *http.Response, code int, what string) {
	t.Helper()
	if resp.StatusCode != code {
		t.Fatalf("%s: status %d, want %d", what, resp.StatusCode, code)
	}
}

func TestSignInShowsCasesAsThePerson(t *testing.T) {
	h := newHarness(t)
	h.addAccount("zj-07", "dispatcher:310106022")
	b := h.browser()
	resp, _ := h.signIn(b, "zj-07", password)
	wantStatus(t, resp, http.StatusSeeOther, "sign in")
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == web.SessionCookie {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure || len(session.Value) < 40 {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure on plain HTTP, a long random id", session)
	}
	if strings.Contains(session.Value, "zj-07") {
		t.Fatal("the cookie names the person: it must hold only a random id")
	}

	resp, page := h.get(b, "/")
	wantStatus(t, resp, http.StatusOK, "cases page")
	for _, want := range []string{"GF-20261203-000001", "已派单", "王芳（zj-07）", "dispatcher:310106022", "street 310106022",
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;夜间烧烤扰民"} {
		if !strings.Contains(page, want) {
			t.Errorf("cases page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Error("citizen text reached the page unescaped")
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	h.fb.mu.Lock()
	callers := append([]auth.Principal(nil), h.fb.callers...)
	h.fb.mu.Unlock()
	if len(callers) != 1 || callers[0].Actor() != "dispatcher:310106022 (zj-07 王芳)" {
		t.Fatalf("feedback was called as %v, want the account's principal with its person", callers)
	}
}

func TestWrongPasswordAndUnknownNameAnswerTheSame(t *testing.T) {
	h := newHarness(t)
	h.addAccount("zj-07", "dispatcher:310106022")
	wrong, wrongPage := h.signIn(h.browser(), "zj-07", "not the password")
	unknown, unknownPage := h.signIn(h.browser(), "nobody-99", "not the password")
	if wrong.StatusCode != http.StatusUnauthorized || unknown.StatusCode != wrong.StatusCode {
		t.Fatalf("status wrong password %d, unknown name %d: want both 401", wrong.StatusCode, unknown.StatusCode)
	}
	norm := func(p string) string {
		p = csrfField.ReplaceAllString(p, "")
		return strings.NewReplacer("zj-07", "NAME", "nobody-99", "NAME").Replace(p)
	}
	if norm(wrongPage) != norm(unknownPage) {
		t.Fatalf("pages differ:\n%s\n---\n%s", wrongPage, unknownPage)
	}
	if !strings.Contains(wrongPage, "用户名或密码错误") {
		t.Fatalf("no clear message:\n%s", wrongPage)
	}
}

func TestLockoutAfterRepeatedFailures(t *testing.T) {
	h := newHarness(t)
	h.addAccount("zj-07", "dispatcher:310106022")
	b := h.browser()
	for i := 1; i < h.policy.MaxFailures; i++ {
		resp, _ := h.signIn(b, "zj-07", "guess")
		wantStatus(t, resp, http.StatusUnauthorized, "failure before the limit")
	}
	resp, page := h.signIn(b, "zj-07", "guess")
	wantStatus(t, resp, http.StatusTooManyRequests, "the failure that reaches the limit")
	ends := h.clock().Add(h.policy.LockoutDuration).In(time.FixedZone("CST", 8*3600)).Format("15:04")
	if !strings.Contains(page, "账号已临时锁定") || !strings.Contains(page, ends) {
		t.Fatalf("lockout message missing or without the time it ends (%s in Shanghai):\n%s", ends, page)
	}
	resp, _ = h.signIn(b, "zj-07", password)
	wantStatus(t, resp, http.StatusTooManyRequests, "the right password while locked")

	// An unknown name locks the same way: the lockout tells nothing.
	for i := 1; i < h.policy.MaxFailures; i++ {
		h.signIn(b, "nobody-99", "guess")
	}
	resp, _ = h.signIn(b, "nobody-99", "guess")
	wantStatus(t, resp, http.StatusTooManyRequests, "an unknown name reaching the limit")

	h.advance(h.policy.LockoutDuration + time.Second)
	resp, _ = h.signIn(b, "zj-07", password)
	wantStatus(t, resp, http.StatusSeeOther, "sign in after the lockout ended")
	// A success clears the count: one more failure does not lock again.
	resp, _ = h.signIn(h.browser(), "zj-07", "guess")
	wantStatus(t, resp, http.StatusUnauthorized, "one failure after a success")
}

func TestCSRFIsRequiredOnEveryWrite(t *testing.T) {
	h := newHarness(t)
	h.addAccount("zj-07", "dispatcher:310106022")

	// Sign-in without the form's value, or with a value not matching the
	// browser's cookie (a third-party page), is refused.
	b := h.browser()
	resp, _ := h.post(b, "/signin", url.Values{"name": {"zj-07"}, "password": {password}})
	wantStatus(t, resp, http.StatusForbidden, "sign-in without CSRF")
	other := h.browser()
	_, page := h.get(other, "/signin")
	resp, _ = h.post(b, "/signin", url.Values{"csrf": {csrfOf(t, page)}, "name": {"zj-07"}, "password": {password}})
	wantStatus(t, resp, http.StatusForbidden, "sign-in with another browser's CSRF value")

	resp, _ = h.signIn(b, "zj-07", password)
	wantStatus(t, resp, http.StatusSeeOther, "sign in")
	_, page = h.get(b, "/")
	token := csrfOf(t, page)
	for _, bad := range []url.Values{{}, {"csrf": {"forged"}}, {"csrf": {token + "x"}}} {
		resp, _ = h.post(b, "/signout", bad)
		wantStatus(t, resp, http.StatusForbidden, "sign-out with a bad CSRF token")
	}
	resp, _ = h.get(b, "/")
	wantStatus(t, resp, http.StatusOK, "the session after refused sign-outs")

	resp, _ = h.post(b, "/signout", url.Values{"csrf": {token}})
	wantStatus(t, resp, http.StatusSeeOther, "sign-out")
	resp, _ = h.get(b, "/")
	wantStatus(t, resp, http.StatusSeeOther, "the page after sign-out")
	if loc := resp.Header.Get("Location"); loc != "/signin" {
		t.Fatalf("redirect to %q, want /signin", loc)
	}
}

func TestDisabledAccountIsRefused(t *testing.T) {
	h := newHarness(t)
	h.addAccount("zj-07", "dispatcher:310106022")
	b := h.browser()
	resp, _ := h.signIn(b, "zj-07", password)
	wantStatus(t, resp, http.StatusSeeOther, "sign in")

	if code, body := h.api(admin, "POST", "/api/admin/accounts/zj-07/disable", nil); code != http.StatusNoContent {
		t.Fatalf("disable: %d %s", code, body)
	}
	resp, _ = h.get(b, "/")
	wantStatus(t, resp, http.StatusSeeOther, "a disabled account's open session")
	resp, page := h.signIn(b, "zj-07", password)
	wantStatus(t, resp, http.StatusUnauthorized, "a disabled account signing in")
	if !strings.Contains(page, "该账号已停用") {
		t.Fatalf("no clear message for a disabled account:\n%s", page)
	}
	// Only the right password learns it is disabled.
	_, page = h.signIn(b, "zj-07", "guess")
	if strings.Contains(page, "停用") {
		t.Fatal("a wrong password learnt that the account is disabled")
	}

	if code, body := h.api(admin, "POST", "/api/admin/accounts/zj-07/enable", nil); code != http.StatusNoContent {
		t.Fatalf("enable: %d %s", code, body)
	}
	resp, _ = h.signIn(b, "zj-07", password)
	wantStatus(t, resp, http.StatusSeeOther, "sign in once enabled")
	_, list := h.api(admin, "GET", "/api/admin/accounts", nil)
	if !strings.Contains(list, `"updated_by":"admin (ops-1 管理员)"`) || strings.Contains(list, "argon2") {
		t.Fatalf("list: want who changed the account, never the hash:\n%s", list)
	}
}

func TestSessionsExpire(t *testing.T) {
	h := newHarness(t)
	h.addAccount("zj-07", "dispatcher:310106022")

	idle := h.browser()
	resp, _ := h.signIn(idle, "zj-07", password)
	wantStatus(t, resp, http.StatusSeeOther, "sign in")
	h.advance(h.policy.SessionIdle + time.Second)
	resp, _ = h.get(idle, "/")
	wantStatus(t, resp, http.StatusSeeOther, "a session idle too long")

	busy := h.browser()
	h.signIn(busy, "zj-07", password)
	for elapsed := time.Duration(0); elapsed+h.policy.SessionIdle/2 < h.policy.SessionMax; elapsed += h.policy.SessionIdle / 2 {
		h.advance(h.policy.SessionIdle / 2)
		resp, _ = h.get(busy, "/")
		wantStatus(t, resp, http.StatusOK, "a session used within its idle time")
	}
	h.advance(h.policy.SessionIdle / 2)
	resp, _ = h.get(busy, "/")
	wantStatus(t, resp, http.StatusSeeOther, "a busy session past its absolute expiry")

	// A reset ends every session of the account.
	b := h.browser()
	h.signIn(b, "zj-07", password)
	if code, body := h.api(admin, "POST", "/api/admin/accounts/zj-07/password", map[string]string{"password": "another-secret-pw"}); code != http.StatusNoContent {
		t.Fatalf("reset: %d %s", code, body)
	}
	resp, _ = h.get(b, "/")
	wantStatus(t, resp, http.StatusSeeOther, "a session after a password reset")
	resp, _ = h.signIn(b, "zj-07", "another-secret-pw")
	wantStatus(t, resp, http.StatusSeeOther, "sign in with the new password")
}

func TestEveryRouteRefusesWithoutASession(t *testing.T) {
	h := newHarness(t)
	h.addAccount("zj-07", "dispatcher:310106022")
	b := h.browser()
	for _, path := range []string{"/", "/?page_token=x"} {
		resp, body := h.get(b, path)
		wantStatus(t, resp, http.StatusSeeOther, "GET "+path)
		if resp.Header.Get("Location") != "/signin" || strings.Contains(body, "GF-") {
			t.Fatalf("GET %s without a session: to %q, body %q", path, resp.Header.Get("Location"), body)
		}
	}
	b.Jar.SetCookies(mustURL(h.srv.URL), []*http.Cookie{{Name: web.SessionCookie, Value: "forged-session-id"}})
	resp, _ := h.get(b, "/")
	wantStatus(t, resp, http.StatusSeeOther, "GET / with a forged session id")
	resp, _ = h.post(b, "/signout", url.Values{"csrf": {"x"}})
	wantStatus(t, resp, http.StatusUnauthorized, "POST /signout without a session")
	resp, _ = h.get(b, "/nothing-here")
	wantStatus(t, resp, http.StatusNotFound, "an unknown path")

	for _, c := range []struct {
		p      auth.Principal
		method string
		path   string
		code   int
	}{
		{auth.Principal{}, "GET", "/api/admin/accounts", http.StatusUnauthorized},
		{auth.Principal{}, "POST", "/api/admin/accounts/zj-07/disable", http.StatusUnauthorized},
		{auth.Principal{Role: auth.RoleDispatcher, Subject: "310106022"}, "GET", "/api/admin/accounts", http.StatusForbidden},
		{auth.Principal{Role: auth.RoleDistrict, Subject: "310106"}, "POST", "/api/admin/accounts/zj-07/password", http.StatusForbidden},
	} {
		if code, body := h.api(c.p, c.method, c.path, map[string]string{"password": "whatever-long-enough"}); code != c.code {
			t.Errorf("%s %s as %q: %d %s, want %d", c.method, c.path, c.p, code, body, c.code)
		}
	}
	// A session cookie does not open the admin API.
	resp, _ = h.signIn(b, "zj-07", password)
	wantStatus(t, resp, http.StatusSeeOther, "sign in")
	resp, _ = h.get(b, "/api/admin/accounts")
	wantStatus(t, resp, http.StatusUnauthorized, "the admin API with a session cookie")
}

func TestAdminAPIRefusesBadInputByField(t *testing.T) {
	h := newHarness(t)
	h.addAccount("zj-07", "dispatcher:310106022")
	for _, c := range []struct {
		body  map[string]string
		code  int
		wants []string
	}{
		{map[string]string{"person_id": "x y", "name": "", "principal": "system:intake", "password": "short"}, 400,
			[]string{`"code":"INVALID_ARGUMENT"`, `"field":"person_id"`, `"field":"principal"`, `"field":"password"`, "never a person"}},
		{map[string]string{"person_id": "zj-07", "name": "王芳", "principal": "dispatcher:310106022", "password": password}, 409,
			[]string{`"code":"ALREADY_EXISTS"`}},
		{map[string]string{"person_id": "a", "bogus": "1"}, 400, []string{`"field":"body"`}},
	} {
		code, body := h.api(admin, "POST", "/api/admin/accounts", c.body)
		if code != c.code {
			t.Errorf("%v: %d %s, want %d", c.body, code, body, c.code)
		}
		for _, w := range c.wants {
			if !strings.Contains(body, w) {
				t.Errorf("%v: body %s lacks %s", c.body, body, w)
			}
		}
	}
	if code, body := h.api(admin, "POST", "/api/admin/accounts/nobody/disable", nil); code != 404 {
		t.Errorf("disable an unknown account: %d %s", code, body)
	}
	if code, body := h.api(admin, "POST", "/api/admin/accounts/zj-07/password", map[string]string{"password": "short"}); code != 400 || !strings.Contains(body, `"field":"password"`) {
		t.Errorf("reset to a short password: %d %s", code, body)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// testWriter sends the console's log to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
