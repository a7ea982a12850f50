package classifier

import (
	"bytes"
	"slices"
	"testing"
)

func segKeyOf(t *testing.T, w string) uint64 {
	t.Helper()
	h, ok := hanHash(w)
	if !ok {
		t.Fatalf("%q is not all Han", w)
	}
	return segKey(h)
}

// TestSegWords: each mode's words of a short complaint, by their keys; a
// word of one character is no key of its own (it is a unigram already),
// and punctuation separates word pairs.
func TestSegWords(t *testing.T) {
	const text = "小区楼下垃圾桶无人清理，臭气熏天"
	want := []string{"小区", "楼下", "垃圾桶", "无人", "清理", "臭气熏天"}
	for _, mode := range []int{SegGSE, SegFMM, SegDAG} {
		var z tokenizer
		z.run(text)
		got := z.appendSegKeys(nil, text, FeatureConfig{Seg: mode})
		var wantKeys []uint64
		for _, w := range want {
			wantKeys = append(wantKeys, segKeyOf(t, w))
		}
		if !slices.Equal(got, wantKeys) {
			t.Errorf("mode %d: keys %x, want those of %q (%x)", mode, got, want, wantKeys)
		}
		z.run(text)
		pairs := z.appendSegKeys(nil, text, FeatureConfig{Seg: mode, SegBigrams: true})
		// six words, four pairs within 小区…清理, none across the comma
		if len(pairs) != len(want)+4 {
			t.Errorf("mode %d with bigrams: %d keys, want %d", mode, len(pairs), len(want)+4)
		}
		h1, _ := hanHash("小区")
		h2, _ := hanHash("楼下")
		if !slices.Contains(pairs, segPairKey(h1, h2)) {
			t.Errorf("mode %d: no pair 小区 楼下", mode)
		}
		h5, _ := hanHash("清理")
		h6, _ := hanHash("臭气熏天")
		if slices.Contains(pairs, segPairKey(h5, h6)) {
			t.Errorf("mode %d: a pair across the comma", mode)
		}
	}
}

// TestSegFMMLongest: forward maximum matching takes the longest dictionary
// word at each position (垃圾桶, not 垃圾 then 桶).
func TestSegFMMLongest(t *testing.T) {
	var z tokenizer
	z.run("垃圾桶")
	got := z.appendSegKeys(nil, "垃圾桶", FeatureConfig{Seg: SegFMM})
	if want := []uint64{segKeyOf(t, "垃圾桶")}; !slices.Equal(got, want) {
		t.Errorf("keys %x, want 垃圾桶's %x", got, want)
	}
}

func TestSegConfig(t *testing.T) {
	for _, c := range []FeatureConfig{{NGramMax: 2, MinDF: 1, Seg: -1}, {NGramMax: 2, MinDF: 1, Seg: SegVocab + 1}} {
		if c.validate() == nil {
			t.Errorf("seg %d accepted", c.Seg)
		}
	}
	if err := (FeatureConfig{NGramMax: 2, MinDF: 1, Seg: SegFMM}).validate(); err != nil {
		t.Error(err)
	}
}

// TestSegVocab: SegVocab's dictionary is the gse words of at least min df
// of a fit's documents, and a text's words are matched on it alone.
func TestSegVocab(t *testing.T) {
	texts := []string{"小区垃圾桶满了", "垃圾桶无人清理", "小区停车难"}
	cands := make([][]uint64, len(texts))
	for i, s := range texts {
		cands[i] = segCandidates(s)
	}
	dict := segVocab(cands, []int{0, 1, 2}, 2)
	for w, in := range map[string]bool{"小区": true, "垃圾桶": true, "清理": false, "停车": false} {
		if got := dict.get(segKeyOf(t, w)) >= 0; got != in {
			t.Errorf("%s in the dictionary: %t, want %t", w, got, in)
		}
	}
	// fitted on the first two documents only, 小区 is seen once: out
	if d := segVocab(cands, []int{0, 1}, 2); d.get(segKeyOf(t, "小区")) >= 0 {
		t.Error("小区 in a dictionary of documents 0 and 1")
	}
	got := segVocabKeys([]uint64{1}, "垃圾桶清理", dict, false)
	if want := []uint64{1, segKeyOf(t, "垃圾桶")}; !slices.Equal(got, want) {
		t.Errorf("keys %x, want %x", got, want)
	}
}

func TestSegVocabIsCVOnly(t *testing.T) {
	o := DefaultOptions()
	o.Features.Seg = SegVocab
	ex := []Example{{ID: "a", Label: "x", Text: "小区垃圾桶"}, {ID: "b", Label: "y", Text: "公交线路"}}
	if _, err := Train(t.Context(), ex, o, nil); err == nil {
		t.Error("Train accepted seg vocab")
	}
}

// TestSegModelIsFormatVersion4: a model with a segmenter's words is written
// as format version 4, which an older build refuses, and reads back the
// same.
func TestSegModelIsFormatVersion4(t *testing.T) {
	o := DefaultOptions()
	o.CVFolds = 2
	o.Features.Seg, o.Features.WordWeight = SegGSE, 0.3
	ex := []Example{
		{ID: "1", Label: "env", Text: "小区楼下垃圾桶无人清理"}, {ID: "2", Label: "env", Text: "垃圾桶臭气熏天"},
		{ID: "3", Label: "env", Text: "垃圾桶满了无人清理"}, {ID: "4", Label: "bus", Text: "公交线路调整不合理"},
		{ID: "5", Label: "bus", Text: "公交车站太远"}, {ID: "6", Label: "bus", Text: "公交线路太少"},
	}
	m, err := Train(t.Context(), ex, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Load(&buf)
	if err != nil || back.Version() != m.Version() || back.Info().FormatVersion != 4 || back.Info().Features != o.Features {
		t.Fatalf("round trip: err %v, info %+v", err, back.Info())
	}
	if got := back.Predict("垃圾桶无人清理", 1)[0].Label; got != "env" {
		t.Errorf("predicted %s, want env", got)
	}
}
