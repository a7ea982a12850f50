package loadgen

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

func TestParseTexts(t *testing.T) {
	t.Parallel()
	in := `{"id": "1", "title": "路灯不亮", "detail": "小区门口路灯坏了一个月。"}
{"id": "T2", "label": "城乡建设", "text": "楼下工地夜里施工，吵得睡不着。请管一管"}

{"id": "3", "title": "空的", "detail": ""}
{"id": "4", "title": "` + strings.Repeat("长", 300) + `", "detail": "` + strings.Repeat("字", 12000) + `"}
`
	got, err := parseTexts(strings.NewReader(in), "test.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	want := []Text{
		{Title: "路灯不亮", Body: "小区门口路灯坏了一个月。"},
		{Title: "楼下工地夜里施工", Body: "楼下工地夜里施工，吵得睡不着。请管一管"},
		{Title: strings.Repeat("长", maxTitleRunes), Body: strings.Repeat("字", maxBodyRunes)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if _, err := parseTexts(strings.NewReader("{not json\n"), "bad.jsonl"); err == nil || !strings.Contains(err.Error(), "bad.jsonl:1") {
		t.Errorf("a broken line: %v, want an error naming bad.jsonl:1", err)
	}
}

// TestPlan: the plan follows from the seed alone, its shares are what the
// config asks for, and every request is one intake accepts in shape.
func TestPlan(t *testing.T) {
	t.Parallel()
	c, err := newCity("")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Seed: 7, Prefix: "T-", Shares: DefaultShares,
		Texts: []Text{{"噪声扰民", "楼下烧烤店夜里很吵"}, {"井盖缺失", "路口井盖没了，很危险"}, {"垃圾满溢", "垃圾站满了没人清"}}}
	a, b := newGenerator(cfg, c), newGenerator(cfg, c)
	const n = 4000
	kinds := map[Kind]int{}
	var repeats, emergencies int
	ids := map[string]bool{}
	for range n {
		p, q := a.next(), b.next()
		if shape(p) != shape(q) {
			t.Fatalf("two generators with one seed differ:\n%s\n%s", shape(p), shape(q))
		}
		if ids[p.requestID] {
			t.Fatalf("request id %s twice", p.requestID)
		}
		ids[p.requestID] = true
		kinds[p.kind]++
		if p.repeat {
			repeats++
		}
		if p.emergency && !p.repeat {
			emergencies++
		}
		switch p.kind {
		case WorkOrder:
			wo := p.workOrder
			if wo.GetHotlineOrderNo() != p.requestID || wo.GetStreetCode() == "" || !strings.Contains(wo.GetAddress(), "号") ||
				wo.GetAppealType() == typesv1.AppealType_APPEAL_TYPE_UNSPECIFIED || !utf8.ValidString(wo.GetContent()) {
				t.Fatalf("work order %v", wo)
			}
		case PatrolReport:
			if p.patrol.GetCatalogueCode() == "" || p.patrol.GetLocation() == nil || p.principal.Subject != p.patrol.GetWorkerId() {
				t.Fatalf("patrol report %v", p.patrol)
			}
		case Issue:
			if p.principal.Subject != p.issue.GetCommunityCode() {
				t.Fatalf("issue %v by %v", p.issue, p.principal)
			}
		}
	}
	share := func(k int) float64 { return float64(k) / n }
	near := func(name string, got, want float64) {
		if got < want*0.7 || got > want*1.3 {
			t.Errorf("%s: share %.3f, want about %.3f", name, got, want)
		}
	}
	near("patrol reports", share(kinds[PatrolReport]), DefaultShares.Patrol)
	near("issues", share(kinds[Issue]), DefaultShares.Issue)
	wo := float64(kinds[WorkOrder])
	near("repeated reports", float64(repeats)/wo, DefaultShares.Repeat)
	// About 33 of 3,300: the binomial spread is wide.
	if e := float64(emergencies) / (wo - float64(repeats)); e < DefaultShares.Emergency/2 || e > DefaultShares.Emergency*2 {
		t.Errorf("emergencies: share %.3f, want about %.3f", e, DefaultShares.Emergency)
	}
}

// shape is a plan without its times (taken from the clock when drawn).
func shape(p *plan) string {
	wo, pr, is := p.workOrder, p.patrol, p.issue
	return strings.Join([]string{p.requestID, string(p.kind), p.principal.String(), wo.GetTitle(), wo.GetAddress(), wo.GetStreetCode(),
		wo.GetAppealType().String(), wo.GetUrgency().String(), wo.GetCallerPhone(), pr.GetGridCode(), pr.GetCatalogueCode(),
		pr.GetDescription(), is.GetCommunityCode(), is.GetTitle(), strings.Join(is.GetWhistleDepartments(), ",")}, "|")
}
