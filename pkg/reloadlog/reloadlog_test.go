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

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/reloadlog"
	"github.com/gridflow/gridflow/pkg/testenv"

	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
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

// TestPage: the API's answer — Start records the first set, a SIGHUP's
// reload follows, pages are bounded and a bad page size or token is
// INVALID_ARGUMENT naming the field.
func TestPage(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t, "reloadlog_page_test", 4, reloadlog.Migrations)
	live, err := reference.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	digest := func() string { return live.Current().Digest() }
	l, hup, err := reloadlog.Start(ctx, pool, "feedback", live, digest, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := hup.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	got, next, err := l.Page(ctx, 1, "")
	if err != nil || len(got) != 1 || next == "" {
		t.Fatalf("first page = %v, %q, %v; want one record and a next page", got, next, err)
	}
	if r := got[0]; r.GetService() != "feedback" || r.GetBy() != "SIGHUP" || r.GetDigest() != digest() ||
		r.GetOutcome() != typesv1.ReferenceReloadOutcome_REFERENCE_RELOAD_OUTCOME_UNCHANGED || r.GetTime() == nil {
		t.Errorf("newest = %v, want feedback's unchanged SIGHUP reload", r)
	}
	got, next, err = l.Page(ctx, 0, next)
	if err != nil || len(got) != 1 || next != "" || got[0].GetOutcome() != typesv1.ReferenceReloadOutcome_REFERENCE_RELOAD_OUTCOME_STARTED {
		t.Fatalf("second page = %v, %q, %v; want the start and no next page", got, next, err)
	}
	for _, c := range []struct {
		size  int32
		token string
		field string
	}{{-1, "", "page_size"}, {10, "not-a-token", "page_token"}} {
		_, _, err := l.Page(ctx, c.size, c.token)
		if fault.KindOf(err) != fault.InvalidArgument || !strings.Contains(err.Error(), c.field) {
			t.Errorf("Page(%d, %q) = %v, want InvalidArgument naming %s", c.size, c.token, err, c.field)
		}
	}
}
