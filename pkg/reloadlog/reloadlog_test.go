package reloadlog_test

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/reloadlog"
	"github.com/gridflow/gridflow/pkg/testenv"
)

// TestReloadsAreRecorded: the set a service starts with and every SIGHUP
// reload after it — unchanged, changed, refused — are recorded with who,
// the digests and the outcome, and listed back newest first, paged.
func TestReloadsAreRecorded(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t, "reloadlog_test", 4, reloadlog.Migrations)
	l := reloadlog.New(pool, "dispatch")

	dir := t.TempDir()
	live, err := reference.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	digest := func() string { return live.Current().Digest() }
	first := digest()
	if err := l.RecordStart(ctx, first); err != nil {
		t.Fatal(err)
	}
	r := l.Recorded(live, digest, slog.New(slog.DiscardHandler))
	if r.Name() != "reference data" {
		t.Errorf("name %q", r.Name())
	}

	// Nothing changed on disk.
	if err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	// The city edits its rules.
	rules, err := fs.ReadFile(reference.DefaultFS(), reference.FileRules)
	if err != nil {
		t.Fatal(err)
	}
	write := func(b []byte) {
		if err := os.WriteFile(filepath.Join(dir, reference.FileRules), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(append([]byte("# 2026-03 edition\n"), rules...))
	if err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	second := digest()
	if second == first {
		t.Fatal("the edited rules have the same digest")
	}
	// A keyword-only rule whose lead lacks the powers: refused, the set in
	// force stays.
	bad := strings.Replace(string(rules), "rules:\n", "rules:\n  - {name: kw, match: {keywords: [着火]}, lead: 310106-xfzd}\n", 1)
	write([]byte(bad))
	if err := r.Refresh(ctx); err == nil {
		t.Fatal("a rule leading without the power was loaded")
	}
	if digest() != second {
		t.Fatal("a failed reload changed the set in force")
	}

	type row struct {
		By, Digest, Previous string
		Outcome              reference.ReloadOutcome
		Failed               bool
	}
	rowsOf := func(rs []reference.Reload) []row {
		var out []row
		for _, x := range rs {
			if x.Service != "dispatch" || x.Instance == "" || x.At.IsZero() || x.ID == 0 {
				t.Errorf("record %+v lacks its service, instance, time or id", x)
			}
			out = append(out, row{x.By, x.Digest, x.Previous, x.Outcome, strings.Contains(x.Error, "lead 310106-xfzd lacks power")})
		}
		return out
	}
	page, next, err := l.List(ctx, 2, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []row{
		{"SIGHUP", second, second, reference.Failed, true},
		{"SIGHUP", second, first, reference.Reloaded, false},
	}
	if diff := cmp.Diff(want, rowsOf(page)); diff != "" || next == "" {
		t.Fatalf("first page mismatch (-want +got):\n%s\nnext %q", diff, next)
	}
	page, next, err = l.List(ctx, 2, next)
	if err != nil {
		t.Fatal(err)
	}
	want = []row{
		{"SIGHUP", first, first, reference.Unchanged, false},
		{"start", first, "", reference.Started, false},
	}
	if diff := cmp.Diff(want, rowsOf(page)); diff != "" || next != "" {
		t.Fatalf("second page mismatch (-want +got):\n%s\nnext %q", diff, next)
	}
	if _, _, err := l.List(ctx, 2, "not-a-token"); !errors.Is(err, reloadlog.ErrPageToken) {
		t.Errorf("a bad page token: %v", err)
	}
}
