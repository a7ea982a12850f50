package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gridctl needs import and export lists check their flags and the
// survey's header before dialling (the port nothing listens on).
func TestListsFlagErrors(t *testing.T) {
	t.Setenv("GRIDFLOW_RUN_DIR", t.TempDir())
	t.Setenv("GRIDFLOW_TOKEN", "")
	dir := t.TempDir()
	noLevel := filepath.Join(dir, "nolevel.csv")
	if err := os.WriteFile(noLevel, []byte("\ufeffhousehold,community,category\nQ1,310106022001,SC01\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"needs", "import", noLevel}, []string{"--survey-id is required"}},
		{[]string{"needs", "import", noLevel, "--survey-id", "s1"}, []string{`lacks column "level"`}},
		{[]string{"needs", "import", noLevel, "--survey-id", "s1", "--batch", "0"}, []string{"--batch 0"}},
		{[]string{"needs", "import", filepath.Join(dir, "missing.csv"), "--survey-id", "s1"}, []string{"missing.csv"}},
		{[]string{"export", "lists", "--community", "310106022001", "--month", "2026-11"}, []string{"--out are required"}},
		{[]string{"export", "lists", "--community", "310106022001", "--month", "11/2026", "--out", dir}, []string{`--month "11/2026"`}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{"--addr", "127.0.0.1:1", "--token", "t", "--timeout", "5s"}, tc.args...)
			out, _, err := gridctl(t, args...)
			if err == nil {
				t.Fatalf("gridctl %v succeeded:\n%s", tc.args, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("gridctl %v: error %q, want it to contain %q", tc.args, err, w)
				}
			}
		})
	}
}
