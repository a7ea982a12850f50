package classifier

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// Extra is a message without a gold label that may enter training beside the
// labelled examples (issue 15: the messages of replies.jsonl, which the
// government answered). Text is what the model reads, as an Example's; Hint is
// the label a second, independent view of the message gives ("" none): the
// bureau its official reply names (ReplyBureau). The reply itself never
// reaches the model, so serving does not need it.
type Extra struct {
	ID   string
	Text string
	Hint string
	// Reply is the second view's own text (the official reply), read only
	// by mode "cotrain" to learn a reply view; never by the model.
	Reply string
}

// ExtraParams say how extras enter training. Each fit (every fold's, every
// inner calibration fold's and the final one) decides on its own which extras
// it learns from, with a model trained on its own examples only, so nothing
// of a held-out fold reaches a fold's model.
type ExtraParams struct {
	// Weight of an accepted extra (an Example's Weight); 0 leaves extras out.
	Weight float64
	// Mode chooses the extras and their labels:
	//   "agree" (co-training): those whose hint the message model, trained
	//           first on the fit's examples, also ranks first; label the hint.
	//   "top2"  as agree, but the hint need only be among the model's
	//           two best labels (the reply decides where the text is unsure).
	//   "cotrain" a reply view learnt from the fit's message model's labels
	//           of the extras' replies (cross-fitted over the extras: no
	//           reply is labelled by a view that learnt from it); those
	//           where it agrees with the message model, labelled so. Hints
	//           are not read.
	//   "hint"  (distant supervision): every extra with a hint, labelled by it.
	Mode string
	// Vocab lets the accepted extras shape the vocabulary and the idf too;
	// off, they come from the labelled examples alone.
	Vocab bool
}

// ExtraModes are the values of ExtraParams.Mode.
var ExtraModes = []string{"agree", "top2", "cotrain", "hint"}

func (p ExtraParams) validate() error {
	switch {
	case !(p.Weight >= 0) || p.Weight > 100:
		return fmt.Errorf("extra weight %v: want 0 (off) or in (0,100]", p.Weight)
	case p.Weight > 0 && !slices.Contains(ExtraModes, p.Mode):
		return fmt.Errorf("extra mode %q: want one of %v", p.Mode, ExtraModes)
	}
	return nil
}

// addExtras tokenizes the extras; a hint outside d's labels counts as none.
func (d *dataset) addExtras(extras []Extra, cfg FeatureConfig) {
	var z tokenizer
	for _, e := range extras {
		h, ok := slices.BinarySearch(d.labels, e.Hint)
		if e.Hint == "" || !ok {
			h = -1
		}
		if e.Reply != "" {
			keys := z.appendKeys(nil, e.Reply, cfg)
			slices.Sort(keys)
			for len(d.extraReply) < len(d.extraDocs) {
				d.extraReply = append(d.extraReply, nil)
			}
			d.extraReply = append(d.extraReply, keys)
		}
		keys := z.appendKeys(nil, e.Text, cfg)
		if d.parents != nil {
			z.run(e.Text)
			z.appendWords(nil, cfg.Words, d.parents)
		}
		slices.Sort(keys)
		d.extraDocs = append(d.extraDocs, keys)
		d.extraHint = append(d.extraHint, h)
	}
}

// acceptExtras returns the extras a fit on (docs, y, weight) learns from,
// and their labels.
func (d *dataset) acceptExtras(ctx context.Context, docs [][]uint64, y []int, weight []float64, o Options) (acc, label []int, err error) {
	if o.Extra.Weight == 0 || len(d.extraDocs) == 0 {
		return nil, nil, nil
	}
	if o.Extra.Mode == "hint" {
		for i, h := range d.extraHint {
			if h >= 0 {
				acc, label = append(acc, i), append(label, h)
			}
		}
		return acc, label, nil
	}
	ft, err := d.fitDocs(ctx, docs, len(docs), y, weight, o)
	if err != nil {
		return nil, nil, fmt.Errorf("labelling extras: %w", err)
	}
	sc := ft.vec.newScratch()
	s := make([]float64, len(d.labels))
	best := make([]int, len(d.extraDocs))
	for i, keys := range d.extraDocs {
		linearScores(ft.vec, ft.w, ft.bias, keys, sc, s)
		best[i] = argmax(s)
		h := d.extraHint[i]
		if h >= 0 && (best[i] == h || o.Extra.Mode == "top2" && secondBest(s, best[i]) == h) {
			acc, label = append(acc, i), append(label, h)
		}
	}
	if o.Extra.Mode != "cotrain" {
		return acc, label, nil
	}
	acc, label = nil, nil
	view, err := d.replyView(ctx, best, o)
	if err != nil {
		return nil, nil, fmt.Errorf("reply view: %w", err)
	}
	for i, v := range view {
		if v >= 0 && v == best[i] {
			acc, label = append(acc, i), append(label, v)
		}
	}
	return acc, label, nil
}

