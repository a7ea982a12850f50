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

// itemTable is an item model for the test: a word in the text decides.
// It records what the service asked it.
type itemTable struct {
	covers string // the one class it has a model for
	words  map[string]string
	asked  *[]string
}

func (itemTable) Version() string { return "items01" }

func (m itemTable) Item(class, text string, classConf float64, hints []string) classify.ItemChoice {
	*m.asked = append(*m.asked, fmt.Sprintf("%s %.2f %v", class, classConf, hints))
	if class != m.covers {
		return classify.ItemChoice{}
	}
	for w, code := range m.words {
		if strings.Contains(text, w) {
			return classify.ItemChoice{Code: code, Probability: 0.9, Covered: true, Agreed: len(hints) > 0 && hints[0] == code}
		}
	}
	return classify.ItemChoice{Covered: true, Probability: 0.2}
}

// TestItemModelDecidesInsideTheClass: with an item model, the item inside
// the city model's class is the item model's (or the class only when it is
// unsure, even though a keyword rule names one); a class it has no model
// for is left to the keyword rules; it never overrides the class decision.
func TestItemModelDecidesInsideTheClass(t *testing.T) {
	t.Parallel()
	type want struct {
		Item   string
		Method classify.Method
		Asked  string
	}
	tests := []struct {
		name, content string
		want          want
	}{
		{"the item model's item, not the one a rule names", "物业把小区绿地改成了停车场",
			want{"H01012", classify.MethodModel, "H01000 0.90 [H01002]"}},
		{"the item model's item, as a rule names", "小区物业乱收费，业委会也不管",
			want{"H01002", classify.MethodModel, "H01000 0.90 [H01002]"}},
		{"unsure: class only, though a rule names an item", "物业说房产证要等开发商",
			want{"H01000", classify.MethodModel, "H01000 0.90 [H01002 H01014]"}},
		{"a class it has no model for: the keyword rule", "退休金多年不调",
			want{"H15004", classify.MethodRule, "H15000 0.95 [H15004]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ref, rs := defaults(t)
			var asked []string
			im := itemTable{covers: "H01000", words: map[string]string{"绿地": "H01012", "乱收费": "H01002"}, asked: &asked}
			store := memstore.New()
			svc := classify.New(classify.DefaultConfig(), store, classify.Deps{
				Reference: func() *reference.Set { return ref },
				Rules:     func() *rules.Set { return rs },
				Model:     func() classify.Model { return cityModel },
				Items:     func() classify.ItemModel { return im },
				Now:       func() time.Time { return t0 },
			})
			p := svc.Preview(classify.Case{ID: "c1", Source: reference.FromHotline, Content: tt.content})
			got := want{p.Item.Code, p.Method, strings.Join(asked, "; ")}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s\nreason: %s", diff, p.Reason)
			}
		})
	}
}
