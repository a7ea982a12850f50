package convert

import (
	"cmp"

	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/classify/internal/classify"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
)

// FiguresOut maps held-out figures; nil stays nil.
func FiguresOut(f *classify.ModelFigures) *classifyv1.ModelFigures {
	if f == nil {
		return nil
	}
	return &classifyv1.ModelFigures{Accuracy: f.Accuracy, MacroF1: f.MacroF1, N: uint32(f.N), Holdout: f.Holdout, HoldoutSha256: f.HoldoutSHA256,
		ItemShare: f.ItemShare, ItemPrecision: f.ItemPrecision}
}

var modelStates = map[string]classifyv1.ModelState{
	classify.ModelLive:    classifyv1.ModelState_MODEL_STATE_LIVE,
	classify.ModelRetired: classifyv1.ModelState_MODEL_STATE_RETIRED,
	classify.ModelRefused: classifyv1.ModelState_MODEL_STATE_REFUSED,
}

// ModelOut maps a registry row.
func ModelOut(m *classify.ModelRecord) *classifyv1.Model {
	out := &classifyv1.Model{
		Version: m.Version, Origin: m.Origin, Labels: uint32(m.Labels), TrainedAt: wire.TimeOut(m.TrainedAt),
		Examples: uint32(m.Examples), DataSha256: m.DataSHA256, CvAccuracy: m.CVAccuracy, CvMacroF1: m.CVMacroF1,
		Figures: FiguresOut(m.Figures), AgainstVersion: m.AgainstVersion, Against: FiguresOut(m.Against),
		State: modelStates[m.State], Reason: m.Reason, DecidedBy: m.DecidedBy, DecidedAt: wire.TimeOut(m.DecidedAt),
		LiveBy: m.LiveBy, LiveAt: wire.TimeOut(m.LiveAt), Kind: cmp.Or(m.Kind, classify.ModelKindClass),
	}
	for _, s := range m.Sources {
		out.Sources = append(out.Sources, &classifyv1.ModelSource{Kind: s.Kind, Name: s.Name, Weight: s.Weight,
			Examples: uint32(s.Examples), HeldOut: uint32(s.HeldOut), DataSha256: s.DataSHA256})
	}
	return out
}
