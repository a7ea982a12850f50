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
	"sync"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/testenv"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	"github.com/gridflow/gridflow/services/console/internal/accounts"
	"github.com/gridflow/gridflow/services/console/internal/postgres"
	"github.com/gridflow/gridflow/services/console/internal/web"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Early warning (issue 20): the warnings page over a bufconn WarningService
// that answers hostile text and refuses as feedback does (the real one is
// e2e's and internal/postgres's in feedback).

const warningID = "6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"

type warningsStub struct {
	feedbackv1.UnimplementedWarningServiceServer
	mu    sync.Mutex
	acted []string
}

func stubWarning() *feedbackv1.Warning {
	return &feedbackv1.Warning{Key: &eventsv1.WarningKey{WarningId: warningID, Kind: "place", Key: boardsHostile + "共和新路8861弄3号",
		Street: "310106022", WindowStart: timestamppb.New(time.Now().Add(-time.Hour)), WindowEnd: timestamppb.New(time.Now().Add(time.Hour))},
		Reasons: &eventsv1.WarningReasons{Count: 4, Baseline: 1, Rise: 4, CaseIds: []string{"01a23d74-8cea-726e-a019-c94e928393c9"},
			Rule: &eventsv1.WarningRule{Name: "places", MinCount: 4, Rise: 2, FurtherStep: 1.5}},
		State: feedbackv1.WarningState_WARNING_STATE_RAISED, Level: 1, RaisedAt: timestamppb.Now()}
}

func (s *warningsStub) ListWarnings(context.Context, *feedbackv1.ListWarningsRequest) (*feedbackv1.ListWarningsResponse, error) {
	return &feedbackv1.ListWarningsResponse{Warnings: []*feedbackv1.Warning{stubWarning()}}, nil
}

func (s *warningsStub) DismissWarning(_ context.Context, req *feedbackv1.DismissWarningRequest) (*feedbackv1.DismissWarningResponse, error) {
	if req.GetNote() == "" {
		return nil, status.Error(codes.InvalidArgument, "note: is required")
	}
	s.mu.Lock()
	s.acted = append(s.acted, "dismiss "+req.GetWarningId()+" "+req.GetNote())
	s.mu.Unlock()
	return &feedbackv1.DismissWarningResponse{Warning: stubWarning()}, nil
}

func (s *warningsStub) AcknowledgeWarning(_ context.Context, req *feedbackv1.AcknowledgeWarningRequest) (*feedbackv1.AcknowledgeWarningResponse, error) {
	s.mu.Lock()
	s.acted = append(s.acted, "ack "+req.GetWarningId())
	s.mu.Unlock()
	return nil, status.Error(codes.FailedPrecondition, "warning is dismissed: only a raised warning is acknowledged or dismissed")
}

func TestWarningsPage(t *testing.T) {
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
	stub := &warningsStub{}
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	feedbackv1.RegisterWarningServiceServer(gs, stub)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("passthrough:///services", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	h.srv = httptest.NewServer(web.New(h.service, minter, feedbackv1.NewFeedbackServiceClient(conn),
		auth.NewVerifier(key.Public().(ed25519.PublicKey)), slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		web.Options{Warnings: feedbackv1.NewWarningServiceClient(conn)}))
	t.Cleanup(h.srv.Close)

	b := h.boardsSignedIn("zj-07", "dispatcher:310106022")
	resp, page := h.get(b, "/warnings")
	wantStatus(t, resp, http.StatusOK, "warnings")
	wantBoardsEscaped(t, "warnings", page)
	if !strings.Contains(page, `action="/warnings/`+warningID+`/dismiss"`) || !strings.Contains(page, "places：至少 4 件") {
		t.Errorf("warnings page:\n%s", page)
	}
	csrf := csrfOf(t, page)

	// No CSRF token: refused before any call.
	resp, _ = h.post(b, "/warnings/"+warningID+"/dismiss", url.Values{"note": {"x"}})
	wantStatus(t, resp, http.StatusForbidden, "dismiss without CSRF")
	// No note: feedback's refusal, said beside the list.
	resp, page = h.post(b, "/warnings/"+warningID+"/dismiss", url.Values{"csrf": {csrf}})
	wantStatus(t, resp, http.StatusBadRequest, "dismiss without a note")
	if !strings.Contains(page, "参数有误：note: is required") {
		t.Errorf("refusal not shown:\n%s", page)
	}
	// With a note: done, back to the list.
	resp, _ = h.post(b, "/warnings/"+warningID+"/dismiss", url.Values{"csrf": {csrf}, "note": {"临时集中停放"}, "request_id": {"r-1"}})
	wantStatus(t, resp, http.StatusSeeOther, "dismiss")
	if loc := resp.Header.Get("Location"); loc != "/warnings?done=dismiss" {
		t.Errorf("dismiss went to %q", loc)
	}
	// A warning no longer raised: its state's refusal.
	resp, page = h.post(b, "/warnings/"+warningID+"/ack", url.Values{"csrf": {csrf}})
	wantStatus(t, resp, http.StatusConflict, "ack a dismissed warning")
	if !strings.Contains(page, "当前状态不允许此操作") {
		t.Errorf("state refusal not shown:\n%s", page)
	}
	stub.mu.Lock()
	if got := strings.Join(stub.acted, "|"); got != "dismiss "+warningID+" 临时集中停放|ack "+warningID {
		t.Errorf("calls %q", got)
	}
	stub.mu.Unlock()

	// A department reads no warnings.
	dept := h.boardsSignedIn("cgzd-1", "department:310106022-cgzd")
	resp, _ = h.get(dept, "/warnings")
	wantStatus(t, resp, http.StatusForbidden, "a department's warnings")
}

// The live queue's warning item escapes what it shows.
func TestRenderWarningEscapes(t *testing.T) {
	t.Parallel()
	w := stubWarning()
	b, err := web.RenderWarning(&eventsv1.Envelope{Type: "warning.raised", OccurredAt: timestamppb.Now(),
		Payload: &eventsv1.Envelope_WarningRaised{WarningRaised: &eventsv1.WarningRaised{Warning: w.GetKey(), Reasons: w.GetReasons(), Level: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	wantBoardsEscaped(t, "live warning", got)
	if !strings.HasPrefix(got, `<li id="warning-`+warningID) || !strings.Contains(got, "本期 4 件，上升 4.0 倍（第 2 次）") {
		t.Errorf("rendered %s", got)
	}
	if _, err := web.RenderWarning(&eventsv1.Envelope{Type: "case.received"}); err == nil {
		t.Error("rendered a case event as a warning")
	}
}
