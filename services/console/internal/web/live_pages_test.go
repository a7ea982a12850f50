package web_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gridflow/gridflow/pkg/auth"
	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
	"github.com/gridflow/gridflow/services/console/internal/web"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// classifyStub answers the review queue over bufconn as classify would for
// one waiting case, checking the credential the console called with; the
// real classify is the browser test's (e2e).
type classifyStub struct {
	classifyv1.UnimplementedClassifyServiceServer
	h        *harness
	mu       sync.Mutex
	resolved []*classifyv1.ResolveReviewRequest
	callers  []auth.Principal
}

func (c *classifyStub) caller(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	tok, _ := strings.CutPrefix(strings.Join(md.Get("authorization"), ""), "Bearer ")
	p, err := c.h.fb.verifier.Verify(tok)
	if err != nil {
		return status.Error(codes.Unauthenticated, err.Error())
	}
	c.mu.Lock()
	c.callers = append(c.callers, p)
	c.mu.Unlock()
	return nil
}

func (c *classifyStub) ListReviewQueue(ctx context.Context, _ *classifyv1.ListReviewQueueRequest) (*classifyv1.ListReviewQueueResponse, error) {
	if err := c.caller(ctx); err != nil {
		return nil, err
	}
	return &classifyv1.ListReviewQueueResponse{Reviews: []*classifyv1.Review{{
		CaseId: "c-review", CaseNumber: "GF-20261203-000009", State: classifyv1.ReviewState_REVIEW_STATE_WAITING,
		Source: typesv1.Source_SOURCE_HOTLINE, Area: &typesv1.Area{StreetCode: "310106022"},
		Title: "建议", Content: `希望多装长椅<script>alert("x")</script>`, ModelVersion: "m-1",
		Choices: []*eventsv1.ReviewChoice{{ItemCode: "H09001", ItemName: "养老服务", Confidence: 0.41}, {ItemCode: "06022", ItemName: "露天烧烤", Confidence: 0.12}},
	}}}, nil
}

func (c *classifyStub) ResolveReview(ctx context.Context, req *classifyv1.ResolveReviewRequest) (*classifyv1.ResolveReviewResponse, error) {
	if err := c.caller(ctx); err != nil {
		return nil, err
	}
	if req.GetItemCode() == "99999" {
		st, _ := status.New(codes.InvalidArgument, "bad request").WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "item_code", Description: "99999 is not in the catalogue"}}})
		return nil, st.Err()
	}
	c.mu.Lock()
	c.resolved = append(c.resolved, req)
	c.mu.Unlock()
	return &classifyv1.ResolveReviewResponse{Classification: &classifyv1.Classification{CaseId: req.GetCaseId(),
		CaseNumber: "GF-20261203-000009", ItemCode: req.GetItemCode()}}, nil
}

