package postgres_test

import (
	"testing"

	"github.com/gridflow/gridflow/pkg/storedjson"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
)

// What the store keeps as JSON (submissions bodies) names every key in a
// json tag, so renaming a Go field cannot change what is stored nor orphan the
// rows already there. The tags carry the Go names the rows were written with.
func TestStoredBodiesAreTagged(t *testing.T) {
	t.Parallel()
	for _, f := range storedjson.Untagged(intake.Submission{}) {
		t.Errorf("%s is stored without a json tag", f)
	}
}
