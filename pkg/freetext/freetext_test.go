package freetext

import (
	"strings"
	"testing"

	"github.com/gridflow/gridflow/pkg/fault"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		text     string
		required bool
		want     string // the reason, "" when fine
	}{
		{"已签收", true, ""},
		{"一\n二\r\n\t三", true, ""},
		{"乱码\uFFFD照登", true, ""},
		{"", false, ""},
		{"", true, "is required"},
		{" \n\t", true, "is required"},
		{"a\xffb", true, "is not valid UTF-8"},
		{"a\x07b\xff", true, "is not valid UTF-8"},
		{strings.Repeat("噪", 11), true, "is 11 characters long; at most 10"},
		{strings.Repeat("噪", 11) + "\x07", true, "is 12 characters long; at most 10"},
		{"a\x07b\x1b", true, "contains control character U+0007"},
		{"a\x00b", true, "contains control character U+0000"},
		{"a\u0085b", true, "contains control character U+0085"},
		{"a\u2028b", true, "contains control character U+2028"},
		{"\uFEFF标题", true, "contains control character U+FEFF"},
	} {
		var vs fault.Violations
		Check("note", tt.text, 10, tt.required, &vs)
		got := ""
		if len(vs) > 0 {
			got = vs[0].Reason
			if vs[0].Field != "note" {
				t.Errorf("Check(%q) names %q", tt.text, vs[0].Field)
			}
		}
		if got != tt.want || len(vs) > 1 {
			t.Errorf("Check(%q, required %v) = %v, want %q", tt.text, tt.required, vs, tt.want)
		}
	}
}

func TestCode(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		code string
		want bool // refused
	}{
		{"", false},
		{"310106022-cgzd", false},
		{"H04001", false},
		{"a\xffb", true},
		{strings.Repeat("9", 65), true},
		{"310106 022", true},
		{"3101\x00", true},
		{"a\u2028", true},
	} {
		var vs fault.Violations
		Code("department_code", tt.code, 64, &vs)
		if (len(vs) > 0) != tt.want {
			t.Errorf("Code(%q) = %v, want refused %v", tt.code, vs, tt.want)
		}
	}
}

// FuzzCheck: whatever the text, Check adds at most one violation, naming
// the field with a reason, and accepts only valid UTF-8 within the limit
// without control characters.
func FuzzCheck(f *testing.F) {
	f.Add("已签收", 10, true)
	f.Add("a\x07b\xff", 3, false)
	f.Add("\u2028", 1, true)
	f.Fuzz(func(t *testing.T, s string, max int, required bool) {
		var vs fault.Violations
		Check("f", s, max, required, &vs)
		if len(vs) > 1 {
			t.Fatalf("%d violations: %v", len(vs), vs)
		}
		if len(vs) == 1 {
			if vs[0].Field != "f" || vs[0].Reason == "" {
				t.Fatalf("violation %+v", vs[0])
			}
			return
		}
		if strings.TrimSpace(s) == "" {
			if required {
				t.Fatalf("blank %q accepted as required", s)
			}
			return
		}
		n := 0
		for _, r := range s {
			n++
			if r == 0xFFFD && !strings.Contains(s, "\uFFFD") || Control(r) {
				t.Fatalf("accepted %q", s)
			}
		}
		if n > max {
			t.Fatalf("accepted %d characters over %d", n, max)
		}
	})
}
