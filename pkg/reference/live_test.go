package reference

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLiveKeepsTheSetWhenAReloadFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	before := l.Current()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte("rules: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Reload(); err == nil {
		t.Fatal("a broken rules.yaml reloaded")
	}
	if l.Current() != before {
		t.Error("a failed reload replaced the set")
	}
	if err := os.Remove(filepath.Join(dir, "rules.yaml")); err != nil {
		t.Fatal(err)
	}
	s, err := l.Reload()
	if err != nil || l.Current() != s || s.Digest() != before.Digest() {
		t.Errorf("reload after the fix: %v (digest %s, want %s)", err, s.Digest(), before.Digest())
	}
}
