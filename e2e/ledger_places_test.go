package e2e

// Issue 20's Proof, part "Places (以房管人)": a street's register imported
// from CSV (twice: the second changes nothing), a grid worker's finding (a
// shop for rent), three hotline orders at the shop's address — one
// anonymous caller's at home in a flat of the building — and the place
// history of the address, of the lane and over a time range, where the
// private one shows at lane level only.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"google.golang.org/protobuf/types/known/timestamppb"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// placesWorker is the worker of the grid the places story's shop is in
// (310106022002001); the e2e stacks' register keeps it (onlyLedgerWorker).
const placesWorker = "w-022002001"

func TestLedgerPlaces(t *testing.T) {
	s := startStack(t)
	ledgerPlacesStory(t, s)
}

// ledgerPlacesStory runs the places part on a running stack. It creates its
// own shop (a name of its own) in a building of 芷江西路61弄 (grid
// 310106022002001, worker w-022002001) and asserts only on what it made.
func ledgerPlacesStory(t *testing.T, s *stack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s.pointGridctl(t)
	run := fmt.Sprintf("%06d", rand.IntN(1e6))
	house := 1 + rand.IntN(30)
	building := fmt.Sprintf("芷江西路61弄%d号", house)
	// The shop's own name: the run's digits as characters the address
	// parser keeps in a shop's name (digits it would read as a number).
	var uniq []rune
	for _, d := range run {
		uniq = append(uniq, []rune("梅兰竹菊松柏桃李杏枫")[d-'0'])
	}
	shop := "好邻居" + string(uniq) + "便利店"
	laneKey := "静安区|芷江西路|61||"
	buildingKey := fmt.Sprintf("静安区|芷江西路|61|%d|", house)

	// 1. The street's register, from the CSV it already has.
	file := filepath.Join(s.dir, "places-"+run+".csv")
	csv := "address,name,kind,status\n" + building + "," + shop + ",shop,active\n" + building + ",,residential,\n"
	if err := os.WriteFile(file, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	var imp classifyv1.ImportPlacesResponse
	s.gridctlJSON(t, &imp, "place", "import", file, "--as", "dispatcher:310106022")
	if imp.GetCreated() < 1 || imp.GetCreated()+imp.GetUnchanged() != 2 || imp.GetRefused() != 0 {
		t.Fatalf("import: %v", &imp)
	}
	s.gridctlJSON(t, &imp, "place", "import", file, "--as", "dispatcher:310106022")
	if imp.GetCreated() != 0 || imp.GetUpdated() != 0 || imp.GetUnchanged() != 2 {
		t.Fatalf("the same file again: %v, want 2 unchanged", &imp)
	}

	// 2. The grid's worker finds the shop for rent.
	var found classifyv1.RecordPlaceFindingResponse
	s.gridctlJSON(t, &found, "place", "finding", building+shop, "--status", "for_rent", "--note", "门面招租，下家可能开酒吧",
		"--as", "patrol:"+placesWorker)
	shopKey := found.GetPlace().GetPlaceKey()
	if !found.GetChanged() || found.GetPlace().GetStatus() != "for_rent" || found.GetPlace().GetVersion() < 2 ||
		found.GetPlace().GetLaneKey() != laneKey || found.GetPlace().GetGridCode() != "310106022002001" {
		t.Fatalf("finding: %v", &found)
	}
	// Another grid's worker may not.
	s.gridctlFails(t, []string{"PermissionDenied"}, "place", "finding", shopKey, "--note", "看看", "--as", "patrol:w-022001001")

	// 3. Three hotline orders at the shop's address; the third an
	// anonymous caller's problem at home, in a flat of the building.
	hotline := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	order := func(no, addr, content string, anonymous, private bool) string {
		t.Helper()
		wo := &intakev1.WorkOrder{HotlineOrderNo: "LP-" + run + "-" + no, ReceivedAt: timestamppb.New(time.Now().Add(-time.Minute)),
			AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT, Title: content, Content: "市民反映：" + content + "，请相关部门处理。",
			Address: "上海市静安区" + addr, DistrictCode: jingan, StreetCode: zhijiang, Urgency: typesv1.Urgency_URGENCY_NORMAL,
			Anonymous: anonymous, PrivateLocation: private, CallerName: "李女士", CallerPhone: "13912345678"}
		resp, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
		if err != nil {
			t.Fatalf("order %s: %v", no, err)
		}
		return resp.GetSubmission().GetCaseId()
	}
	a := order("1", building+shop+"门口", "便利店门口堆放纸箱占用人行道", false, false)
	b := order("2", building+shop, "便利店夜间卸货噪声扰民", false, false)
	c := order("3", building+"302室", "楼上卫生间漏水渗到我家天花板", true, true)

	places := classifyv1.NewPlaceServiceClient(s.dial(t, "classify", auth.Principal{Role: auth.RoleDispatcher, Subject: zhijiang}))
	ids := func(h *classifyv1.GetPlaceHistoryResponse) []string {
		var out []string
		for _, pc := range h.GetCases() {
			out = append(out, pc.GetCaseId())
		}
		return out
	}
	// classify keeps each case's place as it classifies it.
	deadline := time.Now().Add(90 * time.Second)
	for {
		h, err := places.GetPlaceHistory(ctx, &classifyv1.GetPlaceHistoryRequest{PlaceKey: buildingKey, Lane: true, PageSize: 500})
		if err != nil {
			t.Fatal(err)
		}
		got := ids(h)
		if slices.Contains(got, a) && slices.Contains(got, b) && slices.Contains(got, c) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lane's history lacks the orders: %v (want %s %s %s)", got, a, b, c)
		}
		time.Sleep(300 * time.Millisecond)
	}

	// 4a. The address (the building and the shops in it): the two orders
	// at the shop, never the home.
	var h classifyv1.GetPlaceHistoryResponse
	s.gridctlJSON(t, &h, "place", "show", building, "--as", "dispatcher:310106022")
	if got := ids(&h); !slices.Contains(got, a) || !slices.Contains(got, b) || slices.Contains(got, c) || h.GetKey() != buildingKey {
		t.Errorf("the address's history (%s): %v; want %s and %s, not the private %s", h.GetKey(), got, a, b, c)
	}
	// The shop itself: its orders, its register entry and both versions.
	s.gridctlJSON(t, &h, "place", "show", shopKey, "--as", "patrol:"+placesWorker)
	if got := ids(&h); !slices.Contains(got, a) || !slices.Contains(got, b) || slices.Contains(got, c) ||
		h.GetPlace().GetStatus() != "for_rent" || len(h.GetChanges()) < 2 {
		t.Errorf("the shop's history: %v, place %v, changes %v", got, h.GetPlace(), h.GetChanges())
	}
	// 4b. The lane: all three, the private one at lane level only.
	s.gridctlJSON(t, &h, "place", "show", building, "--lane", "--as", "dispatcher:310106022")
	if got := ids(&h); !slices.Contains(got, a) || !slices.Contains(got, b) || !slices.Contains(got, c) || h.GetKey() != laneKey || !h.GetLane() {
		t.Errorf("the lane's history (%s): %v", h.GetKey(), got)
	}
	for _, pc := range h.GetCases() {
		switch pc.GetCaseId() {
		case c:
			if !pc.GetPrivateLocation() || pc.GetPlaceKey() != laneKey {
				t.Errorf("the private case shows at %q (private %v), want the lane %q", pc.GetPlaceKey(), pc.GetPrivateLocation(), laneKey)
			}
		case a, b:
			if pc.GetPrivateLocation() || pc.GetPlaceKey() != shopKey {
				t.Errorf("case %s shows at %q, want the shop %q", pc.GetCaseId(), pc.GetPlaceKey(), shopKey)
			}
		}
	}
	// 4c. A time range: today (Asia/Shanghai) has them, a range ending
	// yesterday none.
	sh, _ := time.LoadLocation("Asia/Shanghai")
	today := time.Now().In(sh).Format("2006-01-02")
	yesterday := time.Now().In(sh).AddDate(0, 0, -1).Format("2006-01-02")
	s.gridctlJSON(t, &h, "place", "show", building, "--lane", "--from", today, "--to", today, "--as", "dispatcher:310106022")
	if got := ids(&h); !slices.Contains(got, a) || !slices.Contains(got, c) {
		t.Errorf("today's lane history: %v", got)
	}
	s.gridctlJSON(t, &h, "place", "show", building, "--lane", "--from", "2026-01-01", "--to", yesterday, "--as", "dispatcher:310106022")
	if got := ids(&h); slices.Contains(got, a) || slices.Contains(got, b) || slices.Contains(got, c) {
		t.Errorf("the history up to yesterday holds today's orders: %v", got)
	}
	// The case page's question: the private case's place is its lane.
	byCase, err := places.GetPlaceHistory(ctx, &classifyv1.GetPlaceHistoryRequest{CaseId: c})
	if err != nil || byCase.GetKey() != laneKey || !byCase.GetLane() {
		t.Errorf("history by the private case: %v, %v", byCase.GetKey(), err)
	}
	// Another street's dispatcher may not read the place.
	other := classifyv1.NewPlaceServiceClient(s.dial(t, "classify", auth.Principal{Role: auth.RoleDispatcher, Subject: linfen}))
	if _, err := other.GetPlaceHistory(ctx, &classifyv1.GetPlaceHistoryRequest{PlaceKey: shopKey}); authzCode(err) != "P" {
		t.Errorf("another street's dispatcher: %v", err)
	}
	// place.upserted went out for the import and the finding.
	if msgs := s.events(t, "grid.place.upserted.310106.310106022", 2, time.Minute); len(msgs) < 2 {
		t.Errorf("place.upserted events: %d", len(msgs))
	}
}
