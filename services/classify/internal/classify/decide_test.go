package classify_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
)

// TestClassificationPaths covers the order of the automatic steps: keyword
// rules, a patrol report's own code, the model's item, the model's class,
// else review.
func TestClassificationPaths(t *testing.T) {
	t.Parallel()
	type want struct {
		Item         string
		Method       classify.Method
		Urgency      reference.Urgency
		Dispatchable bool
		Review       bool
	}
	tests := []struct {
		name string
		edit func(c *classify.Case)
		want want
	}{
		{"a keyword rule names the item and the urgency",
			func(c *classify.Case) { c.Content = "楼下饭店燃气泄漏，味道很大" },
			want{"H01008", classify.MethodRule, reference.Emergency, true, false}},
		{"a rule's urgency alone leaves the item to the model",
			func(c *classify.Case) { c.Content = "饭店油烟很大，井盖缺失也没人管" },
			want{"06021", classify.MethodModel, reference.Urgent, true, false}},
		{"the model decides above the threshold; the item's default urgency applies",
			func(c *classify.Case) { c.Content = "路面一个大坑" },
			want{"06013", classify.MethodModel, reference.Normal, true, false}},
		{"the submitted urgency is kept when higher",
			func(c *classify.Case) { c.Content = "路面一个大坑"; c.Urgency = reference.Urgent },
			want{"06013", classify.MethodModel, reference.Urgent, true, false}},
		{"a patrol report keeps its valid code, even against a rule's item; the rule's urgency applies",
			func(c *classify.Case) {
				c.Source, c.CatalogueCode, c.Content = reference.FromPatrol, "06036", "楼道堆物，堵塞消防通道"
			},
			want{"06036", classify.MethodPatrolCode, reference.Emergency, true, false}},
		{"an invalid patrol code is ignored",
			func(c *classify.Case) {
				c.Source, c.CatalogueCode, c.Content = reference.FromPatrol, "06999", "油烟扰民"
			},
			want{"06021", classify.MethodModel, reference.Normal, true, false}},
		{"item unsure but first-level class sure: filed under the class",
			func(c *classify.Case) { c.Content = "小区管理不作为" },
			want{"H01000", classify.MethodModelClass, reference.Normal, true, false}},
		{"nothing sure: review",
			func(c *classify.Case) { c.Content = "有点事情想反映一下" },
			want{Review: true}},
		{"an answered consultation is classified however unsure, never dispatched",
			func(c *classify.Case) {
				c.Content = "有点事情想咨询一下"
				c.Answered = true
				c.AppealType = "consultation"
			},
			want{"H13001", classify.MethodModel, reference.Normal, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			c := h.hotline("", "")
			tt.edit(&c)
			h.receive(c)
			rec := h.record(c.ID)
			var got want
			if rec.Current != nil {
				got = want{rec.Current.ItemCode, rec.Current.Method, rec.Current.Urgency, rec.Current.Dispatchable, false}
				if rec.Current.ModelVersion != "fake01" || rec.Current.Version != 1 {
					t.Errorf("model version %q, version %d; want fake01, 1", rec.Current.ModelVersion, rec.Current.Version)
				}
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

func TestReviewNeededOffersTheModelsChoices(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.hotline("有点事情想反映一下", "")
	h.receive(c)
	evs := eventsOf[classify.ReviewNeeded](h)
	if len(evs) != 1 {
		t.Fatalf("review_needed events = %d, want 1", len(evs))
	}
	var codes []string
	for _, ch := range evs[0].Review.Choices {
		codes = append(codes, ch.Code)
	}
	if diff := cmp.Diff([]string{"H13001", "H01002", "H04001", "06020", "H02999"}, codes); diff != "" {
		t.Errorf("choices mismatch (-want +got):\n%s", diff)
	}
	if at, ok := h.store.Fallback(c.ID); !ok || !at.Equal(t0.Add(30*60e9)) {
		t.Errorf("fallback timer = %v, %v; want %v", at, ok, t0.Add(30*60e9))
	}
	if n := len(eventsOf[classify.Classified](h)); n != 0 {
		t.Errorf("classified events = %d, want none before review", n)
	}
}

func TestReceiveTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.hotline("饭店油烟扰民", "共和新路1234号")
	h.receive(c)
	h.receive(c)
	if n := len(h.store.Events()); n != 1 {
		t.Errorf("events = %d, want 1 (the second delivery is ignored)", n)
	}
}
