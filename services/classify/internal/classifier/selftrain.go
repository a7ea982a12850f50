package classifier

import (
	"fmt"
	"math"
	"regexp"
	"strings"
)

// SelfTrain configures self-training: a model is fitted on the labelled
// examples, labels Texts, and is fitted again with the texts it labelled
// confidently as extra examples of weight Weight. Within cross-validation
// this happens inside every fold, so the estimate stays honest.
//
// Confidence is read from the raw decision values, which exist at every
// step (calibration is fitted only after cross-validation): a text is taken
// when its best label's score reaches MinScore and every other label's score
// is below zero, i.e. exactly one of the one-vs-rest classifiers says yes.
type SelfTrain struct {
	// Texts are the unlabelled texts. Texts of the data a model is
	// evaluated on must be removed first (DropTexts): self-training on them
	// would grade the model on examples it was trained with.
	Texts    []string
	MinScore float64
	// Weight scales a pseudo-labelled example's penalty; in (0, 1].
	Weight float64
	// PerLabel, when positive, caps each label's pseudo-labelled texts at
	// PerLabel times its labelled examples, the most confident first.
	PerLabel float64
}

func (s SelfTrain) on() bool { return len(s.Texts) > 0 }

func (s SelfTrain) validate() error {
	if !s.on() {
		return nil
	}
	switch {
	case math.IsNaN(s.MinScore) || math.IsInf(s.MinScore, 0):
		return fmt.Errorf("self-training min score %v: must be a number", s.MinScore)
	case !(s.Weight > 0 && s.Weight <= 1):
		return fmt.Errorf("self-training weight %v: must be in (0, 1]", s.Weight)
	}
	return nil
}

// accept returns the label self-training gives a text with these decision
// values, and whether it is confident enough to take it.
func (s SelfTrain) accept(scores []float64) (int, bool) {
	best := argmax(scores)
	if scores[best] < s.MinScore {
		return 0, false
	}
	for l, v := range scores {
		if l != best && v >= 0 {
			return 0, false
		}
	}
	return best, true
}

var whitespace = regexp.MustCompile(`\s+`)

// NormaliseSpace is the form two texts are compared in when deciding they
// are the same message: every run of whitespace (ideographic space included)
// removed, since the same message is re-typed with and without spaces.
func NormaliseSpace(text string) string {
	return whitespace.ReplaceAllString(strings.ReplaceAll(text, "\u3000", " "), "")
}

// DropTexts returns texts without those that equal, after NormaliseSpace,
// the text of an example of any of the sets given, and how many it dropped.
// Self-training data has the evaluation data (and, for an honest
// cross-validation, the training data itself) removed this way.
func DropTexts(texts []string, sets ...[]Example) ([]string, int) {
	seen := make(map[string]bool)
	for _, set := range sets {
		for _, e := range set {
			seen[NormaliseSpace(e.Text)] = true
		}
	}
	out := make([]string, 0, len(texts))
	for _, t := range texts {
		if !seen[NormaliseSpace(t)] {
			out = append(out, t)
		}
	}
	return out, len(texts) - len(out)
}
