package grpcapi

import (
	"errors"
	"testing"
)

// TestGenerationsKeepWhatIsInUse: an entry read again survives the newer
// generation filling up; one left alone for a whole generation is read
// again; a failed load is not kept.
func TestGenerationsKeepWhatIsInUse(t *testing.T) {
	g := newGenerations[int](2)
	loads := map[string]int{}
	get := func(key string) int {
		t.Helper()
		v, err := g.get(key, func() (int, error) {
			loads[key]++
			return len(key), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, k := range []string{"a", "bb", "ccc", "a", "dddd", "a", "bb"} {
		if v := get(k); v != len(k) {
			t.Fatalf("get(%q) = %d, want %d", k, v, len(k))
		}
	}
	// a: loaded once, then found in the older generation twice, and moved
	// up each time. bb: left alone while a generation filled, so dropped
	// and loaded again.
	want := map[string]int{"a": 1, "bb": 2, "ccc": 1, "dddd": 1}
	for k, n := range want {
		if loads[k] != n {
			t.Errorf("%q loaded %d times, want %d (all loads: %v)", k, loads[k], n, loads)
		}
	}
	boom := errors.New("boom")
	if _, err := g.get("e", func() (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("failed load: err = %v, want boom", err)
	}
	if v := get("e"); v != 1 || loads["e"] != 1 {
		t.Errorf("after a failed load: get(e) = %d with %d loads, want 1 and 1", v, loads["e"])
	}
}
