package classifier

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"
)

// wordKey is the key of the Han run s (issue 15's candidate words).
func wordKey(t *testing.T, s string) uint64 {
	t.Helper()
	var z tokenizer
	z.run(s)
	if len(z.toks) < 3 {
		t.Fatalf("%q: %d tokens, want a run of at least 3", s, len(z.toks))
	}
	return gramKey(z.toks)
}

// The words training keeps are the frequent candidates (WordMinDF) whose
// symmetric conditional probability df(w)²/(df(prefix)·df(suffix)) reaches
// WordSCP: here 物业费 (3²/(5·3) = 0.6), 业管理 (2²/(2·2) = 1) and
// 物业管理 (2²/(2·2) = 1) stay at 0.5, 物业管 (2²/(5·2) = 0.4) goes, and
// 业费涨 (df 1) never counts.
func TestWordsDictionaryFromTheTrainingData(t *testing.T) {
	t.Parallel()
	texts := []string{"物业费", "物业费", "物业费涨价", "物业管理", "物业管理"}
	for _, tt := range []struct {
		scp  float64
		want []string
	}{
		{0, []string{"物业费", "物业管", "业管理", "物业管理"}},
		{0.5, []string{"物业费", "业管理", "物业管理"}},
		{0.7, []string{"业管理", "物业管理"}},
	} {
		cfg := FeatureConfig{NGramMax: 2, MinDF: 1, Sublinear: true, Words: 4, WordMinDF: 2, WordSCP: tt.scp}
		parents := make(map[uint64][2]uint64)
		var z tokenizer
		docs := make([][]uint64, len(texts))
		for i, s := range texts {
			docs[i] = z.appendKeys(nil, s, cfg)
			z.run(s)
			z.appendWords(nil, cfg.Words, parents)
			slices.Sort(docs[i])
		}
		v := fitVectorizer(docs, cfg, parents)
		var got []uint64
		for _, k := range v.keys {
			if k>>kindShift == kindGram {
				got = append(got, k)
			}
		}
		var want []uint64
		for _, w := range tt.want {
			want = append(want, wordKey(t, w))
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("scp %v: kept %d words %x, want %v %x", tt.scp, len(got), got, tt.want, want)
		}
		if len(v.keys) < len(got)+8 {
			t.Errorf("scp %v: %d keys in all: the characters and bigrams are missing", tt.scp, len(v.keys))
		}
	}
}

// Words never join characters across punctuation, and a run longer than
// Words gives every window of 3..Words.
func TestWordsStayInsideASegment(t *testing.T) {
	t.Parallel()
	var z tokenizer
	z.run("物业费，涨价了")
	got := z.appendWords(nil, 4, nil)
	want := []uint64{wordKey(t, "物业费"), wordKey(t, "涨价了")}
	if !slices.Equal(got, want) {
		t.Errorf("words %x, want %x", got, want)
	}
	z.run("物业管理费")
	if got := z.appendWords(nil, 4, nil); len(got) != 5 { // 物业管 物业管理 业管理 业管理费 管理费
		t.Errorf("%d words of a 5-character run with Words 4, want 5", len(got))
	}
}

// With WordWeight the characters and the words are L2-normalised apart and
// the words scaled by it.
func TestWordBlocksNormalisedApart(t *testing.T) {
	t.Parallel()
	ex := tinyExamples()
	o := tinyOptions()
	o.Features.Words, o.Features.WordWeight = 3, 0.5
	m, err := Train(context.Background(), ex, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	var z tokenizer
	sc := m.vec.newScratch()
	m.vec.vectorize(z.appendKeys(nil, ex[0].Text, o.Features), sc)
	var chars, words float64
	for j, i := range sc.idx {
		x := float64(sc.val[j]) * float64(sc.val[j])
		if m.vec.keys[i]>>kindShift == kindGram {
			words += x
		} else {
			chars += x
		}
	}
	if math.Abs(chars-1) > 1e-5 || math.Abs(words-0.25) > 1e-5 {
		t.Errorf("squared norms: characters %v, words %v; want 1 and 0.25", chars, words)
	}
}

// A model reading words is a version 3 file: it round-trips with the same
// predictions, and a version 2 header on it is refused as corrupt, so an
// older build never scores it without them. Version 1 and 2 files still
// read (TestOpeningModelIsFormatVersion2).
func TestWordsModelIsFormatVersion3(t *testing.T) {
	t.Parallel()
	o := tinyOptions()
	o.Features.Words, o.Features.WordSCP, o.Features.WordWeight = 4, 0.1, 0.5
	ex := tinyExamples()
	m, err := Train(context.Background(), ex, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, back := saveAtVersion(t, m, 3)
	if back.Version() != m.Version() || back.Info().FormatVersion != 3 || back.Info().Features != o.Features {
		t.Fatalf("round trip: %+v", back)
	}
	for _, e := range ex {
		if a, b := m.Predict(e.Text, 0), back.Predict(e.Text, 0); !slices.Equal(a, b) {
			t.Fatalf("%s: trained %v, loaded %v", e.ID, a, b)
		}
	}
	binary.BigEndian.PutUint32(b[len(modelMagic):], 2)
	if _, err := Load(bytes.NewReader(b)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a version 2 header on a version 3 model: %v", err)
	}
}

// NBMix averages the NBSVM with a plain SVM trained on the same rows: its
// weights are exactly (1−mix)·NBSVM + mix·SVM, each member being the model
// trained alone.
func TestNBMixAveragesTheTwoModels(t *testing.T) {
	t.Parallel()
	train := func(nb, mix float64) *Model {
		o := tinyOptions()
		o.SVM.NBAlpha, o.SVM.NBMix = nb, mix
		m, err := Train(context.Background(), tinyExamples(), o, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	nb, plain, mixed := train(0.1, 0), train(0, 0), train(0.1, 0.25)
	if len(mixed.w) != len(nb.w) || len(mixed.w) != len(plain.w) {
		t.Fatalf("weights %d, %d, %d", len(mixed.w), len(nb.w), len(plain.w))
	}
	for i := range mixed.w {
		want := 0.75*float64(nb.w[i]) + 0.25*float64(plain.w[i])
		if math.Abs(float64(mixed.w[i])-want) > 1e-5 {
			t.Fatalf("w[%d] = %v, want %v", i, mixed.w[i], want)
		}
	}
	for l := range mixed.bias {
		want := 0.75*float64(nb.bias[l]) + 0.25*float64(plain.bias[l])
		if math.Abs(float64(mixed.bias[l])-want) > 1e-5 {
			t.Errorf("bias[%d] = %v, want %v", l, mixed.bias[l], want)
		}
	}
}

// BalancePower 1 is the balanced weighting itself; another power changes
// the model.
func TestBalancePower(t *testing.T) {
	t.Parallel()
	ex := tinyExamples()[:20] // uneven classes: 8 water, 8 noise, 4 road
	train := func(pow float64) *Model {
		o := tinyOptions()
		o.SVM.BalancePower = pow
		m, err := Train(context.Background(), ex, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	base := train(0)
	if one := train(1); !slices.Equal(one.w, base.w) {
		t.Error("balance power 1 changed the weights")
	}
	if two := train(2); slices.Equal(two.w, base.w) {
		t.Error("balance power 2 left the weights as they were")
	}
}
