package classify_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
)

// The catalogue pages with pkg/pagetoken's tokens: every entry once, in
// file order, and a token it did not give out is InvalidArgument on
// page_token.
func TestListCataloguePages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	all, next, _, err := h.svc.ListCatalogue(as("admin"), classify.CatalogueFilter{PageSize: 500})
	if err != nil || next != "" {
		t.Fatalf("one page: %d entries, next %q, %v", len(all), next, err)
	}
	var want, got []string
	for _, it := range all {
		want = append(want, it.Code)
	}
	token := ""
	for pages := 0; ; pages++ {
		if pages > len(all) {
			t.Fatal("paging does not end")
		}
		items, next, _, err := h.svc.ListCatalogue(as("admin"), classify.CatalogueFilter{PageSize: 7, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			got = append(got, it.Code)
		}
		if token = next; token == "" {
			break
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("catalogue by page: mismatch (-want +got):\n%s", diff)
	}
	past := pagetoken.EncodeSeq(int64(len(all) + 1))
	keyset := pagetoken.Encode(time.Unix(0, 0), "01a200ca-f4ca-7ef6-bfec-53e536ff7bbf")
	for _, bad := range []string{"garbage!", "MTI", past, keyset} {
		_, _, _, err := h.svc.ListCatalogue(as("admin"), classify.CatalogueFilter{PageToken: bad})
		var f *fault.Error
		if !errors.As(err, &f) || f.Kind != fault.InvalidArgument || len(f.Violations) != 1 || f.Violations[0].Field != "page_token" {
			t.Errorf("token %q: err = %v, want InvalidArgument on page_token", bad, err)
		}
	}
}
