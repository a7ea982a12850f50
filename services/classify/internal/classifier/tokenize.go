package classifier

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Feature keys are 64-bit: the top 4 bits say what kind of feature it is, the
// rest identify it. Han characters and Han bigrams are packed exactly (a rune
// fits in 21 bits), so the most frequent features never collide; words and
// digit runs are FNV-1a hashes, whose collisions in 60 bits are negligible.
// The key space is part of the model file format: changing it needs a new
// format version.
const (
	kindShift = 60
	lowMask   = 1<<kindShift - 1

	kindHan    uint64 = 1
	kindWord   uint64 = 2
	kindDigit  uint64 = 3
	kindBigram uint64 = 4
	kindPair   uint64 = 5 // bigram of two adjacent tokens, at least one not Han
	// issue 15, measured for a better first-level model (FeatureConfig):
	kindTri  uint64 = 6 // Han trigram: a pair of overlapping character-bigram "words", hashed
	kindOpen uint64 = 7 // a unigram or bigram of the opening (the title), hashed apart from the body's
	// issue 15, round 3: a run of 3..maxWord adjacent Han characters, a
	// candidate word (FeatureConfig.Words), hashed. The highest kind, so
	// word keys sort after every other key in a vocabulary.
	kindGram uint64 = 8
)

// maxWord is the longest candidate word (FeatureConfig.Words).
const maxWord = 4

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// token is one unigram. Tokens with equal seg were not separated by
// punctuation or whitespace; bigrams never join tokens of different segments.
type token struct {
	key    uint64
	seg    int32
	han    bool
	lo, hi int32 // folded text of the token is tokenizer.buf[lo:hi]
}

// tokenizer is reusable scratch space; its zero value is ready to use.
type tokenizer struct {
	toks []token
	buf  []byte
}

// foldRune maps full-width ASCII variants (U+FF01–U+FF5E) and the ideographic
// space to their half-width forms. This is the part of NFKC that matters for
// complaint text typed with a Chinese input method: ＡＢＣ１２３ must give the
// same tokens as ABC123. Other compatibility forms are left alone.
func foldRune(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFEE0
	case r == 0x3000:
		return ' '
	}
	return r
}

// isHan reports whether r is a Han character; the fast path covers the CJK
// Unified Ideographs block, where nearly all Chinese text lives.
func isHan(r rune) bool {
	if r >= 0x4E00 && r <= 0x9FFF {
		return true
	}
	if r < 0x2E80 {
		return false
	}
	return unicode.Is(unicode.Han, r)
}

type runeClass uint8

const (
	classSep runeClass = iota
	classHan
	classDigit
	classLetter
	classMark // combining mark: continues a letter run, else a separator
)

// classify folds r and says which token class it belongs to.
func classify(r rune) (rune, runeClass) {
	r = foldRune(r)
	if r < utf8.RuneSelf {
		switch {
		case r >= '0' && r <= '9':
			return r, classDigit
		case r >= 'a' && r <= 'z':
			return r, classLetter
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A'), classLetter
		}
		return r, classSep
	}
	switch {
	case isHan(r):
		return r, classHan
	case unicode.IsDigit(r):
		return r, classDigit
	case unicode.IsLetter(r):
		return unicode.ToLower(r), classLetter
	case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r):
		return r, classMark
	}
	return r, classSep
}

// run tokenises text into z.toks (and the folded token text into z.buf).
// Invalid UTF-8 bytes decode as U+FFFD, which is a separator.
func (z *tokenizer) run(text string) {
	z.toks = z.toks[:0]
	z.buf = z.buf[:0]
	var (
		seg int32
		cur runeClass // class of the open digit/letter run, or classSep
		lo  int
		h   uint64 // FNV-1a of the open run's folded bytes
	)
	flush := func() {
		if cur == classSep {
			return
		}
		kind := kindWord
		if cur == classDigit {
			kind = kindDigit
		}
		z.toks = append(z.toks, token{key: kind<<kindShift | h&lowMask, seg: seg, lo: int32(lo), hi: int32(len(z.buf))})
		cur = classSep
	}
	for i := 0; i < len(text); {
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		i += size
		r, c := classify(r)
		if c == classMark {
			if cur != classLetter {
				c = classSep
			} else {
				c = classLetter
			}
		}
		switch c {
		case classHan:
			flush()
			at := len(z.buf)
			z.buf = utf8.AppendRune(z.buf, r)
			z.toks = append(z.toks, token{key: kindHan<<kindShift | uint64(r), seg: seg, han: true, lo: int32(at), hi: int32(len(z.buf))})
		case classDigit, classLetter:
			if c != cur {
				flush()
				cur, lo, h = c, len(z.buf), fnvOffset
			}
			at := len(z.buf)
			z.buf = utf8.AppendRune(z.buf, r)
			for _, b := range z.buf[at:] {
				h = (h ^ uint64(b)) * fnvPrime
			}
		default:
			flush()
			if n := len(z.toks); n > 0 && z.toks[n-1].seg == seg {
				seg++
			}
		}
	}
	flush()
}

