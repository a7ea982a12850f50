package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unlabelledFile finds the shared unlabelled messages like the classifier's
// tests find the labelled ones: $GRIDFLOW_SHARED_DIR, else a shared/
// directory beside the working directory or one of its parents.
func unlabelledFile(t *testing.T) string {
	t.Helper()
	var tried []string
	try := func(dir string) string {
		p := filepath.Join(dir, "data", "messages", "unlabelled.jsonl")
		tried = append(tried, p)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	if root := os.Getenv("GRIDFLOW_SHARED_DIR"); root != "" {
		if p := try(root); p != "" {
			return p
		}
	} else if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if p := try(filepath.Join(dir, "shared")); p != "" {
				return p
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	msg := "SKIPPING: SHARED DATA NOT FOUND (set GRIDFLOW_SHARED_DIR to the shared/ directory); tried: " + strings.Join(tried, ", ")
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestGroupUnlabelled measures what grouping does on the shared unlabelled
// messages (4,326 messages of a provincial message board, 2017–2020): the
// figures are logged (go test -run GroupUnlabelled -v), and the test checks
// only that grouping stays a small, sane fraction.
func TestGroupUnlabelled(t *testing.T) {
	path := unlabelledFile(t)
	for _, ignoreShop := range []bool{false, true} {
		var out bytes.Buffer
		args := []string{"--data", path, "--sample", "5"}
		if ignoreShop {
			args = append(args, "--ignore-shop")
		}
		if err := Group(context.Background(), args, &out, &out); err != nil {
			t.Fatal(err)
		}
		t.Logf("classify group %s\n%s", strings.Join(args, " "), out.String())
		if !strings.Contains(out.String(), "incidents: ") || !strings.Contains(out.String(), "sample 1:") {
			t.Errorf("report lacks incidents or samples:\n%s", out.String())
		}
	}
}

func TestParseMessageTime(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want time.Time
	}{
		{"2019/2/28 11:25:05", time.Date(2019, 2, 28, 11, 25, 5, 0, shanghai)},
		{"2019/04/28 17:32:51", time.Date(2019, 4, 28, 17, 32, 51, 0, shanghai)},
		{"43856.5", time.Date(2020, 1, 26, 12, 0, 0, 0, shanghai)},
	} {
		got, err := ParseMessageTime(tt.in)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseMessageTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseMessageTime("yesterday"); err == nil {
		t.Error("ParseMessageTime(yesterday) succeeded")
	}
}

func TestMessageCase(t *testing.T) {
	t.Parallel()
	c, err := MessageCase(Message{ID: "1", Title: "A市A3区谷园路39号维也纳酒店噪音扰民", Time: "2019/2/28 11:25:05"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Area.District != "A3区" || c.AddressKey != "A3区|谷园路||39|" {
		t.Errorf("case = district %q key %q", c.Area.District, c.AddressKey)
	}
}
