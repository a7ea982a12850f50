package rules_test

import (
	"testing"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

// FuzzParse: a rules file is refused or accepted, never a panic; accepted
// rules match any text.
func FuzzParse(f *testing.F) {
	ref, err := reference.LoadDefault()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(rules.DefaultFile()), "燃气泄漏")
	f.Add("rules: [{name: a, keywords: [x], urgency: urgent}]", "X")
	f.Add("rules: {", "")
	f.Fuzz(func(t *testing.T, yaml, text string) {
		rs, err := rules.Parse([]byte(yaml), "fuzz", ref)
		if err != nil {
			return
		}
		res := rs.Match(text)
		if res.Item != "" {
			if _, ok := ref.Item(res.Item); !ok {
				t.Errorf("matched unknown item %q", res.Item)
			}
		}
	})
}
