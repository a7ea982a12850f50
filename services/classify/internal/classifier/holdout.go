package classifier

import (
	"crypto/sha256"
	"encoding/binary"
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
