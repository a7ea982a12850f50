package classify_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/classify/memstore"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

// classModel is a first-level model like a city's: its labels are the seven
// classes of the shared messages. A word in its table gives that class the
// confidence; the rest share what is left.
type classModel struct {
	table []fakeRule
}

var cityClasses = []string{"H01000", "H04000", "H06000", "H11000", "H12000", "H14000", "H15000"}

func (classModel) Version() string { return "city01" }
func (classModel) Codes() []string { return cityClasses }
func (m classModel) Predict(text string) []classify.Choice {
	best, conf := "", 0.0
	for _, r := range m.table {
		if strings.Contains(text, r.word) {
			best, conf = r.code, r.conf
			break
		}
	}
	var out []classify.Choice
	if best != "" {
		out = append(out, classify.Choice{Code: best, Label: best, Confidence: conf})
	}
	rest := (1 - conf) / float64(len(cityClasses)-len(out))
	for _, c := range cityClasses {
		if c != best {
			out = append(out, classify.Choice{Code: c, Label: c, Confidence: rest})
		}
	}
	return out
}

var _ classify.LabelledModel = classModel{}

var cityModel = classModel{table: []fakeRule{
	{"物业", "H01000", 0.9},
	{"房子", "H01000", 0.55},
	{"退休", "H15000", 0.95},
	{"最低生活保障", "H15000", 0.7},
	{"派出所", "H01000", 0.95},
}}

func newCityHarness(t *testing.T, mut ...func(*classify.Config)) *harness {
	t.Helper()
	ref, rs := defaults(t)
	h := &harness{t: t, store: memstore.New(), now: t0}
	cfg := classify.DefaultConfig()
	for _, m := range mut {
		m(&cfg)
	}
	h.svc = classify.New(cfg, h.store, classify.Deps{
		Reference: func() *reference.Set { return ref },
		Rules:     func() *rules.Set { return rs },
		Model:     func() classify.Model { return cityModel },
		Now:       func() time.Time { return h.now },
		NewID: func() string {
			h.ids++
			return fmt.Sprintf("id-%03d", h.ids)
		},
	})
	return h
}

// TestItemWithinTheModelsClass: the city model decides the class, a
// within_class keyword rule the item inside it; the item needs the class to
// be sure, its words near the start, and its class to be the model's.
func TestItemWithinTheModelsClass(t *testing.T) {
	t.Parallel()
	type want struct {
		Item   string
		Method classify.Method
		Review bool
	}
	long := strings.Repeat("情况说明。", 40) // 200 characters before the words
	tests := []struct {
		name    string
		content string
		mut     func(*classify.Config)
		want    want
	}{
		{"class from the model, item from the rule", "小区物业乱收费，业委会也不管", nil,
			want{"H01002", classify.MethodRule, false}},
		{"the earliest named item wins", "物业说房产证要等开发商，物业费却照收", nil,
			want{"H01002", classify.MethodRule, false}},
		{"a word deep in the text names nothing", long + "物业", nil,
			want{"H01000", classify.MethodModel, false}},
		{"class too unsure for an item: the class alone", "房子的物业问题", func(c *classify.Config) { c.ItemThreshold = 0.95 },
			want{"H01000", classify.MethodModel, false}},
		{"a keyword of another class names no item here", "退休后公积金怎么取", nil,
			want{"H15000", classify.MethodModel, false}},
		{"the class's own item", "退休金多年不调", nil,
			want{"H15004", classify.MethodRule, false}},
		{"a matter of a class the model does not know: review, not a wrong class", "申请最低生活保障被村里拒绝", nil,
			want{Review: true}},
		{"…unless the model is sure of a class of its own", "派出所旁边的物业管理混乱，最低生活保障户也受影响", nil,
			want{"H01002", classify.MethodRule, false}},
		{"the scope check can be turned to always review", "派出所旁边的物业管理混乱，最低生活保障户也受影响", func(c *classify.Config) { c.ScopeThreshold = 2 },
			want{Review: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var muts []func(*classify.Config)
			if tt.mut != nil {
				muts = append(muts, tt.mut)
			}
			h := newCityHarness(t, muts...)
			c := h.hotline(tt.content, "")
			h.receive(c)
			rec := h.record(c.ID)
			var got want
			if rec.Current != nil {
				got = want{rec.Current.ItemCode, rec.Current.Method, false}
			}
			if rec.Review != nil {
				got.Review = true
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOutOfScopeIsNotFiled: a message about a matter none of the city
// model's classes covers waits for a dispatcher with the reason, and no
// classification is published under a wrong class.
func TestOutOfScopeIsNotFiled(t *testing.T) {
	t.Parallel()
	h := newCityHarness(t)
	c := h.hotline("我家申请最低生活保障三次都没批", "")
	h.receive(c)
	if n := len(eventsOf[classify.Classified](h)); n != 0 {
		t.Fatalf("classified events = %d, want none: the case is out of the model's scope", n)
	}
	evs := eventsOf[classify.ReviewNeeded](h)
	if len(evs) != 1 {
		t.Fatalf("review_needed events = %d, want 1", len(evs))
	}
	rec := h.record(c.ID)
	if rec.Review == nil {
		t.Fatal("no review")
	}
	p := h.svc.Preview(c)
	if p.Found || !strings.Contains(p.Reason, "out of the model's scope") || !strings.Contains(p.Reason, "H09002") {
		t.Errorf("preview = %+v, want not found, out of scope naming H09002", p)
	}
}