// bigramKey returns the key of the bigram a b, and false when a and b may not
// form one: they must be adjacent in one segment, and unless pairs is set,
// both Han.
func bigramKey(a, b *token, pairs bool) (uint64, bool) {
	if a.seg != b.seg {
		return 0, false
	}
	if a.han && b.han {
		return kindBigram<<kindShift | (a.key&lowMask)<<21 | b.key&lowMask, true
	}
	if !pairs {
		return 0, false
	}
	return kindPair<<kindShift | mix64(a.key*fnvPrime^b.key)&lowMask, true
}

// mix64 is the SplitMix64 finaliser: a cheap bijective scrambler, used to
// spread keys over hash buckets and table slots.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// appendKeys appends the feature keys of text (unigrams, then bigrams if
// cfg.NGramMax ≥ 2) to dst. Keys repeat once per occurrence.
func (z *tokenizer) appendKeys(dst []uint64, text string, cfg FeatureConfig) []uint64 {
	z.run(text)
	for i := range z.toks {
		dst = append(dst, z.toks[i].key)
	}
	if cfg.NGramMax >= 2 {
		for i := 1; i < len(z.toks); i++ {
			if k, ok := bigramKey(&z.toks[i-1], &z.toks[i], cfg.TokenPairs); ok {
				dst = append(dst, k)
			}
		}
	}
	if cfg.Trigrams {
		for i := 2; i < len(z.toks); i++ {
			a, b, c := &z.toks[i-2], &z.toks[i-1], &z.toks[i]
			if a.han && b.han && c.han && a.seg == c.seg {
				dst = append(dst, kindTri<<kindShift|mix64((a.key&lowMask)<<42^(b.key&lowMask)<<21^c.key&lowMask)&lowMask)
			}
		}
	}
	if cfg.Words >= 3 {
		dst = z.appendWords(dst, cfg.Words, nil)
	}
	if cfg.Opening > 0 {
		n := min(cfg.Opening, len(z.toks))
		for i := range n {
			dst = append(dst, kindOpen<<kindShift|mix64(z.toks[i].key)&lowMask)
			if i > 0 && cfg.NGramMax >= 2 {
				if k, ok := bigramKey(&z.toks[i-1], &z.toks[i], cfg.TokenPairs); ok {
					dst = append(dst, kindOpen<<kindShift|mix64(k^0x9e3779b97f4a7c15)&lowMask)
				}
			}
		}
	}
	return dst
}

// gramKey is the key of the Han run toks (3 or more tokens); gramKey of two
// tokens is their bigram key.
func gramKey(toks []token) uint64 {
	if len(toks) == 2 {
		k, _ := bigramKey(&toks[0], &toks[1], false)
		return k
	}
	h := uint64(fnvOffset)
	for i := range toks {
		h = (h ^ toks[i].key&lowMask) * fnvPrime
	}
	return kindGram<<kindShift | mix64(h)&lowMask
}

// appendWords appends the keys of every run of 3..longest adjacent Han
// characters of one segment of z's last run; parents, if not nil, learns
// each key's prefix and suffix keys.
func (z *tokenizer) appendWords(dst []uint64, longest int, parents map[uint64][2]uint64) []uint64 {
	toks := z.toks
	for i := range toks {
		for n := 3; n <= longest && i+n <= len(toks); n++ {
			last := &toks[i+n-1]
			if !last.han || last.seg != toks[i].seg || !toks[i+n-2].han || !toks[i].han {
				break
			}
			run := toks[i : i+n]
			k := gramKey(run)
			dst = append(dst, k)
			if parents != nil {
				if _, ok := parents[k]; !ok {
					parents[k] = [2]uint64{gramKey(run[:n-1]), gramKey(run[1:])}
				}
			}
		}
	}
	return dst
}

// Tokenize returns the unigram tokens of text in order: single Han
// characters, lower-cased letter runs and digit runs, with full-width forms
// folded and punctuation, symbols and whitespace dropped.
func Tokenize(text string) []string {
	var z tokenizer
	z.run(text)
	out := make([]string, len(z.toks))
	for i, t := range z.toks {
		out[i] = string(z.buf[t.lo:t.hi])
	}
	return out
}

// NGrams returns the features of text as strings, unigrams first, then
// bigrams written as the two tokens joined by a space. It is the readable
// twin of the hashed keys the model uses, for tests and debugging.
func NGrams(text string, cfg FeatureConfig) []string {
	var z tokenizer
	z.run(text)
	out := make([]string, 0, 2*len(z.toks))
	for _, t := range z.toks {
		out = append(out, string(z.buf[t.lo:t.hi]))
	}
	if cfg.NGramMax >= 2 {
		for i := 1; i < len(z.toks); i++ {
			a, b := &z.toks[i-1], &z.toks[i]
			if _, ok := bigramKey(a, b, cfg.TokenPairs); ok {
				out = append(out, strings.Join([]string{string(z.buf[a.lo:a.hi]), string(z.buf[b.lo:b.hi])}, " "))
			}
		}
	}
	return out
}
