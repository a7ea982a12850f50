package classifier

import (
	"context"
	"fmt"
	"testing"
)

// A text both labels claim goes to the label whose source weighs more:
// tinyExamples' water and noise examples, plus "紫色水箱噪音" said to be water
// by one source and noise by another, weighted each way in turn.
func TestWeightDecidesAContestedText(t *testing.T) {
	t.Parallel()
	const contested = "楼顶紫色水箱噪音"
	base := func() []Example {
		var out []Example
		for _, e := range tinyExamples() {
			if e.Label != "road" {
				out = append(out, e)
			}
		}
		return out
	}
	for _, tc := range []struct {
		waterWeight, noiseWeight float64
		want                     string
	}{
		{waterWeight: 8, noiseWeight: 1, want: "water"},
		{waterWeight: 1, noiseWeight: 8, want: "noise"},
	} {
		t.Run(fmt.Sprintf("water%v-noise%v", tc.waterWeight, tc.noiseWeight), func(t *testing.T) {
			t.Parallel()
			ex := base()
			for i := range 3 {
				ex = append(ex,
					Example{ID: fmt.Sprintf("w%d", i), Label: "water", Text: contested, Weight: tc.waterWeight},
					Example{ID: fmt.Sprintf("n%d", i), Label: "noise", Text: contested, Weight: tc.noiseWeight})
			}
			m, err := Train(context.Background(), ex, tinyOptions(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Predict(contested, 1)[0].Label; got != tc.want {
				t.Errorf("%s predicted %s, want %s", contested, got, tc.want)
			}
			// The uncontested examples keep their labels whatever the weights.
			if got := m.Predict("自来水停水好几天了", 1)[0].Label; got != "water" {
				t.Errorf("plain water text predicted %s", got)
			}
		})
	}
}

func TestWeightOneIsTheUnweightedModel(t *testing.T) {
	t.Parallel()
	ex := tinyExamples()
	a, err := Train(context.Background(), ex, tinyOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ex {
		ex[i].Weight = 1
	}
	b, err := Train(context.Background(), ex, tinyOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Version() != b.Version() {
		t.Errorf("weight 1 gives model %s, unweighted %s: want the same model", b.Version(), a.Version())
	}
	ex[0].Weight = 2
	if DataSHA256(ex) == DataSHA256(tinyExamples()) {
		t.Error("a weight other than 1 does not change the data's identity")
	}
	for _, w := range []float64{-1} {
		ex[0].Weight = w
		if _, err := Train(context.Background(), ex, tinyOptions(), nil); err == nil {
			t.Errorf("weight %v accepted", w)
		}
	}
}

// The held-out slice is fixed by the ids alone and about a tenth of them.
func TestHoldoutIsFixedAndATenth(t *testing.T) {
	t.Parallel()
	var ex []Example
	for i := range 10000 {
		ex = append(ex, Example{ID: fmt.Sprintf("T%05d", i), Label: "x", Text: "t"})
	}
	train, held := SplitHoldout(ex)
	if len(train)+len(held) != len(ex) || len(held) < 900 || len(held) > 1100 {
		t.Fatalf("held out %d of %d, want about 10 %%", len(held), len(ex))
	}
	for _, e := range held {
		if !InHoldout(e.ID) {
			t.Fatalf("%s held out but not in the slice", e.ID)
		}
	}
	// Known members pin the hash: changing it would silently move the slice.
	for id, want := range map[string]bool{"T00000": true, "T00009": true, "T00012": true, "T00001": false, "T00010": false} {
		if InHoldout(id) != want {
			t.Errorf("InHoldout(%s) = %v, want %v", id, !want, want)
		}
	}
	if _, h := SplitHoldout([]Example{{ID: "", Label: "x"}}); len(h) != 0 {
		t.Error("an example without an id was held out")
	}
}
