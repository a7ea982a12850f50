package grpcapi_test

import (
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/reloadlog"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
)

// TestListReferenceReloads: the loads the process recorded — its start and
// a SIGHUP reload — are read back over gRPC by admin and dispatchers, newest
// first and paged; a department may not read them; a bad page is
// INVALID_ARGUMENT naming the field.
func TestListReferenceReloads(t *testing.T) {
	e := setup(t)
	log := reloadlog.New(e.pool, "dispatch")
	dir := t.TempDir()
	live, err := reference.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	digest := func() string { return live.Current().Digest() }
	first := digest()
	if err := log.RecordStart(e.ctx, first); err != nil {
		t.Fatal(err)
	}
	rules, err := fs.ReadFile(reference.DefaultFS(), reference.FileRules)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, reference.FileRules), append([]byte("# 改版\n"), rules...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := log.Recorded(live, digest, slog.New(slog.DiscardHandler)).Refresh(e.ctx); err != nil {
		t.Fatal(err)
	}

	for _, p := range []string{"admin", "dispatcher:" + zj, "district:" + dis} {
		c, ctx := e.as(p)
		r, err := c.ListReferenceReloads(ctx, &dispatchv1.ListReferenceReloadsRequest{PageSize: 1})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		got := r.GetReloads()
		if len(got) != 1 || got[0].GetOutcome() != dispatchv1.ReferenceReloadOutcome_REFERENCE_RELOAD_OUTCOME_RELOADED ||
			got[0].GetBy() != "SIGHUP" || got[0].GetPreviousDigest() != first || got[0].GetDigest() != digest() ||
			got[0].GetService() != "dispatch" || got[0].GetTime() == nil || r.GetNextPageToken() == "" {
			t.Fatalf("%s: first page %v", p, r)
		}
		r, err = c.ListReferenceReloads(ctx, &dispatchv1.ListReferenceReloadsRequest{PageSize: 1, PageToken: r.GetNextPageToken()})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.GetReloads(); len(got) != 1 || got[0].GetBy() != "start" || got[0].GetDigest() != first ||
			got[0].GetOutcome() != dispatchv1.ReferenceReloadOutcome_REFERENCE_RELOAD_OUTCOME_STARTED || r.GetNextPageToken() != "" {
			t.Fatalf("%s: second page %v", p, r)
		}
	}

	c, ctx := e.as("department:" + zj + "-pcs")
	if _, err := c.ListReferenceReloads(ctx, &dispatchv1.ListReferenceReloadsRequest{}); code(err) != codes.PermissionDenied {
		t.Fatalf("a department: %v", err)
	}
	c, ctx = e.as("admin")
	for field, req := range map[string]*dispatchv1.ListReferenceReloadsRequest{
		"page_size":  {PageSize: -1},
		"page_token": {PageToken: "not-a-token"},
	} {
		_, err := c.ListReferenceReloads(ctx, req)
		if code(err) != codes.InvalidArgument {
			t.Fatalf("%s: %v", field, err)
		}
		var fields []string
		for _, d := range status.Convert(err).Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					fields = append(fields, v.GetField())
				}
			}
		}
		if len(fields) != 1 || fields[0] != field {
			t.Errorf("%s: violations on %v", field, fields)
		}
	}
}
