// Package redact masks personal data inside free text before it leaves the
// service that may hold it: exported training data, logs. It masks as
// DESIGN.md shows a phone number to those who may not see it (138****5678):
// the first three and last four digits stay, so a reader can still tell two
// numbers apart and a model still sees that a number was given.
package redact

import (
	"regexp"
	"strings"
)

// phone matches what citizens write as a phone number: a mainland mobile
// (11 digits from 13–19, optionally +86 and spaces or hyphens after the
// third and seventh digit) or a landline with its area code and a hyphen
// (021-62345678, 0571-8765432). Digits on either side mean it is part of a
// longer number (an order number, an id card), which is left alone: Go's
// regexp has no look-around, so the edges are checked in Phones.
var phoneRE = regexp.MustCompile(`(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}|0\d{2,3}-\d{7,8}`)

// Phones returns text with every phone number's middle digits replaced by
// '*': 13812345678 → 138****5678, 021-62345678 → 021-****5678. The text
// keeps its length and everything that is not a phone number.
func Phones(text string) string {
	idx := phoneRE.FindAllStringIndex(text, -1)
	if idx == nil {
		return text
	}
	var b strings.Builder
	last := 0
	for _, m := range idx {
		start, end := m[0], m[1]
		if (start > 0 && partOfNumber(text[start-1])) || (end < len(text) && partOfNumber(text[end])) {
			continue
		}
		b.WriteString(text[last:start])
		b.WriteString(maskDigits(text[start:end]))
		last = end
	}
	b.WriteString(text[last:])
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// partOfNumber: a digit, or a star of a number masked already (so masking
// masked text changes nothing).
func partOfNumber(c byte) bool { return isDigit(c) || c == '*' }

// maskDigits masks one matched number, keeping its separators: a mobile
// keeps its first three and last four digits (after a +86 prefix, kept as
// it is); a landline keeps its area code and the last four digits of the
// local number.
func maskDigits(s string) string {
	out := []byte(s)
	if s[0] == '0' {
		dash := strings.IndexByte(s, '-')
		starTo(out[dash+1:], len(s)-dash-1-4)
		return string(out)
	}
	body := out
	if s[0] == '+' || (s[0] == '8' && s[1] == '6') {
		i := strings.Index(s, "86") + 2
		if s[i] == '-' || s[i] == ' ' {
			i++
		}
		body = out[i:]
	}
	digits := 0
	for _, c := range body {
		if isDigit(c) {
			digits++
		}
	}
	seen := 0
	for i, c := range body {
		if !isDigit(c) {
			continue
		}
		seen++
		if seen > 3 && seen <= digits-4 {
			body[i] = '*'
		}
	}
	return string(out)
}

// starTo stars the first n digits of b.
func starTo(b []byte, n int) {
	for i := range b {
		if n <= 0 {
			return
		}
		if isDigit(b[i]) {
			b[i] = '*'
			n--
		}
	}
}
