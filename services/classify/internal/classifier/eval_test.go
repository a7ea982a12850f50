package classifier

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestEvaluate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		gold  []string
		pred  []string
		order []string
		want  Report
	}{
		{
			// Confusion (rows gold a,b,c; columns pred a,b,c):
			//   a: 2 1 0   b: 0 1 0   c: 1 0 1
			// a: P=2/3 R=2/3 F1=2/3; b: P=1/2 R=1 F1=2/3; c: P=1 R=1/2 F1=2/3.
			name:  "three labels",
			gold:  []string{"a", "a", "a", "b", "c", "c"},
			pred:  []string{"a", "a", "b", "b", "c", "a"},
			order: []string{"a", "b", "c"},
			want: Report{
				N: 6, Accuracy: 4.0 / 6, MacroF1: 2.0 / 3,
				Labels: []string{"a", "b", "c"},
				PerLabel: []LabelScore{
					{Label: "a", Precision: 2.0 / 3, Recall: 2.0 / 3, F1: 2.0 / 3, Support: 3, Predicted: 3},
					{Label: "b", Precision: 0.5, Recall: 1, F1: 2.0 / 3, Support: 1, Predicted: 2},
					{Label: "c", Precision: 1, Recall: 0.5, F1: 2.0 / 3, Support: 2, Predicted: 1},
				},
				Confusion: [][]int{{2, 1, 0}, {0, 1, 0}, {1, 0, 1}},
			},
		},
		{
			// z is only predicted: it counts with F1 0; y of order never
			// occurs and is left out; x (gold only) has recall 0.
			name:  "labels outside the order and unused labels",
			gold:  []string{"w", "w", "x"},
			pred:  []string{"w", "z", "w"},
			order: []string{"y", "w"},
			want: Report{
				N: 3, Accuracy: 1.0 / 3, MacroF1: 0.5 / 3,
				Labels: []string{"w", "x", "z"},
				PerLabel: []LabelScore{
					{Label: "w", Precision: 0.5, Recall: 0.5, F1: 0.5, Support: 2, Predicted: 2},
					{Label: "x", Support: 1},
					{Label: "z", Predicted: 1},
				},
				Confusion: [][]int{{1, 0, 1}, {1, 0, 0}, {0, 0, 0}},
			},
		},
		{
			name: "empty",
			want: Report{Labels: nil, PerLabel: []LabelScore{}, Confusion: [][]int{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Evaluate(tt.gold, tt.pred, tt.order)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-12), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Evaluate mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
