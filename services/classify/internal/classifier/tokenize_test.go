package classifier

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTokenize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"empty", "", []string{}},
		{"only punctuation and space", "，。！？ \t\n、（）【】", []string{}},
		{"han chars are single tokens", "小区噪音", []string{"小", "区", "噪", "音"}},
		{"digit runs and latin words", "A3区2栋wifi坏了", []string{"a", "3", "区", "2", "栋", "wifi", "坏", "了"}},
		{"decimal point splits digits", "0.35元", []string{"0", "35", "元"}},
		{"full-width latin and digits fold", "ＡＢＣ１２３号", []string{"abc", "123", "号"}},
		{"full-width punctuation drops", "投诉！（紧急）", []string{"投", "诉", "紧", "急"}},
		{"ideographic space separates", "物业\u3000电话", []string{"物", "业", "电", "话"}},
		{"mixed case lowercases", "iPhone和WeChat", []string{"iphone", "和", "wechat"}},
		{"non-latin letters lowercase", "ΣΑΣ路", []string{"σασ", "路"}},
		{"combining mark continues a word", "cafe\u0301馆", []string{"cafe\u0301", "馆"}},
		{"lone combining mark is dropped", "\u0301路", []string{"路"}},
		{"invalid utf-8 separates", "路\xff灯", []string{"路", "灯"}},
		{"symbols drop", "￥100元@#$%^&*+=", []string{"100", "元"}},
		{"cjk extension b is han", "\U00020000字", []string{"\U00020000", "字"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, Tokenize(tt.text)); diff != "" {
				t.Errorf("Tokenize(%q) mismatch (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func TestNGrams(t *testing.T) {
	t.Parallel()
	uni := FeatureConfig{NGramMax: 1, MinDF: 1}
	bi := FeatureConfig{NGramMax: 2, MinDF: 1}
	pairs := FeatureConfig{NGramMax: 2, MinDF: 1, TokenPairs: true}
	tests := []struct {
		name string
		text string
		cfg  FeatureConfig
		want []string
	}{
		{"unigrams only", "路灯坏", uni, []string{"路", "灯", "坏"}},
		{"han bigrams", "路灯坏", bi, []string{"路", "灯", "坏", "路 灯", "灯 坏"}},
		{"no bigram across punctuation", "路灯，坏了", bi, []string{"路", "灯", "坏", "了", "路 灯", "坏 了"}},
		{"no bigram across whitespace", "路灯 坏", bi, []string{"路", "灯", "坏", "路 灯"}},
		{"no bigram across a digit run by default", "3号楼", bi, []string{"3", "号", "楼", "号 楼"}},
		{"token pairs join digits and han", "3号楼", pairs, []string{"3", "号", "楼", "3 号", "号 楼"}},
		{"token pairs still stop at punctuation", "a3。号", pairs, []string{"a", "3", "号", "a 3"}},
		{"single char", "路", bi, []string{"路"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, NGrams(tt.text, tt.cfg)); diff != "" {
				t.Errorf("NGrams(%q) mismatch (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

// TestKeysMatchNGrams checks that the hashed keys the model uses are the
// readable n-grams one for one: same count, and equal strings ⇔ equal keys.
func TestKeysMatchNGrams(t *testing.T) {
	t.Parallel()
	texts := []string{
		"A3区2栋wifi坏了，路灯不亮！３号楼ＡＢＣ abc 路灯路灯",
		"小区门口占道经营，油烟扰民 12345 12345",
		"",
		"cafe\u0301 café",
	}
	for _, cfg := range []FeatureConfig{{NGramMax: 1, MinDF: 1}, {NGramMax: 2, MinDF: 1}, {NGramMax: 2, MinDF: 1, TokenPairs: true}} {
		for _, text := range texts {
			var z tokenizer
			keys := z.appendKeys(nil, text, cfg)
			grams := NGrams(text, cfg)
			if len(keys) != len(grams) {
				t.Fatalf("%q %+v: %d keys, %d n-grams", text, cfg, len(keys), len(grams))
			}
			byGram := map[string]uint64{}
			byKey := map[uint64]string{}
			for i, g := range grams {
				if k, ok := byGram[g]; ok && k != keys[i] {
					t.Errorf("%q: n-gram %q has keys %x and %x", text, g, k, keys[i])
				}
				if s, ok := byKey[keys[i]]; ok && s != g {
					t.Errorf("%q: key %x is both %q and %q", text, keys[i], s, g)
				}
				if keys[i] == 0 {
					t.Errorf("%q: n-gram %q has the reserved key 0", text, g)
				}
				byGram[g], byKey[keys[i]] = keys[i], g
			}
		}
	}
}

// The opening's features (issue 15) are the first tokens' unigrams and
// bigrams again, under keys of their own; Han trigrams join three Han
// characters of one segment.
func TestOpeningAndTrigramKeys(t *testing.T) {
	t.Parallel()
	var z tokenizer
	plain := z.appendKeys(nil, "物业收费，太贵了", FeatureConfig{NGramMax: 2})
	open := z.appendKeys(nil, "物业收费，太贵了", FeatureConfig{NGramMax: 2, Opening: 3})
	// 7 unigrams, 5 bigrams (none across the comma); then 3 opening
	// unigrams and their 2 bigrams.
	if len(plain) != 12 || len(open) != 17 {
		t.Fatalf("keys: plain %d, with opening %d; want 12 and 17", len(plain), len(open))
	}
	for i, k := range open[12:] {
		if k>>kindShift != kindOpen {
			t.Errorf("opening key %d has kind %d", i, k>>kindShift)
		}
		for _, p := range plain {
			if p == k {
				t.Errorf("opening key %d collides with a body key", i)
			}
		}
	}
	tri := z.appendKeys(nil, "物业收费，太贵了", FeatureConfig{NGramMax: 2, Trigrams: true})
	if len(tri) != 12+3 { // 物业收 业收费 太贵了
		t.Errorf("keys with trigrams %d, want 15", len(tri))
	}
	if (FeatureConfig{NGramMax: 2, MinDF: 1, Opening: -1}).validate() == nil {
		t.Error("a negative opening validated")
	}
}
