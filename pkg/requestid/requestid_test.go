package requestid

import (
	"strings"
	"testing"

	"github.com/gridflow/gridflow/pkg/fault"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want string // "" when valid
	}{
		{"12345-2026-000017", ""},
		{strings.Repeat("x", MaxBytes), ""},
		{"", "is required"},
		{"   ", "is required"},
		{strings.Repeat("x", MaxBytes+1), "must be at most 64 bytes"},
		{"a\xffb", "is not valid UTF-8"},
		{"a\x00b", "must not contain NUL"},
		{"a\x1cb", "must not contain control characters"},
		{"a\nb", "must not contain control characters"},
		{"a\u0085b", "must not contain control characters"},
	} {
		var vs fault.Violations
		Check(tc.id, &vs)
		err := vs.Err()
		if tc.want == "" {
			if err != nil {
				t.Errorf("Check(%q) = %v, want valid", tc.id, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "request_id") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%q) = %v, want request_id %s", tc.id, err, tc.want)
		}
	}
}
