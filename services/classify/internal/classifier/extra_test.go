package classifier

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReplyBureau(t *testing.T) {
	t.Parallel()
	for reply, want := range map[string]string{
		"您好！市住建局及时将您反映的问题交由市房屋交易管理中心办理。": "城乡建设",
		"经区生态环境局执法人员现场检查，该企业已停产整改。":      "环境保护",
		"市人力资源和社会保障局答复：您的社保关系可以转移。":      "劳动和社会保障",
		"市交通运输局回复：公交线路调整已报批。":            "交通运输",
		"区卫生健康局已责成医院整改。":                 "卫生计生",
		"市市场监督管理局已立案调查。":                 "商贸旅游",
		"区教育局已要求学校停止违规收费。":               "教育文体",
		"感谢您对我们工作的关心、监督与支持。":             "", // no department
		"区住建局与区教育局联合调查。":                 "", // a tie names none
		"区住建局与区教育局联合调查，住建局牵头。":           "城乡建设",
	} {
		if got := ReplyBureau(reply); got != want {
			t.Errorf("ReplyBureau(%q) = %q, want %q", reply, got, want)
		}
	}
}

func TestDropOverlap(t *testing.T) {
	t.Parallel()
	labelled := []Example{
		{ID: "T1", Label: "a", Text: "小区门口道路破损严重道路破损已经三个月了，行人经常摔倒，请相关部门尽快修复路面谢谢"},
		{ID: "T2", Label: "b", Text: "学校乱收费问题某某学校每学期额外收取资料费两百元，家长意见很大，希望教育部门调查处理此事，还家长一个公道"},
	}
	dev := []Example{{ID: "D1", Label: "a", Text: "公交站牌缺失请补上"}}
	extras := []Extra{
		{ID: "1", Text: "小区门口道路破损严重 道路破损已经三个月了，行人经常摔倒，\n请相关部门尽快修复路面谢谢"},             // T1 up to white space
		{ID: "2", Text: "学校乱收费问题（重发）某某学校每学期额外收取资料费两百元，家长意见很大，希望教育部门调查处理此事，还家长一个公道"}, // T2's body under another title
		{ID: "3", Text: "小区门口道路破损严重补充：又有人摔倒了"},                                      // T1's title, another body
		{ID: "4", Text: "公交站牌缺失请补上"},               // dev's text
		{ID: "T2", Text: "完全不同的一段话"},               // T2's id
		{ID: "5", Text: "路灯不亮好几天晚上出行很不方便希望尽快维修路灯"}, // new
		{ID: "6", Text: "短标题正文很短"},                 // new; a short title is not matched by prefix
	}
	titles := []string{"小区门口道路破损严重", "学校乱收费问题（重发）", "小区门口道路破损严重", "公交站牌缺失", "无关", "路灯不亮", "短标题"}
	kept, removed := DropOverlap(extras, titles, labelled, dev)
	var ids []string
	for _, e := range kept {
		ids = append(ids, e.ID)
	}
	if diff := cmp.Diff([]string{"5", "6"}, ids); diff != "" || removed != 5 {
		t.Errorf("kept (-want +got):\n%s\nremoved %d, want 5", diff, removed)
	}
}

// tinyExtras are unlabelled messages of the tiny fixture's subjects, hinted
// by a second view: one it agrees with, one it does not, and two that can
// never be learnt from (no hint, a hint outside the labels).
func tinyExtras() []Extra {
	return []Extra{
		{ID: "x1", Text: "居民反映停水，自来水水压低", Hint: "water"},
		{ID: "x2", Text: "居民反映停水，自来水水管爆裂", Hint: "road"},
		{ID: "x3", Text: "深夜施工噪音扰民"},
		{ID: "x4", Text: "路面破损坑洼", Hint: "parking"},
	}
}