// liveHarness is the console's harness with classify answering the
// review queue (dispatch is not called by these tests).
func liveHarness(t *testing.T) (*harness, *classifyStub) {
	t.Helper()
	stub := &classifyStub{}
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	classifyv1.RegisterClassifyServiceServer(gs, stub)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("passthrough:///classify", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	h := newHarnessWith(t, func(string) web.Options {
		return web.Options{Live: web.LiveOptions{Classify: classifyv1.NewClassifyServiceClient(conn)}}
	})
	stub.h = h
	return h, stub
}

// TestLivePagesRefuseRolesThatMayNot: the live queue, its stream and
// script, the review queue and its action, and the case page are the
// steering roles' (pkg/policy's route table): every other signed-in role
// is refused each of them with 403, and the refusal says so.
func TestLivePagesRefuseRolesThatMayNot(t *testing.T) {
	h, stub := liveHarness(t)
	for i, principal := range []string{"hotline", "department:310106022-cgzd", "secretary:310106022001", "patrol:w-0031"} {
		id := "p-" + string(rune('a'+i))
		h.addAccount(id, principal)
		b := h.browser()
		resp, _ := h.signIn(b, id, password)
		wantStatus(t, resp, http.StatusSeeOther, "sign in as "+principal)
		_, home := h.get(b, "/")
		csrf := csrfOf(t, home)
		for _, path := range []string{"/live", "/live/events", "/live/live.js", "/review", "/cases/GF-20261203-000001"} {
			resp, body := h.get(b, path)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "无权访问") {
				t.Errorf("GET %s as %s: %d %q, want 403", path, principal, resp.StatusCode, body)
			}
		}
		resp, body := h.post(b, "/review/c-review", url.Values{"csrf": {csrf}, "choice": {"H09001"}, "request_id": {"r1"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /review as %s: %d %q, want 403", principal, resp.StatusCode, body)
		}
	}
	if len(stub.resolved) != 0 || len(stub.callers) != 0 {
		t.Errorf("classify was called for a refused role: %v", stub.callers)
	}
}

// TestReviewQueueFilesWithErrorsBesideTheField: a dispatcher reads the
// queue (the model's choices with their confidences, the citizen's text
// escaped beside them), files with no item and with an unknown one — each
// refused beside the item field, classify's field violation included —
// and then files for real, as the person.
func TestReviewQueueFilesWithErrorsBesideTheField(t *testing.T) {
	h, stub := liveHarness(t)
	h.addAccount("zj-07", "dispatcher:310106022")
	b := h.browser()
	h.signIn(b, "zj-07", password)
	resp, page := h.get(b, "/review")
	wantStatus(t, resp, http.StatusOK, "the review queue")
	for _, want := range []string{"H09001 养老服务 <b>41%</b>", "06022 露天烧烤 <b>12%</b>", `希望多装长椅&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`} {
		if !strings.Contains(page, want) {
			t.Errorf("the review queue lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "<script>alert") {
		t.Errorf("the citizen's script is in the page unescaped")
	}
	csrf := csrfOf(t, page)
	rid := regexpFind(t, page, `name="request_id" value="([^"]+)"`)

	resp, page = h.post(b, "/review/c-review", url.Values{"csrf": {csrf}, "request_id": {rid}})
	wantStatus(t, resp, http.StatusBadRequest, "filing with no item")
	if !strings.Contains(page, `<p class="field-error" role="alert">请选择一个事项，或填写其他事项代码</p>`) {
		t.Errorf("no error beside the item field:\n%s", page)
	}
	resp, page = h.post(b, "/review/c-review", url.Values{"csrf": {csrf}, "request_id": {rid}, "other": {"99999"}, "note": {"试试"}})
	wantStatus(t, resp, http.StatusBadRequest, "filing under an unknown item")
	if !strings.Contains(page, `<p class="field-error" role="alert">99999 is not in the catalogue</p>`) || !strings.Contains(page, `value="99999"`) {
		t.Errorf("classify's field violation is not beside the field, with what was typed:\n%s", page)
	}
	resp, _ = h.post(b, "/review/c-review", url.Values{"csrf": {csrf}, "request_id": {rid}, "choice": {"H09001"}, "note": {"养老设施"}})
	wantStatus(t, resp, http.StatusSeeOther, "filing")
	if loc := resp.Header.Get("Location"); loc != "/review?resolved=GF-20261203-000009" {
		t.Errorf("after filing: to %q", loc)
	}
	if len(stub.resolved) != 1 || stub.resolved[0].GetItemCode() != "H09001" || stub.resolved[0].GetRequestId() != rid {
		t.Errorf("classify got %v", stub.resolved)
	}
	for _, p := range stub.callers {
		if p.String() != "dispatcher:310106022" || p.Person.ID != "zj-07" {
			t.Errorf("classify was called as %v (%v), want the dispatcher with the person", p, p.Person)
		}
	}
}

func regexpFind(t *testing.T, page, expr string) string {
	t.Helper()
	m := regexp.MustCompile(expr).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s in:\n%s", expr, page)
	}
	return m[1]
}

// TestLiveFiltersRefusedByField: a filter that is not a code is refused
// beside its field with the reason, before any service is called.
func TestLiveFiltersRefusedByField(t *testing.T) {
	h, _ := liveHarness(t)
	h.addAccount("zj-07", "dispatcher:310106022")
	b := h.browser()
	h.signIn(b, "zj-07", password)
	for _, c := range []struct{ query, reason string }{
		{"street=abc", "街道代码应为9位数字"},
		{"community=310106022", "社区代码应为12位数字"},
		{"grid=310106022001001&community=310106021001", "网格不在所选社区内"},
		{"source=fax", "来源应为 hotline、patrol 或 secretary"},
		{"state=lost", "未知的案件状态"},
		{"item=ABC", "事项代码应为2位大类、5位事项或H加5位数字"},
	} {
		resp, page := h.get(b, "/live?"+c.query)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `<span class="field-error">`+c.reason+`</span>`) {
			t.Errorf("/live?%s: %d, want 400 with %q beside the field:\n%s", c.query, resp.StatusCode, c.reason, page)
		}
		resp, _ = h.get(b, "/live/events?"+c.query)
		wantStatus(t, resp, http.StatusBadRequest, "/live/events?"+c.query)
	}
	if len(h.fb.callers) != 0 {
		t.Errorf("feedback was called for refused filters")
	}
}
