package address

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Record is stored by intake and dispatch. Its tags are dispatch's stored
// shape; intake stored an untagged struct of the same fields (Go field
// names) before it, and those rows must read back.
func TestRecordStoredShape(t *testing.T) {
	t.Parallel()
	want := Record{Raw: "共和新路1234弄5号201室", District: "静安区", Road: "共和新路", Lane: 1234, Number: 5, Room: "201",
		Key: "静安区|共和新路|1234|5|"}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	const stored = `{"raw":"共和新路1234弄5号201室","district":"静安区","road":"共和新路","lane":1234,"number":5,"room":"201","key":"静安区|共和新路|1234|5|"}`
	if string(b) != stored {
		t.Errorf("stored as %s", b)
	}
	for _, old := range []string{
		// intake, before the shared type
		`{"Raw":"共和新路1234弄5号201室","District":"静安区","Street":"","Road":"共和新路","Lane":1234,"Number":5,"Building":"","Room":"201","Compound":"","Shop":"","Key":"静安区|共和新路|1234|5|"}`,
		stored,
	} {
		var got Record
		if err := json.Unmarshal([]byte(old), &got); err != nil {
			t.Fatalf("%s: %v", old, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", old, diff)
		}
	}
}