// replyView labels every extra with a reply by a model of the reply texts
// trained on the other replies' labels lab (a stratified o.CVFolds-fold
// cross-fit over the extras); -1 where there is no reply.
func (d *dataset) replyView(ctx context.Context, lab []int, o Options) ([]int, error) {
	var idx []int
	for i, r := range d.extraReply {
		if len(r) > 0 {
			idx = append(idx, i)
		}
	}
	view := make([]int, len(d.extraDocs))
	for i := range view {
		view[i] = -1
	}
	if len(idx) < o.CVFolds {
		return view, nil
	}
	y := make([]int, len(idx))
	for j, i := range idx {
		y[j] = lab[i]
	}
	folds := stratifiedFolds(y, len(d.labels), o.CVFolds, o.Seed)
	s := make([]float64, len(d.labels))
	for f := range o.CVFolds {
		var docs [][]uint64
		var ly []int
		var w []float64
		for j, i := range idx {
			if folds[j] != f {
				docs, ly, w = append(docs, d.extraReply[i]), append(ly, y[j]), append(w, 1)
			}
		}
		ft, err := d.fitDocs(ctx, docs, len(docs), ly, w, o)
		if err != nil {
			return nil, err
		}
		sc := ft.vec.newScratch()
		for j, i := range idx {
			if folds[j] == f {
				linearScores(ft.vec, ft.w, ft.bias, d.extraReply[i], sc, s)
				view[i] = argmax(s)
			}
		}
	}
	return view, nil
}

// secondBest is the index of the highest score but best's.
func secondBest(s []float64, best int) int {
	second := -1
	for i, v := range s {
		if i != best && (second < 0 || v > s[second]) {
			second = i
		}
	}
	return second
}

// ReplyBureau is the reply view of a message: the first-level bureau (one of
// the seven labels of the shared messages: 城乡建设 环境保护 交通运输 教育文体
// 劳动和社会保障 商贸旅游 卫生计生) whose departments an official reply names
// most often, or "" when it names none or two equally often. The words are
// department and service names, chosen from what the bureaus are, not fitted
// to any labelled message.
func ReplyBureau(reply string) string {
	best, bestN, tie := "", 0, false
	for _, b := range replyDepartments {
		n := 0
		for _, w := range b.words {
			n += strings.Count(reply, w)
		}
		switch {
		case n > bestN:
			best, bestN, tie = b.label, n, false
		case n == bestN && n > 0:
			tie = true
		}
	}
	if tie {
		return ""
	}
	return best
}

var replyDepartments = []struct {
	label string
	words []string
}{
	{"城乡建设", []string{"住房和城乡建设", "住建", "城乡建设", "自然资源和规划", "规划局", "不动产登记", "房屋征收", "房屋交易", "物业", "城管", "城市管理", "住房保障", "国土"}},
	{"环境保护", []string{"生态环境", "环保局", "环境保护", "环境监察", "环境监测"}},
	{"交通运输", []string{"交通运输", "交通局", "运管", "公交", "出租车", "道路运输", "轨道交通", "地铁"}},
	{"教育文体", []string{"教育局", "教育部门", "教体局", "教育和体育", "体育局", "学校", "招生"}},
	{"劳动和社会保障", []string{"人力资源和社会保障", "人社", "社保", "社会保险", "劳动监察", "劳动保障", "医疗保障", "医保"}},
	{"商贸旅游", []string{"市场监督", "市场监管", "商务局", "工商", "文化旅游", "旅游局", "文旅", "价格"}},
	{"卫生计生", []string{"卫生健康", "卫健", "卫生计生", "卫计", "疾控", "计划生育", "医院"}},
}

// DropOverlap removes from extras every message that is also in one of the
// labelled sets: the same id, the same text once whitespace is removed, a
// labelled text that begins with the extra's title (near-duplicates, the
// labelled files run title and body together), or one that contains the
// opening of the extra's body. titles[i] is extras[i]'s title ("" unknown).
// It returns the kept extras and how many were removed.
func DropOverlap(extras []Extra, titles []string, labelled ...[]Example) ([]Extra, int) {
	ids := make(map[string]bool)
	texts := make(map[string]bool)
	var norm []string
	for _, set := range labelled {
		for _, e := range set {
			if e.ID != "" {
				ids[e.ID] = true
			}
			t := squash(e.Text)
			texts[t] = true
			norm = append(norm, t)
		}
	}
	var kept []Extra
	for i, e := range extras {
		text := squash(e.Text)
		title := ""
		if i < len(titles) {
			title = squash(titles[i])
		}
		body := []rune(strings.TrimPrefix(text, title))
		opening := ""
		if len(body) >= 30 {
			opening = string(body[:min(60, len(body))])
		}
		dup := ids[e.ID] || texts[text]
		for _, t := range norm {
			if dup {
				break
			}
			dup = (len([]rune(title)) >= 8 && strings.HasPrefix(t, title)) || (opening != "" && strings.Contains(t, opening))
		}
		if !dup {
			kept = append(kept, e)
		}
	}
	return kept, len(extras) - len(kept)
}

// squash removes every white space character.
func squash(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}
