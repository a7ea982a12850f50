package address

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// sep is the only separator the parser sees: every punctuation mark, bracket,
// symbol and invalid byte folds to it, and runs of it collapse to one.
const sep = ','

// clip bounds raw to MaxInputBytes, cut at a rune boundary, and makes it valid
// UTF-8. The result travels in protobuf string fields, which reject invalid
// UTF-8, so Address.Raw must never carry it.
func clip(raw string) string {
	raw = strings.ToValidUTF8(cutAt(raw), "\uFFFD")
	return cutAt(raw) // replacement may have grown it
}

// cutAt cuts s to at most MaxInputBytes at a rune boundary.
func cutAt(s string) string {
	if len(s) <= MaxInputBytes {
		return s
	}
	cut := MaxInputBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// fold maps text to the small alphabet the parser reads: ASCII digits,
// upper-case ASCII letters, '-', sep and Han characters. Full-width forms
// become ASCII, a few traditional forms of address markers become simplified,
// '#' becomes 号 (5# = 5号, 5#楼 = 5号楼).
//
// Spaces are dropped where they only pad tokens ("共和新路 1234 弄 5 号"), but
// kept as a boundary where they separate two words ("兰州拉面 共和新路"), and a
// space between two numbers reads as a hyphen ("1234 5" = "1234-5").
func fold(s string) []rune {
	out := make([]rune, 0, len(s))
	space := false
	for _, r := range s {
		r = foldRune(r)
		switch {
		case r == ' ':
			space = true
			continue
		case r == '#':
			r = '号'
		case r == '-', isDigit(r), isUpper(r), isHan(r):
		default:
			r = sep
		}
		if space && len(out) > 0 {
			prev := out[len(out)-1]
			switch {
			case isDigit(prev) && isDigit(r):
				out = append(out, '-')
			case isWordRune(prev) && isWordRune(r) && !(isUpper(prev) && isUpper(r)) && !glues(prev) && !glues(r):
				out = append(out, sep)
			}
		}
		space = false
		if r == sep && (len(out) == 0 || out[len(out)-1] == sep) {
			continue
		}
		out = append(out, r)
	}
	for len(out) > 0 && out[len(out)-1] == sep {
		out = out[:len(out)-1]
	}
	return out
}

func foldRune(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII block
		r -= 0xFEE0
	case r == 0x3000 || unicode.IsSpace(r):
		return ' '
	}
	switch r {
	case '~', '‐', '‑', '‒', '–', '—', '―', '−', '﹣', '〜':
		return '-'
	case '號':
		return '号'
	case '樓':
		return '楼'
	case '棟':
		return '栋'
	case '區':
		return '区'
	case '門':
		return '门'
	case '單':
		return '单'
	case '層':
		return '层'
	case '衖': // the old Shanghai form of 弄, still on some lane signs
		return '弄'
	}
	if r >= 'a' && r <= 'z' {
		r -= 'a' - 'A'
	}
	return r
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }
func isUpper(r rune) bool { return r >= 'A' && r <= 'Z' }

// isHan reports a Han ideograph; U+FFFD and the like are not.
func isHan(r rune) bool { return r >= 0x2E80 && unicode.Is(unicode.Han, r) }

func isWordRune(r rune) bool { return isHan(r) || isUpper(r) }

// glues reports the unit markers a space next to which is padding, never a
// word boundary: "5 号 楼", "1234 弄".
func glues(r rune) bool {
	switch r {
	case '号', '弄', '楼', '室', '幢', '栋', '座', '层', '单', '元', '期', '支', '甲', '乙', '丙', '丁':
		return true
	}
	return false
}

// hanDigit is the value of a Chinese digit; 〇 and 零 are both zero.
func hanDigit(r rune) (int, bool) {
	switch r {
	case '〇', '零':
		return 0, true
	case '一', '壹':
		return 1, true
	case '二', '两', '贰':
		return 2, true
	case '三', '叁':
		return 3, true
	case '四', '肆':
		return 4, true
	case '五', '伍':
		return 5, true
	case '六', '陆':
		return 6, true
	case '七', '柒':
		return 7, true
	case '八', '捌':
		return 8, true
	case '九', '玖':
		return 9, true
	}
	return 0, false
}

func hanUnit(r rune) (int, bool) {
	switch r {
	case '十', '拾':
		return 10, true
	case '百', '佰':
		return 100, true
	case '千', '仟':
		return 1000, true
	case '万':
		return 10000, true
	}
	return 0, false
}

