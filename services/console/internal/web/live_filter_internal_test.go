package web

import (
	"testing"

	"github.com/gridflow/gridflow/services/console/internal/live"
)

// TestListRequestAsksForAClassAsFeedbackReadsIt: the live queue's item
// filter takes an urban class as two digits; feedback's list reads a class
// as "<class>000" (as the hotline's Hxx000) and would answer "06" with no
// case, so the page asks for "06000". Items and hotline classes go as typed.
func TestListRequestAsksForAClassAsFeedbackReadsIt(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ typed, asked string }{{"06", "06000"}, {"06022", "06022"}, {"H01000", "H01000"}, {"H01010", "H01010"}, {"", ""}} {
		if got := listRequest(live.ScreenFilter{Item: c.typed}, 100).GetItemCode(); got != c.asked {
			t.Errorf("item %q: feedback asked for %q, want %q", c.typed, got, c.asked)
		}
	}
}
