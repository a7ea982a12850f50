package web_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/services/console/internal/web"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// listsStub answers as feedback's ListsService would for 洪南山宅居民区 and
// refuses any other community, as the RPC table refuses a secretary
// another's; its problem list carries a place a spreadsheet would run.
type listsStub struct {
	feedbackv1.UnimplementedListsServiceServer
	verifier *auth.Verifier // set once the harness made it
	callers  chan string
}

func (l *listsStub) check(ctx context.Context, community string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	tok := strings.TrimPrefix(strings.Join(md.Get("authorization"), ""), "Bearer ")
	p, err := l.verifier.Verify(tok)
	if err != nil {
		return status.Error(codes.Unauthenticated, "bad token")
	}
	select {
	case l.callers <- p.String():
	default:
	}
	if community != "310106022001" {
		return status.Error(codes.PermissionDenied, "area "+community+" is outside the caller's scope")
	}
	return nil
}

func (l *listsStub) GetProblemList(ctx context.Context, r *feedbackv1.GetProblemListRequest) (*feedbackv1.GetProblemListResponse, error) {
	return &feedbackv1.GetProblemListResponse{Places: []*feedbackv1.ProblemRow{{Key: "静安区|长乐路||340|", Name: "=cmd|' /C calc'!A0", Count: 2,
		Share: 1, Cumulative: 1, VitalFew: true}}}, l.check(ctx, r.GetAreaCode())
}

func (l *listsStub) GetNeedsList(ctx context.Context, r *feedbackv1.GetNeedsListRequest) (*feedbackv1.GetNeedsListResponse, error) {
	return &feedbackv1.GetNeedsListResponse{}, l.check(ctx, r.GetAreaCode())
}

func (l *listsStub) GetServiceList(ctx context.Context, r *feedbackv1.GetServiceListRequest) (*feedbackv1.GetServiceListResponse, error) {
	return &feedbackv1.GetServiceListResponse{}, l.check(ctx, r.GetAreaCode())
}

func (l *listsStub) GetMonthFigures(ctx context.Context, r *feedbackv1.GetMonthFiguresRequest) (*feedbackv1.GetMonthFiguresResponse, error) {
	return &feedbackv1.GetMonthFiguresResponse{Areas: []*feedbackv1.AreaMonth{{AreaCode: r.GetCommunityCode(), AreaName: "洪南山宅居民区",
		Level: "community", Cases: 9, SelfDisposed: 1}}}, l.check(ctx, r.GetCommunityCode())
}

// The export route serves each file as Excel-safe CSV to a secretary (its
// own community by default), says a refusal plainly, and is closed to the
// roles pkg/policy's route table leaves out.
func TestExportLists(t *testing.T) {
	stub := &listsStub{callers: make(chan string, 64)}
	h := newHarnessWith(t, func(string) web.Options {
		lis := bufconn.Listen(1 << 20)
		gs := grpc.NewServer()
		feedbackv1.RegisterListsServiceServer(gs, stub)
		go func() { _ = gs.Serve(lis) }()
		t.Cleanup(gs.Stop)
		conn, err := grpc.NewClient("passthrough:///lists", grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return web.Options{Lists: feedbackv1.NewListsServiceClient(conn)}
	})
	stub.verifier = h.fb.verifier
	h.addAccount("sec-hn", "secretary:310106022001")
	sec := h.browser()
	resp, _ := h.signIn(sec, "sec-hn", password)
	wantStatus(t, resp, http.StatusSeeOther, "sign in")

	resp, body := h.get(sec, "/exports/lists/problems.csv?month=2026-11")
	wantStatus(t, resp, http.StatusOK, "problems.csv")
	if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="310106022001-2026-11-problems.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	want := "\ufeffcommunity_code,month,kind,rank,key,name,count,share,cumulative,vital_few\n" +
		"310106022001,2026-11,place,1,静安区|长乐路||340|,'=cmd|' /C calc'!A0,2,1.0000,1.0000,true\n"
	if body != want {
		t.Errorf("problems.csv = %q, want %q", body, want)
	}
	if got := <-stub.callers; got != "secretary:310106022001" {
		t.Errorf("the export called feedback as %s, want the account's principal", got)
	}
	resp, body = h.get(sec, "/exports/lists/figures.csv?community=310106022001&month=2026-11")
	wantStatus(t, resp, http.StatusOK, "figures.csv")
	if !strings.Contains(body, "\n2026-11,community,310106022001,洪南山宅居民区,9,") {
		t.Errorf("figures.csv lacks the community's row: %q", body)
	}
	resp, body = h.get(sec, "/exports/lists/figures.csv?community=310106022002")
	wantStatus(t, resp, http.StatusForbidden, "another community")
	if !strings.Contains(body, "无权操作") {
		t.Errorf("refusal said %q", body)
	}
	resp, _ = h.get(sec, "/exports/lists/passwd")
	wantStatus(t, resp, http.StatusNotFound, "an unknown file")
	resp, _ = h.get(sec, "/exports/lists/needs.csv?month=11-2026")
	wantStatus(t, resp, http.StatusBadRequest, "a bad month")

	h.addAccount("hl-1", "hotline")
	hl := h.browser()
	resp, _ = h.signIn(hl, "hl-1", password)
	wantStatus(t, resp, http.StatusSeeOther, "sign in hotline")
	resp, _ = h.get(hl, "/exports/lists/needs.csv?community=310106022001")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("the hotline opened the export: %d", resp.StatusCode)
	}
}