func isHanNumeral(r rune) bool {
	_, d := hanDigit(r)
	_, u := hanUnit(r)
	return d || u
}

// maxHanNumeral bounds the runs convertNumerals reads; no lane, number or
// room needs more, and the bound keeps the arithmetic far from overflow.
const maxHanNumeral = 12

// parseHanNumber reads a Chinese numeral in either of the two ways addresses
// write them: digit by digit without units (一二三四 = 1234, 二〇一 = 201) or
// positional (一百二十三 = 123, 十八 = 18, 一千零五 = 1005).
func parseHanNumber(rs []rune) (int, bool) {
	if len(rs) == 0 || len(rs) > maxHanNumeral {
		return 0, false
	}
	positional := false
	for _, r := range rs {
		if _, ok := hanUnit(r); ok {
			positional = true
		}
	}
	if !positional {
		if len(rs) > 6 {
			return 0, false
		}
		v := 0
		for _, r := range rs {
			d, _ := hanDigit(r)
			v = v*10 + d
		}
		return v, true
	}
	total, section, digit := 0, 0, -1
	for _, r := range rs {
		if d, ok := hanDigit(r); ok {
			digit = d
			continue
		}
		u, _ := hanUnit(r)
		if digit < 0 {
			digit = 1 // 十八: a leading unit counts one of itself
		}
		if u == 10000 {
			total += (section + digit) * u
			section = 0
		} else {
			section += digit * u
		}
		digit = -1
	}
	if digit > 0 {
		section += digit
	}
	return total + section, true
}

// numeralMarkers are what may follow a Chinese numeral for it to be read as a
// number. Only such numerals convert, so 三门路, 四川北路, 万航渡路 and 七浦路
// keep their names while 十八弄, 五号 and 二〇一室 become digits.
var numeralMarkers = []string{"支弄", "弄", "号", "室", "幢", "栋", "座", "单元", "楼", "层", "期", "组", "区", "-",
	"甲号", "乙号", "丙号", "丁号"}

// convertNumerals rewrites Chinese numerals that stand before an address
// marker as ASCII digits, so the parser has one number syntax.
func convertNumerals(rs []rune) []rune {
	if !containsNumeral(rs) {
		return rs
	}
	out := make([]rune, 0, len(rs)+8)
	for i := 0; i < len(rs); {
		if !isHanNumeral(rs[i]) {
			out = append(out, rs[i])
			i++
			continue
		}
		j := i
		for j < len(rs) && isHanNumeral(rs[j]) {
			j++
		}
		if numeralFollows(rs, j) {
			if v, ok := parseHanNumber(rs[i:j]); ok {
				for _, d := range strconv.Itoa(v) {
					out = append(out, d)
				}
				i = j
				continue
			}
		}
		out = append(out, rs[i:j]...)
		i = j
	}
	return out
}

func containsNumeral(rs []rune) bool {
	for _, r := range rs {
		if isHanNumeral(r) {
			return true
		}
	}
	return false
}

func numeralFollows(rs []rune, j int) bool {
	for _, m := range numeralMarkers {
		if hasAt(rs, j, m) {
			return true
		}
	}
	// 一百二十三至一百二十五号: a range word counts only between two numbers.
	if j+1 < len(rs) && (rs[j] == '至' || rs[j] == '到') && (isDigit(rs[j+1]) || isHanNumeral(rs[j+1])) {
		return true
	}
	return false
}

// hasAt reports whether rs[i:] starts with s. Every s used is short, so
// converting it each call costs nothing worth a cache.
func hasAt(rs []rune, i int, s string) bool {
	if i < 0 {
		return false
	}
	for _, r := range s {
		if i >= len(rs) || rs[i] != r {
			return false
		}
		i++
	}
	return true
}

// hanSmall writes 1–99 as Chinese numerals, the form 号之一 uses; other values
// stay as digits.
func hanSmall(n int) string {
	const ds = "〇一二三四五六七八九"
	digits := []rune(ds)
	switch {
	case n <= 0 || n > 99:
		return strconv.Itoa(n)
	case n < 10:
		return string(digits[n])
	case n == 10:
		return "十"
	case n < 20:
		return "十" + string(digits[n%10])
	case n%10 == 0:
		return string(digits[n/10]) + "十"
	default:
		return string(digits[n/10]) + "十" + string(digits[n%10])
	}
}
