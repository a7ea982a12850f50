package clock

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestOffsetFollowsTheFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "clock")
	c, err := NewOffset(file, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(c.Now()); d > time.Second || d < -time.Second {
		t.Fatalf("no file: offset %v", d)
	}
	if err := os.WriteFile(file, []byte("3h\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d := time.Until(c.Now()); d < 3*time.Hour-time.Second || d > 3*time.Hour+time.Second {
		t.Fatalf("3h: offset %v", d)
	}
	// A half-written (empty) or broken file keeps the last good offset.
	for _, content := range []string{"", "3 hours"} {
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if d := time.Until(c.Now()); d < 3*time.Hour-time.Second {
			t.Fatalf("file %q: offset %v", content, d)
		}
	}
	if _, err := NewOffset(file, 0); err == nil {
		t.Fatal("NewOffset accepted a file that is not a duration")
	}
}
