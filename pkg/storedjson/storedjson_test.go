package storedjson

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type inner struct {
	Tagged   string `json:"tagged"`
	Untagged int
}

type Embedded struct {
	Promoted string
}

type outer struct {
	Embedded
	ID      string            `json:"ID"`
	At      time.Time         `json:"at"` // owns its form
	Inners  []*inner          `json:"inners"`
	ByKey   map[string]inner  `json:"by_key"`
	Skipped inner             `json:"-"`
	Opts    string            `json:",omitempty"`
	Any     any               `json:"any"`
	Self    *outer            `json:"self"` // recursion ends
	hidden  inner             // unexported: never written
	Labels  map[string]string `json:"labels"`
}

func TestUntagged(t *testing.T) {
	t.Parallel()
	_ = outer{}.hidden
	got := Untagged(outer{}, &inner{})
	want := []string{
		"storedjson.Embedded.Promoted",
		"storedjson.inner.Untagged",
		"storedjson.outer.Opts",
		"storedjson.outer.Any is an interface",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Untagged: mismatch (-want +got):\n%s", diff)
	}
	if got := Untagged(inner{Tagged: "x"}, time.Time{}); len(got) != 1 {
		t.Errorf("Untagged(inner) = %v, want one field", got)
	}
}
