package web_test

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
	"github.com/gridflow/gridflow/services/console/internal/accounts"
	"github.com/gridflow/gridflow/services/console/internal/postgres"
	"github.com/gridflow/gridflow/services/console/internal/web"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The console's own door for the levers and boards, over bufconn services
// that answer with boardsHostile citizen text and with the refusals the real
// ones give (the real services are e2e's TestConsoleLevers): every piece of
// citizen text escaped, a field violation beside its field, a permission
// refusal said plainly, the chart pages' script policy.

const boardsHostile = `<script>alert("x")</script>`

type boardsFeedback struct {
	feedbackv1.UnimplementedFeedbackServiceServer
}

func (boardsFeedback) GetCase(context.Context, *feedbackv1.GetCaseRequest) (*feedbackv1.GetCaseResponse, error) {
	return &feedbackv1.GetCaseResponse{Case: &feedbackv1.Case{CaseId: "01a23d74-8cea-726e-a019-c94e928393c9", CaseNumber: "GF-20261203-000001",
		Title: boardsHostile + "烧烤扰民"}}, nil
}

func (boardsFeedback) RecordCallback(context.Context, *feedbackv1.RecordCallbackRequest) (*feedbackv1.RecordCallbackResponse, error) {
	st, _ := status.New(codes.InvalidArgument, "invalid callback").WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
		{Field: "satisfaction", Description: "is required when the citizen was reached " + boardsHostile},
		{Field: "callback.when", Description: "names no field of the form"}}})
	return nil, st.Err()
}

func (boardsFeedback) GetHotspots(context.Context, *feedbackv1.GetHotspotsRequest) (*feedbackv1.GetHotspotsResponse, error) {
	return &feedbackv1.GetHotspotsResponse{Hotspots: []*feedbackv1.Hotspot{{Kind: "place", Key: boardsHostile + "共和新路1200弄", Current: 5, Baseline: 1, Score: 4,
		CaseIds: []string{"01a23d74-8cea-726e-a019-c94e928393c9"}}}}, nil
}

func (boardsFeedback) GetPareto(context.Context, *feedbackv1.GetParetoRequest) (*feedbackv1.GetParetoResponse, error) {
	return &feedbackv1.GetParetoResponse{Total: 3, Rows: []*feedbackv1.ParetoRow{{ItemCode: "06022", ItemName: "</script>露天烧烤", Count: 3, Share: 1, Cumulative: 1, VitalFew: true}}}, nil
}

func (boardsFeedback) GetMetrics(_ context.Context, req *feedbackv1.GetMetricsRequest) (*feedbackv1.GetMetricsResponse, error) {
	return &feedbackv1.GetMetricsResponse{Metrics: &feedbackv1.Metrics{Cases: 4, ResponseRate: 1, ResolutionRate: 0.5, SatisfactionRate: 0.75,
		OnTimeRate: 0.9, Composite: 65, Score: 88.5, Grade: "良好"}}, nil
}

func (boardsFeedback) ListCases(context.Context, *feedbackv1.ListCasesRequest) (*feedbackv1.ListCasesResponse, error) {
	now := time.Now()
	return &feedbackv1.ListCasesResponse{Cases: []*feedbackv1.Case{
		{CaseId: "a", Area: &typesv1.Area{GridCode: "310106022001001"}, ReceivedAt: timestamppb.New(now.Add(-time.Hour)), CompleteDue: timestamppb.New(now.Add(9 * time.Hour))},
		{CaseId: "b", Area: &typesv1.Area{GridCode: "310106022001001"}, ReceivedAt: timestamppb.New(now.Add(-9 * time.Hour)), CompleteDue: timestamppb.New(now.Add(time.Hour))},
		{CaseId: "c", Area: &typesv1.Area{GridCode: "0"}, ReceivedAt: timestamppb.New(now.Add(-9 * time.Hour)), CompleteDue: timestamppb.New(now.Add(-time.Hour))},
	}}, nil
}

type boardsDispatch struct {
	dispatchv1.UnimplementedDispatchServiceServer
}

func (boardsDispatch) ListTasks(context.Context, *dispatchv1.ListTasksRequest) (*dispatchv1.ListTasksResponse, error) {
	return &dispatchv1.ListTasksResponse{Tasks: []*dispatchv1.Task{{TaskId: "T1", CaseId: "01a23d74-8cea-726e-a019-c94e928393c9", CaseNumber: "GF-20261203-000001",
		DepartmentCode: "310106022-cgzd", Role: eventsv1.TaskRole_TASK_ROLE_LEAD, State: eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED, Overdue: true, Supervised: true}}}, nil
}

