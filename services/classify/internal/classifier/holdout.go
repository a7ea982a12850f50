package classifier

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
)

// Source is one part of a model's training data, as `classify train
// --source` mixed it.
type Source struct {
	// Kind is "history" (the city's labelled cases), "corrections"
	// (dispatchers' decisions exported by gridctl) or "builtin" (the
	// built-in corpus).
	Kind string `json:"kind"`
	// Name is the file read, or "builtin".
	Name   string  `json:"name"`
	Weight float64 `json:"weight"`
	// Examples is how many examples it gave; HeldOut how many of its
	// examples were left out because they belong to the held-out slice.
	Examples   int    `json:"examples"`
	HeldOut    int    `json:"held_out"`
	DataSHA256 string `json:"data_sha256"`
}

// HoldoutPerMille is the share of a city's labelled history in the held-out
// slice, in thousandths.
const HoldoutPerMille = 100

// InHoldout says whether the labelled case id belongs to the fixed held-out
// slice: about 10 % of ids, chosen by a hash of the id alone, so the slice is
// the same on every machine, in every run and as the history grows (a case
// never moves in or out). The gate measures models on it, and training from
// the history leaves it out, so a model is never judged on cases it has seen.
func InHoldout(id string) bool {
	sum := sha256.Sum256([]byte("gridflow-holdout\x00" + id))
	return binary.BigEndian.Uint64(sum[:8])%1000 < HoldoutPerMille
}

// SplitHoldout separates the held-out slice from the rest; examples without
// an id are never held out.
func SplitHoldout(examples []Example) (train, held []Example) {
	for _, e := range examples {
		if e.ID != "" && InHoldout(e.ID) {
			held = append(held, e)
		} else {
			train = append(train, e)
		}
	}
	return train, held
}

// Part is one source's examples before mixing.
type Part struct {
	Kind, Name string
	Weight     float64 // 0 means 1
	Examples   []Example
	// DropHoldout leaves the held-out slice out (a city's history).
	DropHoldout bool
}

// Mix makes one training set of several sources: each example weighed by
// its source, its label mapped by mapLabel (if not nil), its id prefixed by
// its source's kind so ids stay unique across sources, and the held-out
// slice left out where asked. It returns the examples and what each source
// gave, for the model to record.
func Mix(parts []Part, mapLabel func(string) (string, error)) ([]Example, []Source, error) {
	var (
		all  []Example
		info []Source
	)
	for _, p := range parts {
		w := p.Weight
		if w == 0 {
			w = 1
		}
		ex := slices.Clone(p.Examples)
		src := Source{Kind: p.Kind, Name: p.Name, Weight: w}
		if p.DropHoldout {
			var held []Example
			ex, held = SplitHoldout(ex)
			src.HeldOut = len(held)
		}
		for i := range ex {
			if mapLabel != nil {
				l, err := mapLabel(ex[i].Label)
				if err != nil {
					return nil, nil, fmt.Errorf("source %s %s, example %q: %w", p.Kind, p.Name, ex[i].ID, err)
				}
				ex[i].Label = l
			}
			ex[i].Weight = w
			ex[i].ID = p.Kind + ":" + ex[i].ID
		}
		sum := DataSHA256(ex)
		src.Examples, src.DataSHA256 = len(ex), hex.EncodeToString(sum[:])
		all = append(all, ex...)
		info = append(info, src)
	}
	if len(all) == 0 {
		return nil, nil, errors.New("the sources hold no examples")
	}
	return all, info, nil
}
