package web_test

// Issue 20, places: the place page and the case page's section, with
// classify's PlaceService answering over bufconn (the real one is e2e's).

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	"github.com/gridflow/gridflow/services/console/internal/web"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type placesStub struct {
	classifyv1.UnimplementedPlaceServiceServer
	asked []*classifyv1.GetPlaceHistoryRequest
}

func (p *placesStub) GetPlaceHistory(_ context.Context, req *classifyv1.GetPlaceHistoryRequest) (*classifyv1.GetPlaceHistoryResponse, error) {
	p.asked = append(p.asked, req)
	return &classifyv1.GetPlaceHistoryResponse{Key: "静安区|芷江西路|61|7|好邻居便利",
		Place: &classifyv1.Place{Name: "好邻居<b>便利店</b>", Kind: "shop", Status: "for_rent", Version: 2, GridCode: "310106022002001"},
		Cases: []*classifyv1.PlaceCase{
			{CaseId: "c1", CaseNumber: "GF-20261203-000001", Source: "hotline", ItemCode: "06022", Title: `门口<script>alert("x")</script>`,
				ReceivedAt: timestamppb.Now(), PlaceKey: "静安区|芷江西路|61|7|好邻居便利"},
			{CaseId: "c2", CaseNumber: "GF-20261203-000002", Source: "hotline", Title: "楼上漏水", PrivateLocation: true,
				PlaceKey: "静安区|芷江西路|61||", ReceivedAt: timestamppb.Now()},
		},
		Changes: []*classifyv1.PlaceChange{{PlaceKey: "静安区|芷江西路|61|7|好邻居便利", Version: 2, Origin: "finding",
			Actor: "patrol:w-022002001", Status: "for_rent", Note: "门面招租<i>酒吧</i>"}},
	}, nil
}

// TestPlacePageEscapesAndMarksPrivate: a dispatcher reads a place's
// history; citizen and register text is escaped, a private case says it
// is shown at its lane only; the hotline may not open the page.
func TestPlacePageEscapesAndMarksPrivate(t *testing.T) {
	stub := &placesStub{}
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	classifyv1.RegisterPlaceServiceServer(gs, stub)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("passthrough:///classify", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	h := newHarnessWith(t, func(string) web.Options { return web.Options{Places: classifyv1.NewPlaceServiceClient(conn)} })
	h.addAccount("zj-07", "dispatcher:310106022")
	h.addAccount("hl-01", "hotline")
	b := h.browser()
	resp, _ := h.signIn(b, "zj-07", password)
	wantStatus(t, resp, http.StatusSeeOther, "sign in")
	resp, body := h.get(b, "/places/"+url.PathEscape("静安区|芷江西路|61|7|好邻居便利")+"?from=2026-11-01&to=2026-11-30")
	wantStatus(t, resp, http.StatusOK, "place page")
	for _, bad := range []string{"<script>", "<b>便利店</b>", "<i>酒吧</i>"} {
		if strings.Contains(body, bad) {
			t.Errorf("the page shows %q unescaped", bad)
		}
	}
	for _, want := range []string{"此地历史", "&lt;script&gt;", "住所，仅显示到弄", "GF-20261203-000002", "patrol:w-022002001", "整条弄"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if len(stub.asked) != 1 || stub.asked[0].GetPlaceKey() != "静安区|芷江西路|61|7|好邻居便利" || stub.asked[0].GetFrom() == nil ||
		stub.asked[0].GetTo().AsTime().Sub(stub.asked[0].GetFrom().AsTime()).Hours() != 30*24 {
		t.Errorf("asked %v", stub.asked)
	}
	if resp, _ := h.get(b, "/places/x?from=March"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad date: %d", resp.StatusCode)
	}
	hb := h.browser()
	resp, _ = h.signIn(hb, "hl-01", password)
	wantStatus(t, resp, http.StatusSeeOther, "sign in as the hotline")
	if resp, _ := h.get(hb, "/places/x"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the hotline opened a place page: %d", resp.StatusCode)
	}
}