func TestAcceptExtras(t *testing.T) {
	t.Parallel()
	o, err := tinyOptions().normalised()
	if err != nil {
		t.Fatal(err)
	}
	d, err := newDataset(tinyExamples(), o.Features)
	if err != nil {
		t.Fatal(err)
	}
	d.addExtras(tinyExtras(), o.Features)
	if diff := cmp.Diff([]int{2, 1, -1, -1}, d.extraHint); diff != "" {
		t.Fatalf("hints (-want +got; labels noise road water):\n%s", diff)
	}
	all := make([]int, len(d.y))
	for i := range all {
		all[i] = i
	}
	for mode, want := range map[string][2][]int{"agree": {{0}, {2}}, "hint": {{0, 1}, {2, 1}}, "": {}} {
		o := o
		o.Extra = ExtraParams{Weight: 0.5, Mode: mode}
		if mode == "" {
			o.Extra.Weight = 0
		}
		acc, label, err := d.acceptExtras(t.Context(), slices.Clone(d.docs), slices.Clone(d.y), slices.Clone(d.weight), o)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, [2][]int{acc, label}); diff != "" {
			t.Errorf("mode %q: accepted and labels (-want +got):\n%s", mode, diff)
		}
		ft, err := d.fit(t.Context(), all, o)
		if err != nil {
			t.Fatal(err)
		}
		if ft.extras != len(want[0]) {
			t.Errorf("mode %q: the fit learnt from %d extras, want %d", mode, ft.extras, len(want[0]))
		}
	}
}

// Co-training: a reply view learnt from the message model's labels of the
// other replies agrees with it where the replies name their subject's
// office; an extra without a reply is never taken.
func TestAcceptExtrasCotrain(t *testing.T) {
	t.Parallel()
	o, err := tinyOptions().normalised()
	if err != nil {
		t.Fatal(err)
	}
	o.Extra = ExtraParams{Weight: 0.5, Mode: "cotrain"}
	d, err := newDataset(tinyExamples(), o.Features)
	if err != nil {
		t.Fatal(err)
	}
	office := map[string]string{"noise": "城管局执法中队", "road": "市政设施管理处", "water": "自来水公司抢修班"}
	text := map[string][]string{"noise": {"深夜施工噪音", "广场舞音响扰民"}, "road": {"路面破损坑洼", "井盖缺失"}, "water": {"停水三天", "水管爆裂"}}
	var extras []Extra
	for _, l := range []string{"noise", "road", "water"} {
		for i, tx := range text[l] {
			extras = append(extras, Extra{ID: l + string(rune('0'+i)), Text: tx, Reply: "您好，" + office[l] + "已到现场处理。"})
		}
	}
	extras = append(extras, Extra{ID: "no-reply", Text: "自来水水压低"})
	d.addExtras(extras, o.Features)
	acc, label, err := d.acceptExtras(t.Context(), slices.Clone(d.docs), slices.Clone(d.y), slices.Clone(d.weight), o)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([2][]int{{0, 1, 2, 3, 4, 5}, {0, 0, 1, 1, 2, 2}}, [2][]int{acc, label}); diff != "" {
		t.Errorf("accepted and labels (-want +got):\n%s", diff)
	}
}

func TestCrossValidateWithExtras(t *testing.T) {
	t.Parallel()
	ex, o := tinyExamples(), tinyOptions()
	base, err := CrossValidate(t.Context(), ex, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	o.Extras = tinyExtras()
	off, err := CrossValidate(t.Context(), ex, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(base, off); diff != "" {
		t.Errorf("extras at weight 0 changed the figures (-without +with):\n%s", diff)
	}
	o.Extra = ExtraParams{Weight: 0.5, Mode: "hint"}
	on, err := CrossValidate(t.Context(), ex, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Extras enter training only: the folds are still the examples'.
	for i, f := range on.Folds {
		if f.Train != base.Folds[i].Train || f.Test != base.Folds[i].Test {
			t.Errorf("fold %d: %d train + %d test, want %d + %d as without extras", i+1, f.Train, f.Test, base.Folds[i].Train, base.Folds[i].Test)
		}
	}
	o.Extra.Mode = "vote"
	if _, err := CrossValidate(t.Context(), ex, o, nil); err == nil {
		t.Error("an unknown extra mode was accepted")
	}
}

// Counting rows by weight changes nothing when every weight is 1.
func TestWeightedCountsWithUnitWeights(t *testing.T) {
	t.Parallel()
	rows := []sparseRow{{idx: []int32{0, 1}, val: []float32{1, 2}}, {idx: []int32{1, 2}, val: []float32{3, 1}, weight: 1}, {idx: []int32{2}, val: []float32{1}}}
	pos := []bool{true, false, false}
	if diff := cmp.Diff(nbRatios(rows, pos, 3, 0.1, false), nbRatios(rows, pos, 3, 0.1, true)); diff != "" {
		t.Errorf("weighted NB ratios differ at unit weights:\n%s", diff)
	}
	rows[1].weight = 0.5
	if r := nbRatios(rows, pos, 3, 0.1, true); r[1] <= nbRatios(rows, pos, 3, 0.1, false)[1] {
		t.Errorf("a negative row at weight 0.5 does not raise feature 1's ratio: %v", r)
	}
}
