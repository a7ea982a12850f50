package classify

import (
	"cmp"
	"slices"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

// ItemModel is the second level: a learned model of the item inside a
// first-level class (package itemmodel), calibrated so that a filed item
// is right. Without one, the within_class keyword rules name the item.
type ItemModel interface {
	// Version identifies the item model.
	Version() string
	// Item decides the item of class for text, which the first-level
	// model gives at confidence classConf, given the items keyword rules
	// name in the class (hints, earliest named first).
	Item(class, text string, classConf float64, hints []string) ItemChoice
}

// ItemChoice is an item model's answer.
type ItemChoice struct {
	// Code is the item to file, "" for class only.
	Code string
	// Probability is the model's calibrated probability of Code.
	Probability float64
	// Covered is false when the model has nothing for the class: the
	// keyword rules decide as without a model.
	Covered bool
	// Agreed: Code is the item the keyword rule named.
	Agreed bool
}

// HintsIn lists the items within_class keyword rules name in class for
// the rules' result rr, earliest named first, within the opening window
// characters (0: anywhere): what the item model weighs.
func HintsIn(rr rules.Result, class string, ref *reference.Set, window int) []string {
	hs := slices.Clone(rr.Hints)
	slices.SortStableFunc(hs, func(a, b rules.Hint) int { return cmp.Compare(a.At, b.At) })
	var out []string
	for _, h := range hs {
		if fl, ok := ref.FirstLevel(h.Item); ok && fl.Code == class && (window <= 0 || h.At <= window) {
			out = append(out, h.Item)
		}
	}
	return out
}
