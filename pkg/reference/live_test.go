package reference

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLiveKeepsTheSetWhenAReloadFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	before := l.Current()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte("rules: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Reload(ctx); err == nil {
		t.Fatal("a broken rules.yaml reloaded")
	}
	if l.Current() != before {
		t.Error("a failed reload replaced the set")
	}
	if err := os.Remove(filepath.Join(dir, "rules.yaml")); err != nil {
		t.Fatal(err)
	}
	_, s, err := l.Reload(ctx)
	if err != nil || l.Current() != s || s.Digest() != before.Digest() {
		t.Errorf("reload after the fix: %v (digest %s, want %s)", err, s.Digest(), before.Digest())
	}
	if diff := cmp.Diff([]any{"digest", s.Digest()}, l.Attrs()); diff != "" || l.Name() != "reference data" {
		t.Errorf("name %q, attrs mismatch (-want +got):\n%s", l.Name(), diff)
	}
}

// A holder of any type: a reload reports the value it replaced, concurrent
// reloads do not interleave, and a failed one keeps what is in force.
func TestLiveReloadsOneAtATime(t *testing.T) {
	t.Parallel()
	type bundle struct{ gen int }
	var (
		mu   sync.Mutex
		gen  int
		fail bool
	)
	load := func(context.Context) (*bundle, error) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return nil, errors.New("model file is not a model")
		}
		gen++
		return &bundle{gen: gen}, nil
	}
	l, err := NewLive(context.Background(), "model", load, func(b *bundle) []any { return []any{"gen", b.gen} })
	if err != nil {
		t.Fatal(err)
	}
	const reloads = 50
	var wg sync.WaitGroup
	replaced := make(chan int, reloads)
	for range reloads {
		wg.Go(func() {
			prev, next, err := l.Reload(context.Background())
			if err != nil || next.gen <= prev.gen {
				t.Errorf("reload: %v (prev %+v next %+v)", err, prev, next)
				return
			}
			replaced <- prev.gen
		})
	}
	wg.Wait()
	close(replaced)
	seen := map[int]bool{}
	for g := range replaced {
		if seen[g] {
			t.Errorf("generation %d replaced twice: reloads interleaved", g)
		}
		seen[g] = true
	}
	if got := l.Current().gen; got != reloads+1 {
		t.Errorf("in force: generation %d, want %d", got, reloads+1)
	}

	mu.Lock()
	fail = true
	mu.Unlock()
	before := l.Current()
	if err := l.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh of a failing load succeeded")
	}
	prev, next, err := l.Reload(context.Background())
	if err == nil || next != nil || prev != before || l.Current() != before {
		t.Errorf("failed reload: err %v, prev %+v, next %+v, in force %+v (want %+v kept)", err, prev, next, l.Current(), before)
	}
	if diff := cmp.Diff([]any{"gen", reloads + 1}, l.Attrs()); diff != "" {
		t.Errorf("attrs mismatch (-want +got):\n%s", diff)
	}
}
