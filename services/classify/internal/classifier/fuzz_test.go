package classifier

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzTokenize checks the tokenizer's invariants on arbitrary input, the
// untrusted text every prediction starts from. Seeds live in
// testdata/fuzz/FuzzTokenize.
func FuzzTokenize(f *testing.F) {
	f.Add("A3区2栋wifi坏了，路灯不亮！")
	f.Fuzz(func(t *testing.T, text string) {
		toks := Tokenize(text)
		for _, tok := range toks {
			if tok == "" || !utf8.ValidString(tok) {
				t.Fatalf("bad token %q", tok)
			}
			r, size := utf8.DecodeRuneInString(tok)
			switch {
			case isHan(r):
				if size != len(tok) {
					t.Fatalf("han token %q has more than one character", tok)
				}
			case unicode.IsDigit(r):
				for _, r := range tok {
					if !unicode.IsDigit(r) {
						t.Fatalf("digit token %q holds %q", tok, r)
					}
				}
			default:
				for _, r := range tok {
					if !(unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)) || isHan(r) {
						t.Fatalf("word token %q holds %q", tok, r)
					}
				}
			}
			if strings.ContainsFunc(tok, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }) {
				t.Fatalf("token %q holds a separator", tok)
			}
		}
		// Tokens are a fixed point: tokenising them again, space-joined,
		// gives them back (folding and lower-casing are idempotent).
		again := Tokenize(strings.Join(toks, " "))
		if strings.Join(again, " ") != strings.Join(toks, " ") {
			t.Fatalf("not idempotent: %q then %q", toks, again)
		}
		cfg := FeatureConfig{NGramMax: 2, MinDF: 1, TokenPairs: true}
		var z tokenizer
		if keys, grams := z.appendKeys(nil, text, cfg), NGrams(text, cfg); len(keys) != len(grams) {
			t.Fatalf("%d keys but %d n-grams", len(keys), len(grams))
		}
	})
}
