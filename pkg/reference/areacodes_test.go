package reference

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// AreaCodes is stored by every service. Its tags are dispatch's stored
// shape; intake, classify and feedback stored their own untagged Area
// structs (Go field names) before it, and those rows must read back.
func TestAreaCodesStoredShape(t *testing.T) {
	t.Parallel()
	want := AreaCodes{District: "310106", Street: "310106022", Community: "310106022001", Grid: "0"}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `{"district":"310106","street":"310106022","community":"310106022001","grid":"0"}` {
		t.Errorf("stored as %s", got)
	}
	for _, old := range []string{
		`{"District":"310106","Street":"310106022","Community":"310106022001","Grid":"0"}`,                 // classify, feedback
		`{"District":"310106","Street":"310106022","Community":"310106022001","Grid":"0","Resolution":""}`, // intake (Resolution is intake's own)
		string(b),
	} {
		var got AreaCodes
		if err := json.Unmarshal([]byte(old), &got); err != nil {
			t.Fatalf("%s: %v", old, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", old, diff)
		}
	}
	if b, _ := json.Marshal(AreaCodes{}); string(b) != `{}` {
		t.Errorf("zero AreaCodes stored as %s", b)
	}
}
