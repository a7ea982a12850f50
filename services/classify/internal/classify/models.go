package classify

import (
	"context"
	"errors"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
)

// Model states in the registry. Exactly one model is live at a time: the one
// every replica serves.
const (
	ModelLive    = "live"
	ModelRetired = "retired" // was live, replaced through the gate
	ModelRefused = "refused" // the gate refused it; its figures say why
)

// Model kinds in the registry (issue 15, the item model): the first-level
// class model and the item model inside each class are registered side by
// side, one live of each; the gate judges each on its own figures.
const (
	ModelKindClass = "class"
	ModelKindItems = "items"
)

// ModelFigures are a model's scores on the fixed held-out slice of the
// city's labelled cases, at the first level (the class a prediction counts
// under), as the promotion gate compares them.
type ModelFigures struct {
	Accuracy float64 `json:"accuracy"`
	MacroF1  float64 `json:"macro_f1"`
	N        int     `json:"n"`
	// Holdout names the slice: its file and the hash of its examples.
	Holdout       string `json:"holdout"`
	HoldoutSHA256 string `json:"holdout_sha256"`
	// An item model's figures (issue 15): the served decision (the live
	// class model, then this item model) on the held-out slice of the
	// hand-read item labels — the share of its N messages filed under an
	// item, and the share of those filed under the labelled one. Accuracy
	// and MacroF1 are then the served decision's first-level accuracy and
	// zero.
	ItemShare     float64 `json:"item_share,omitempty"`
	ItemPrecision float64 `json:"item_precision,omitempty"`
}

// ModelSource is one part of a model's training data.
type ModelSource struct {
	Kind       string  `json:"kind"`
	Name       string  `json:"name"`
	Weight     float64 `json:"weight"`
	Examples   int     `json:"examples"`
	HeldOut    int     `json:"held_out"`
	DataSHA256 string  `json:"data_sha256"`
}

// ModelRecord is a model's row in the registry: what it is, what it was
// trained on, how it scored and what the gate decided.
type ModelRecord struct {
	Version string
	// Kind is ModelKindClass or ModelKindItems ("" reads as class).
	Kind string
	// Origin is where the model was loaded from: its file, or "default".
	Origin     string
	Labels     int
	TrainedAt  time.Time
	Examples   int
	DataSHA256 string
	Sources    []ModelSource
	CVAccuracy float64
	CVMacroF1  float64
	// Figures are the model's on the held-out slice (nil: not measured,
	// e.g. the first model of a city without a held-out slice); Against
	// the live model's on the same slice when the gate judged this one.
	Figures        *ModelFigures
	Against        *ModelFigures
	AgainstVersion string
	State          string
	// Reason says why the gate decided as it did.
	Reason string
	// DecidedBy and DecidedAt: who asked (a principal, "start", "SIGHUP",
	// "retrain") and when the last decision on this model was taken.
	DecidedBy string
	DecidedAt time.Time
	// LiveBy and LiveAt: who made it live, and when (zero if never).
	LiveBy string
	LiveAt time.Time
}

// ModelFilter pages through the registry.
type ModelFilter struct {
	PageSize  int
	PageToken string
}

// ModelRegistry is the registry of models in classify's schema: one truth
// for every replica about which model is live.
type ModelRegistry interface {
	// LiveModel returns the live class model's record and its encoded form;
	// ErrNotFound when no model has been made live yet.
	LiveModel(ctx context.Context) (*ModelRecord, []byte, error)
	// LiveVersion returns the live model's version ("" when none), cheaply.
	LiveVersion(ctx context.Context) (string, error)
	// ModelState returns a model's state, "" when the registry does not
	// know it.
	ModelState(ctx context.Context, version string) (string, error)
	// RecordModel records a decision on a model: a live one (payload
	// required) replaces the live model, which is retired; a refused one is
	// recorded with its figures and leaves the live model alone.
	RecordModel(ctx context.Context, rec *ModelRecord, payload []byte) error
	// LiveItemModel and LiveItemVersion are LiveModel and LiveVersion for
	// the live item model (issue 15).
	LiveItemModel(ctx context.Context) (*ModelRecord, []byte, error)
	LiveItemVersion(ctx context.Context) (string, error)
	// ListModels lists the registry, most recently decided first.
	ListModels(ctx context.Context, f ModelFilter) ([]ModelRecord, string, error)
}

// ListModels lists the model registry, most recently decided first: admin,
// and street and district dispatchers (who see why cases were filed as
// they were).
func (s *Service) ListModels(ctx context.Context, f ModelFilter) ([]ModelRecord, string, error) {
	if _, _, err := policy.Authorize(ctx, opListModels); err != nil {
		return nil, "", err
	}
	var err error
	if f.PageSize, err = pageSize(f.PageSize, 50, 500); err != nil {
		return nil, "", err
	}
	if s.deps.Models == nil {
		return nil, "", fault.New(fault.FailedPrecondition, "this classify runs without a model registry")
	}
	return s.deps.Models.ListModels(ctx, f)
}

// Retrain trains a new model from the city's history and the dispatchers'
// corrections and offers it to the gate; admin only. A refusal is
// FailedPrecondition with the figures, and the live model stays.
func (s *Service) Retrain(ctx context.Context) (ReloadResult, error) {
	if _, _, err := policy.Authorize(ctx, opRetrainModel); err != nil {
		return ReloadResult{}, err
	}
	if s.deps.Retrain == nil {
		return ReloadResult{}, fault.New(fault.FailedPrecondition, "retraining is not configured")
	}
	res, err := s.deps.Retrain(ctx)
	var fe *fault.Error
	switch {
	case err == nil, errors.As(err, &fe):
		return res, err
	case errors.Is(err, ErrRefused):
		// The refusal's text is the gate's figures and reason, meant for
		// the caller.
		return res, fault.New(fault.FailedPrecondition, "%v", err)
	}
	return res, err
}

// ErrRefused marks the gate's refusal of a model.
var ErrRefused = errors.New("refused by the gate")
