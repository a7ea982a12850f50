package reference_test

import (
	"testing"

	"github.com/gridflow/gridflow/pkg/reference"
)

func TestRecheckAssignee(t *testing.T) {
	t.Parallel()
	set, err := reference.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ grid, reporter, want string }{
		{"310106022001001", "w-other", "w-022001001"}, // the grid's worker, whoever reported
		{"310106022001001", "w-022001001", "w-022001001"},
		{"", "w-0017", "w-0017"},                // an unknown grid: the reporter
		{"310106099999999", "w-0017", "w-0017"}, // a grid with no worker: the reporter
	} {
		if got := set.RecheckAssignee(tc.grid, tc.reporter); got != tc.want {
			t.Errorf("RecheckAssignee(%q, %q) = %q, want %q", tc.grid, tc.reporter, got, tc.want)
		}
	}
}
