package postgres

import (
	"testing"

	"github.com/gridflow/gridflow/pkg/storedjson"
)

// The warnings' reasons column (early warning, issue 20) tags every key.
func TestWarningReasonsAreTagged(t *testing.T) {
	t.Parallel()
	for _, f := range storedjson.Untagged(storedReasons{}) {
		t.Errorf("%s is stored without a json tag", f)
	}
}
