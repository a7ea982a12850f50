package redact_test

import (
	"testing"

	"github.com/gridflow/gridflow/pkg/redact"
)

func TestPhones(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"请回电13812345678谢谢", "请回电138****5678谢谢"},
		{"电话：138-1234-5678，或 139 8765 4321", "电话：138-****-5678，或 139 **** 4321"},
		{"+8613812345678", "+86138****5678"},
		{"86-13812345678", "86-138****5678"},
		{"座机021-62345678转分机", "座机021-****5678转分机"},
		{"0571-8765432", "0571-***5432"},
		// Not phone numbers: longer digit runs, short numbers, dates, amounts.
		{"工单号202603021381234567890", "工单号202603021381234567890"},
		{"身份证310106199001011234", "身份证310106199001011234"},
		{"2026年3月2日 罚款20000元 门牌1381号 12345热线", "2026年3月2日 罚款20000元 门牌1381号 12345热线"},
		{"", ""},
	} {
		if got := redact.Phones(tc.in); got != tc.want {
			t.Errorf("Phones(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzPhones(f *testing.F) {
	f.Add("请回电13812345678谢谢")
	f.Add("021-62345678")
	f.Fuzz(func(t *testing.T, s string) {
		got := redact.Phones(s)
		if len(got) != len(s) {
			t.Fatalf("Phones changed the length: %q → %q", s, got)
		}
		if redact.Phones(got) != got {
			t.Fatalf("masking is not idempotent: %q → %q → %q", s, got, redact.Phones(got))
		}
	})
}
