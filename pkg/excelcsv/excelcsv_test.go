package excelcsv

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGuard(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""}, {"长乐路340号", "长乐路340号"}, {"=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"},
		{"+86 138", "'+86 138"}, {"-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"}, {"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"}, {"\r=1", "'\r=1"}, {"-3", "-3"}, {"+0.5", "+0.5"}, {"0.875", "0.875"}, {"a=b", "a=b"},
	} {
		if got := Guard(tc.in); got != tc.want {
			t.Errorf("Guard(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWriterWritesTheMarkOnceAndGuards(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	w := NewWriter(&b)
	for _, r := range [][]string{{"name", "count"}, {"=1+1", "-2"}, {"垃圾分类指导", "3"}} {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "\ufeffname,count\n'=1+1,-2\n垃圾分类指导,3\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}
