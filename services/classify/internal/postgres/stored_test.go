package postgres_test

import (
	"testing"

	"github.com/gridflow/gridflow/pkg/storedjson"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
)

// What the store keeps as JSON (cases, classifications, incidents, source_places and corrections bodies) names every key in a
// json tag, so renaming a Go field cannot change what is stored nor orphan the
// rows already there. The tags carry the Go names the rows were written with.
func TestStoredBodiesAreTagged(t *testing.T) {
	t.Parallel()
	for _, f := range storedjson.Untagged(classify.Record{}, classify.Classification{}, classify.Incident{}, classify.SourcePlace{}, classify.Correction{}) {
		t.Errorf("%s is stored without a json tag", f)
	}
}
