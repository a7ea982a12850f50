package listexport

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/excelcsv"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// The export's files: the documented columns, one row per item, and
// cells a spreadsheet would run as formulas made inert.
func TestFiles(t *testing.T) {
	t.Parallel()
	pl := &feedbackv1.GetProblemListResponse{Subjects: []*feedbackv1.ProblemRow{{Key: "06020", Name: "噪声扰民", Count: 3, Share: 0.6, Cumulative: 0.6, VitalFew: true}},
		Places: []*feedbackv1.ProblemRow{{Key: "静安区|长乐路||340|=1+1", Name: "长乐路340号 (=1+1)", Count: 2, Share: 0.4, Cumulative: 1}}}
	nl := &feedbackv1.GetNeedsListResponse{Households: 4, Needs: []*feedbackv1.Need{{CategoryCode: "SC03", CategoryName: "精神慰藉与心理疏导",
		Levels: []int32{1, 0, 0, 3}, Asking: 3, Share: 0.75}}}
	sl := &feedbackv1.GetServiceListResponse{Needs: []*feedbackv1.Need{{CategoryCode: "SC03", CategoryName: "精神慰藉与心理疏导", Asking: 3, Share: 0.75},
		{CategoryCode: "SC02", CategoryName: "垃圾分类指导", Asking: 2, Share: 0.5, Cases: 1,
			Services: []*feedbackv1.ServiceRef{{Id: "svc-zj-sorting", Organisation: "志愿队", Name: "桶边指导"}}}}}
	mf := &feedbackv1.GetMonthFiguresResponse{Areas: []*feedbackv1.AreaMonth{{AreaCode: "310106022001", AreaName: "洪南山宅居民区", Level: "community",
		Cases: 9, ValidCallbacks: 4, ResponseRate: 1, ResolutionRate: 0.75, SatisfactionRate: 0.725, Composite: 76.5, ToHandle: 4,
		HandledOnTime: 3, OnTimeRate: 0.75, SelfDisposed: 1, InspectionsDone: 2, InspectionsMissed: 1,
		Subjects: []*feedbackv1.ItemCount{{ItemCode: "06020", ItemName: "噪声扰民", Count: 3}}}}}
	files := Files("310106022001", "2026-11", pl, nl, sl, mf)
	got := map[string]string{}
	for _, f := range files {
		var b strings.Builder
		if err := f.Write(&b); err != nil {
			t.Fatal(err)
		}
		got[f.Name] = b.String()
	}
	want := map[string]string{
		"problems.csv": "\ufeffcommunity_code,month,kind,rank,key,name,count,share,cumulative,vital_few\n" +
			"310106022001,2026-11,subject,1,06020,噪声扰民,3,0.6000,0.6000,true\n" +
			"310106022001,2026-11,place,1,静安区|长乐路||340|=1+1,长乐路340号 (=1+1),2,0.4000,1.0000,false\n",
		"needs.csv": "\ufeffcommunity_code,rank,category_code,category_name,households,asking,share,level_无,level_低,level_中,level_高,cases,services\n" +
			"310106022001,1,SC03,精神慰藉与心理疏导,4,3,0.7500,1,0,0,3,0,\n",
		"services.csv": "\ufeffcommunity_code,category_code,category_name,asking,share,cases,answered,service_id,organisation,service_name,contact\n" +
			"310106022001,SC03,精神慰藉与心理疏导,3,0.7500,0,false,,,,\n" +
			"310106022001,SC02,垃圾分类指导,2,0.5000,1,true,svc-zj-sorting,志愿队,桶边指导,\n",
		"figures.csv": "\ufeffmonth,level,area_code,area_name,cases,valid_callbacks,response_rate,resolution_rate,satisfaction_rate,composite," +
			"to_handle,handled_on_time,on_time_rate,self_disposed,inspections_done,inspections_missed\n" +
			"2026-11,community,310106022001,洪南山宅居民区,9,4,1.0000,0.7500,0.7250,76.50,4,3,0.7500,1,2,1\n",
		"subjects.csv": "\ufeffmonth,level,area_code,area_name,item_code,item_name,count\n" +
			"2026-11,community,310106022001,洪南山宅居民区,06020,噪声扰民,3\n",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files mismatch (-want +got):\n%s", diff)
	}
	// A name a spreadsheet would evaluate is guarded.
	if g := guardedRow([]string{"=HYPERLINK(\"x\")", "-3"}); g != "\"'=HYPERLINK(\"\"x\"\")\",-3\n" {
		t.Errorf("guarded row %q", g)
	}
}

func guardedRow(r []string) string {
	var b strings.Builder
	w := excelcsv.NewWriter(&b)
	_ = w.Write(r)
	_ = w.Flush()
	return strings.TrimPrefix(b.String(), "\ufeff")
}