func (boardsDispatch) ListArbitration(context.Context, *dispatchv1.ListArbitrationRequest) (*dispatchv1.ListArbitrationResponse, error) {
	return &dispatchv1.ListArbitrationResponse{Arbitrations: []*dispatchv1.Arbitration{{CaseId: "c2", CaseNumber: "GF-20261203-000002",
		Rejections: []*dispatchv1.Rejection{{DepartmentCode: "310106-cgj", Reason: eventsv1.RejectReason_REJECT_REASON_OTHER, Note: boardsHostile}}}}}, nil
}

func (boardsDispatch) Supervise(context.Context, *dispatchv1.SuperviseRequest) (*dispatchv1.SuperviseResponse, error) {
	return nil, status.Error(codes.PermissionDenied, "the case is outside the caller's street 310106022")
}

// newBoardsHarness is newHarness with the stubs above and the shipped
// reference data.
func newBoardsHarness(t *testing.T) *harness {
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
	h := &harness{t: t, signer: auth.NewSigner(key), now: time.Now().Truncate(time.Second),
		policy: accounts.Policy{MaxFailures: 3, LockoutDuration: time.Minute, SessionIdle: 30 * time.Minute, SessionMax: time.Hour,
			Hashing: accounts.Params{Time: 1, MemKiB: 1024, Threads: 1}}}
	if h.service, err = accounts.NewService(postgres.New(pool), h.policy, h.clock); err != nil {
		t.Fatal(err)
	}
	minter, err := web.NewMinter(dir, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	feedbackv1.RegisterFeedbackServiceServer(gs, boardsFeedback{})
	dispatchv1.RegisterDispatchServiceServer(gs, boardsDispatch{})
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("passthrough:///services", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ref, err := reference.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	h.srv = httptest.NewServer(web.New(h.service, minter, feedbackv1.NewFeedbackServiceClient(conn),
		auth.NewVerifier(key.Public().(ed25519.PublicKey)), slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		web.Options{Boards: web.Boards{Dispatch: dispatchv1.NewDispatchServiceClient(conn), Reference: func() *reference.Set { return ref }}}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *harness) boardsSignedIn(id, principal string) *http.Client {
	h.t.Helper()
	h.addAccount(id, principal)
	b := h.browser()
	resp, _ := h.signIn(b, id, password)
	wantStatus(h.t, resp, http.StatusSeeOther, "sign in "+id)
	return b
}

func wantBoardsEscaped(t *testing.T, where, page string) {
	t.Helper()
	if strings.Contains(page, "<script>alert") {
		t.Errorf("%s: citizen text reached the page unescaped", where)
	}
	if !strings.Contains(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Errorf("%s: the citizen text is not on the page as text", where)
	}
}

func TestLeversAndBoardsEscapeCitizenText(t *testing.T) {
	h := newBoardsHarness(t)
	b := h.boardsSignedIn("zj-07", "dispatcher:310106022")
	for _, path := range []string{"/cases/GF-20261203-000001/levers", "/boards/hotspots", "/boards/escalations"} {
		resp, page := h.get(b, path)
		wantStatus(t, resp, http.StatusOK, path)
		wantBoardsEscaped(t, path, page)
	}
	// The chart's data is JSON inside a script element: escaped for it.
	resp, page := h.get(b, "/boards/pareto")
	wantStatus(t, resp, http.StatusOK, "pareto")
	if strings.Contains(page, "</script>露天烧烤") || !strings.Contains(page, `\u003c/script\u003e露天烧烤`) {
		t.Errorf("pareto: the item name is not escaped inside the chart's JSON:\n%s", page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline'; script") {
		t.Errorf("pareto's content security policy %q: want scripts from the console only", csp)
	}
	if csp := func() string { r, _ := h.get(b, "/boards/escalations"); return r.Header.Get("Content-Security-Policy") }(); strings.Contains(csp, "script-src") {
		t.Errorf("a page without charts allows scripts: %q", csp)
	}
	// The scoreboard: the street's departments, not the other street's.
	_, page = h.get(b, "/boards/scores")
	if !strings.Contains(page, "310106022-cgzd") || strings.Contains(page, "310106021-cgzd") || !strings.Contains(page, "88.5") || !strings.Contains(page, "良好") {
		t.Errorf("scoreboard:\n%s", page)
	}
}

func TestLeverRefusals(t *testing.T) {
	h := newBoardsHarness(t)
	b := h.boardsSignedIn("zj-07", "dispatcher:310106022")
	const path = "/cases/GF-20261203-000001/levers"
	_, page := h.get(b, path)
	csrf := csrfOf(t, page)

	// INVALID_ARGUMENT: each violation beside its field, one naming no
	// field of the form above it; the service's text escaped.
	resp, page := h.post(b, path+"/callback", url.Values{"csrf": {csrf}, "reached": {"on"}})
	wantStatus(t, resp, http.StatusBadRequest, "callback refused")
	if !strings.Contains(page, `id="callback-satisfaction-error">is required when the citizen was reached &lt;script&gt;`) {
		t.Errorf("the violation is not beside the satisfaction field:\n%s", page)
	}
	if !strings.Contains(page, "参数有误：callback.when：names no field of the form") {
		t.Errorf("the violation naming no field is not above the form")
	}
	if !strings.Contains(page, `name="reached" checked`) {
		t.Error("the form does not keep what was posted")
	}
	// PERMISSION_DENIED, said plainly.
	resp, page = h.post(b, path+"/supervise", url.Values{"csrf": {csrf}, "task_id": {"T1"}})
	wantStatus(t, resp, http.StatusForbidden, "supervise refused")
	if !strings.Contains(page, "无权操作：the case is outside the caller&#39;s street 310106022") {
		t.Errorf("the refusal is not said plainly")
	}
	// A value the console cannot turn into the request, beside its field.
	resp, page = h.post(b, path+"/decide-extension", url.Values{"csrf": {csrf}, "task_id": {"T1"}, "decision": {"grant"}, "new_due": {"明天"}})
	wantStatus(t, resp, http.StatusBadRequest, "bad datetime")
	if !strings.Contains(page, `id="decide-extension-new_due-error"`) {
		t.Errorf("the bad date is not beside its field")
	}
	// No such lever; no CSRF token.
	resp, _ = h.post(b, path+"/demolish", url.Values{"csrf": {csrf}})
	wantStatus(t, resp, http.StatusNotFound, "unknown lever")
	resp, _ = h.post(b, path+"/cancel", url.Values{"reason": {"x"}})
	wantStatus(t, resp, http.StatusForbidden, "lever without CSRF")
	// A department sees its task actions only; a hotline account no page.
	d := h.boardsSignedIn("cgj-1", "department:310106-cgj")
	_, page = h.get(d, path)
	if !strings.Contains(page, `id="lever-forward"`) || !strings.Contains(page, `id="lever-complete"`) || strings.Contains(page, `id="lever-cancel"`) {
		t.Errorf("a department's levers: want its task actions only")
	}
	resp, page = h.post(d, path+"/cancel", url.Values{"csrf": {csrfOf(t, page)}, "reason": {"x"}})
	wantStatus(t, resp, http.StatusForbidden, "a department cancelling")
	if !strings.Contains(page, "无权操作「取消案件」") {
		t.Errorf("the department's refusal is not plain")
	}
	hl := h.boardsSignedIn("hl-1", "hotline")
	for _, p := range []string{path, "/boards/escalations", "/boards/scores", "/boards/pareto", "/boards/hotspots", "/wall", "/wall/data"} {
		resp, _ := h.get(hl, p)
		wantStatus(t, resp, http.StatusForbidden, "hotline on "+p)
	}
}

func TestWallData(t *testing.T) {
	h := newBoardsHarness(t)
	b := h.boardsSignedIn("zj-07", "dispatcher:310106022")
	resp, page := h.get(b, "/wall")
	wantStatus(t, resp, http.StatusOK, "wall")
	if !strings.Contains(page, `"type":"FeatureCollection"`) || strings.Contains(page, `"code":"310106021`) {
		t.Errorf("the wall's map: want the street's grids only")
	}
	resp, body := h.get(b, "/wall/data")
	wantStatus(t, resp, http.StatusOK, "wall data")
	// Three open cases: one green (1 of 10 hours gone), one yellow (9 of
	// 10), one red (past due, no grid); the two with a grid on one marker.
	for _, want := range []string{`"sla":{"green":1,"yellow":1,"red":1}`, `"open_cases":3`, `"no_grid":1`, `"grid":"310106022001001"`,
		`"received":4`} {
		if !strings.Contains(body, want) {
			t.Errorf("wall data lacks %s:\n%s", want, body)
		}
	}
}
