package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"google.golang.org/protobuf/types/known/timestamppb"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// TestLedgerLists is issue 20's part "the three lists" on a stack of its
// own.
func TestLedgerLists(t *testing.T) {
	s := startStack(t)
	ledgerListsStory(t, s)
}

// ledgerListsStory runs the three lists' part of the neighbourhood's
// ledger on a running full stack: 中华新村居民区's secretary imports a
// needs survey with gridctl, and its needs list ranks 精神慰藉与心理疏导
// first, which no service of 芷江西路街道 answers, so the service list shows
// it first; two hotline reports at one house number of the community make
// it a recurring place on the problem list; and gridctl export lists writes
// the month's CSV files with their headers and the community's row. It
// creates everything it counts (its own survey id and house number) and
// asserts nothing that another story's cases would change.
func ledgerListsStory(t *testing.T, s *stack) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const community = zhijiang + "003" // 中华新村居民区
	run := time.Now().UnixNano()
	began := time.Now().Add(-time.Minute)
	secretary := auth.Principal{Role: auth.RoleSecretary, Subject: community}
	lists := feedbackv1.NewListsServiceClient(s.dial(t, "feedback", secretary))
	tok, err := s.signer.Issue(secretary, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	// The survey, as a community has it: six households, one row per
	// household answer, with a BOM from Excel.
	var csv strings.Builder
	csv.WriteString("\ufeffhousehold,community,category,level\n")
	for i := range 6 {
		hh := fmt.Sprintf("ZH-%03d", i+1)
		fmt.Fprintf(&csv, "%s,%s,精神慰藉与心理疏导,%s\n", hh, community, []string{"高", "高", "中", "高", "中", "低"}[i])
		fmt.Fprintf(&csv, "%s,%s,SC05,%s\n", hh, community, []string{"高", "中", "低", "无", "中", "低"}[i])
		fmt.Fprintf(&csv, "%s,%s,SC14,%d\n", hh, community, []int{2, 0, 1, 1, 0, 1}[i])
	}
	file := filepath.Join(t.TempDir(), "survey.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	survey := fmt.Sprintf("zh-needs-%d", run)
	out, err := s.gridctl(t, "--addr", s.addrs["feedback"], "--token", tok, "needs", "import", file, "--survey-id", survey,
		"--title", "中华新村需求调查", "--batch", "5")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("survey %s: 18 answers, 6 households in 1 communities", survey); !strings.Contains(out, want) {
		t.Errorf("gridctl needs import said %q, want %q", out, want)
	}
	period := &feedbackv1.Period{Start: timestamppb.New(began), End: timestamppb.New(time.Now().Add(time.Hour))}
	nl, err := lists.GetNeedsList(ctx, &feedbackv1.GetNeedsListRequest{AreaCode: community, Period: period})
	if err != nil {
		t.Fatal(err)
	}
	if len(nl.GetNeeds()) < 3 || nl.GetHouseholds() != 6 {
		t.Fatalf("needs list %v", nl)
	}
	// 精神慰藉 5 of 6 at 中 or 高; 居家养老 3 of 6; 消防宣传 1 of 6.
	first := nl.GetNeeds()[0]
	if first.GetCategoryCode() != "SC03" || first.GetAsking() != 5 || len(first.GetServices()) != 0 ||
		nl.GetNeeds()[1].GetCategoryCode() != "SC05" || nl.GetNeeds()[2].GetCategoryCode() != "SC14" {
		t.Errorf("needs ranked %v, want SC03 (5 of 6, no service), SC05, SC14", nl.GetNeeds()[:3])
	}
	sl, err := lists.GetServiceList(ctx, &feedbackv1.GetServiceListRequest{AreaCode: community, Period: period})
	if err != nil {
		t.Fatal(err)
	}
	if n := sl.GetNeeds(); len(n) < 3 || n[0].GetCategoryCode() != "SC03" || len(n[0].GetServices()) != 0 ||
		len(n[1].GetServices()) == 0 || len(n[2].GetServices()) == 0 {
		t.Errorf("service list %v: want the unanswered SC03 first, then the answered needs", n)
	}

	// Two reports at one house number of the community (共和新路 odd
	// 1401–1599 is 中华新村西网格): a recurring place.
	number := 1401 + 2*(run%100)
	hotline := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	for i, title := range []string{"商铺门前堆物", "商铺夜间噪声扰民"} {
		wo := dispatchWorkOrder(fmt.Sprintf("E2E-LL-%d-%d", run, i), title, "共和新路"+fmt.Sprint(number)+"号的商铺"+title+"，请处理。",
			zhijiang, typesv1.Urgency_URGENCY_NORMAL)
		wo.Address = fmt.Sprintf("上海市静安区共和新路%d号", number)
		if _, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo}); err != nil {
			t.Fatal(err)
		}
	}
	place := fmt.Sprintf("共和新路%d号", number)
	var places []*feedbackv1.ProblemRow
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		pl, err := lists.GetProblemList(ctx, &feedbackv1.GetProblemListRequest{AreaCode: community, Period: period, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		places = pl.GetPlaces()
		if ledgerListsHasPlace(places, place) || time.Now().After(deadline) {
			break
		}
	}
	if !ledgerListsHasPlace(places, place) {
		t.Fatalf("the problem list's recurring places %v lack %s", places, place)
	}

	// The month's export, as the secretary hands it in.
	dir := filepath.Join(t.TempDir(), "export")
	month := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01")
	if _, err := s.gridctl(t, "--addr", s.addrs["feedback"], "--token", tok, "export", "lists", "--community", community,
		"--month", month, "--out", dir); err != nil {
		t.Fatal(err)
	}
	headers := map[string]string{
		"problems.csv": "community_code,month,kind,rank,key,name,count,share,cumulative,vital_few",
		"needs.csv":    "community_code,rank,category_code,category_name,households,asking,share,level_无,level_低,level_中,level_高,cases,services",
		"services.csv": "community_code,category_code,category_name,asking,share,cases,answered,service_id,organisation,service_name,contact",
		"figures.csv": "month,level,area_code,area_name,cases,valid_callbacks,response_rate,resolution_rate,satisfaction_rate,composite," +
			"to_handle,handled_on_time,on_time_rate,self_disposed,inspections_done,inspections_missed",
		"subjects.csv": "month,level,area_code,area_name,item_code,item_name,count",
	}
	for name, header := range headers {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		if lines[0] != "\ufeff"+header {
			t.Errorf("%s starts %q, want the BOM and %q", name, lines[0], header)
		}
		switch name {
		case "figures.csv":
			if len(lines) < 2 || !strings.HasPrefix(lines[1], month+",community,"+community+",中华新村居民区,") {
				t.Errorf("figures.csv lacks the community's row first: %q", b)
			}
		case "problems.csv":
			if !strings.Contains(string(b), ",place,") || !strings.Contains(string(b), place) {
				t.Errorf("problems.csv lacks the recurring place %s: %q", place, b)
			}
		case "services.csv":
			if len(lines) < 2 || !strings.HasPrefix(lines[1], community+",SC03,精神慰藉与心理疏导,5,") {
				t.Errorf("services.csv does not list the unanswered need first: %q", b)
			}
		}
	}
}

func ledgerListsHasPlace(rows []*feedbackv1.ProblemRow, name string) bool {
	for _, r := range rows {
		if r.GetName() == name && r.GetCount() >= 2 {
			return true
		}
	}
	return false
}
