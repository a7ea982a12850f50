package classify

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

// Config holds the service's tunables (DESIGN.md: configuration with
// shipped defaults).
type Config struct {
	// ReviewThreshold: a model's item below this confidence is not trusted.
	ReviewThreshold float64
	// ClassThreshold: when the item is not trusted but the summed
	// confidence of a first-level class reaches this, the case is filed
	// under the class code. Above 1 turns the step off.
	ClassThreshold float64
	// ItemThreshold: a case whose first-level class the model gives at
	// least this confidence is filed under the item a within_class keyword
	// rule names in that class; below it the case is filed under the class.
	// Above 1 turns the step off.
	ItemThreshold float64
	// ItemWindow: only a within_class keyword among a message's first
	// ItemWindow characters (its title and opening lines) names its item;
	// 0 looks anywhere.
	ItemWindow int
	// ScopeThreshold: when a within_class keyword rule names an item of a
	// class the model cannot predict at all (a city model trained on other
	// classes), the case is out of the model's scope and goes to review,
	// unless the model's class confidence reaches this. Above 1: always
	// review such a case.
	ScopeThreshold float64
	// ReviewTimeout is how long a case waits for a dispatcher before it is
	// filed under the street desk's catch-all item.
	ReviewTimeout time.Duration
	// IncidentThreshold is the number of reports at which an incident's
	// urgency rises one step.
	IncidentThreshold int
	// LinkWindow is how close in time incidents of different subjects at one
	// place must be to be linked to one source place (归因).
	LinkWindow time.Duration
	// CellSize is the side of the cells coordinates are compared in, metres.
	CellSize float64
	// RepeatLabel is the label the primary case gets when its incident
	// reaches the threshold (routing rules match it).
	RepeatLabel string
	// Choices is how many of the model's choices a reviewer is offered.
	Choices int
}

// DefaultConfig returns the shipped defaults.
func DefaultConfig() Config {
	return Config{
		ReviewThreshold:   0.3,
		ClassThreshold:    0.6,
		ItemThreshold:     0.5,
		ItemWindow:        150,
		ScopeThreshold:    0.9,
		ReviewTimeout:     30 * time.Minute,
		IncidentThreshold: 5,
		LinkWindow:        24 * time.Hour,
		CellSize:          DefaultCellSize,
		RepeatLabel:       "重复投诉",
		Choices:           5,
	}
}

// Deps are what the service reads that may be swapped at run time (SIGHUP,
// ReloadModel): each func returns what is current.
type Deps struct {
	Reference func() *reference.Set
	Rules     func() *rules.Set
	// Model may return nil: then no model decides and cases without a rule
	// or a patrol code go to review.
	Model func() Model
	// Items is the item model (issue 15, the item inside a class); it
	// may be nil or return nil: then within_class keyword rules name items.
	Items func() ItemModel
	// Reload reloads the model, rules and reference data (ReloadModel).
	Reload func(ctx context.Context) (ReloadResult, error)
	// Models is the model registry (ListModels); nil without one.
	Models ModelRegistry
	// Retrain trains a model from the history and the corrections and
	// offers it to the gate (RetrainModel); nil without retraining.
	Retrain func(ctx context.Context) (ReloadResult, error)
	// DistrictName names a district code for address comparisons; by
	// default the reference data's name ("" for an unknown code).
	DistrictName func(code string) string
	Now          func() time.Time
	NewID        func() string
}

// ReloadResult describes what a reload loaded.
type ReloadResult struct {
	ModelVersion, PreviousModelVersion, Source string
	Labels                                     int
	ReferenceDigest                            string
	KeywordRules                               int
	// Figures are the model's on the held-out slice when the gate measured
	// it (nil otherwise); Against the previous live model's.
	Figures, Against *ModelFigures
	// The item model served after the reload ("" none) and before, and
	// the gate's item figures when it judged one (issue 15).
	ItemModelVersion, PreviousItemModelVersion string
	ItemFigures, ItemAgainst                   *ModelFigures
}

// Service classifies cases and keeps incidents.
type Service struct {
	cfg      Config
	store    Store
	deps     Deps
	subjects atomic.Pointer[subjects]
}

// New returns a service.
func New(cfg Config, store Store, deps Deps) *Service {
	def := DefaultConfig()
	if cfg.Choices <= 0 {
		cfg.Choices = def.Choices
	}
	if cfg.CellSize <= 0 {
		cfg.CellSize = def.CellSize
	}
	if cfg.IncidentThreshold <= 0 {
		cfg.IncidentThreshold = def.IncidentThreshold
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.NewID == nil {
		deps.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if deps.Model == nil {
		deps.Model = func() Model { return nil }
	}
	if deps.Items == nil {
		deps.Items = func() ItemModel { return nil }
	}
	if deps.DistrictName == nil {
		ref := deps.Reference
		deps.DistrictName = func(code string) string {
			if a, ok := ref().Area(code); ok {
				return a.Name
			}
			return ""
		}
	}
	return &Service{cfg: cfg, store: store, deps: deps}
}

// Config returns the configuration in use.
func (s *Service) Config() Config { return s.cfg }

// Receive classifies a new case (case.received or case.answered) inside tx:
// it is filed under an item and possibly grouped into an incident, or it
// enters the review queue with a fallback timer. A case already known is
// left alone, so a re-published event changes nothing.
func (s *Service) Receive(ctx context.Context, tx Tx, c Case) error {
	ref, rs := s.deps.Reference(), s.deps.Rules()
	d := s.decide(&c, ref, rs, s.deps.Model())
	now := s.deps.Now()
	rec := &Record{Case: c, ModelVersion: d.modelVer, RuleUrgency: d.ruleUrgency, RuleLabels: d.labels,
		Where: s.casePlace(&c)} // issue 20, places: kept for the place history
	if !d.found && c.Answered {
		// A consultation is classified for statistics whatever the model
		// says; it never waits for a reviewer.
		d.item, d.found, d.method = ref.CatchAll(reference.TreeHotline), true, MethodModel
	}
	if !d.found {
		rec.BaseUrgency = urgencyFor(c.Urgency, d.ruleUrgency, reference.Item{})
		rec.Review = &Review{State: ReviewWaiting, QueuedAt: now, FallbackAt: now.Add(s.cfg.ReviewTimeout),
			Choices: d.choices, ModelVersion: d.modelVer}
		created, err := tx.CreateCase(ctx, rec)
		if err != nil || !created {
			return err
		}
		if err := tx.ScheduleFallback(ctx, c.ID, rec.Review.FallbackAt); err != nil {
			return err
		}
		return tx.Emit(ctx, ReviewNeeded{Case: c, Review: *rec.Review, Urgency: rec.BaseUrgency})
	}
	grouping := !c.Answered && !c.SelfDisposed && groupable(d.item) // self-disposed: issue 20
	var place Place
	if grouping {
		place = s.placeOf(&c) // normalised once: locked on, then grouped at
		if keys := place.LockKeys(s.cfg.CellSize); len(keys) > 0 && !placesHeld(ctx) {
			if err := tx.LockPlaces(ctx, keys); err != nil {
				return err
			}
		}
	}
	rec.BaseUrgency = urgencyFor(c.Urgency, d.ruleUrgency, d.item)
	cls := &Classification{
		CaseID: c.ID, CaseNumber: c.Number, Version: 1,
		ItemCode: d.item.Code, ItemName: d.item.Name, HotlineClass: d.item.HotlineClass,
		Label: d.label, Confidence: d.confidence, ModelVersion: d.modelVer,
		Urgency: rec.BaseUrgency, Dispatchable: !c.Answered, Method: d.method,
		Labels: d.labels, Reason: d.reason, ClassifiedAt: now, Actor: SystemActor,
	}
	if c.Answered {
		cls.Reason = joinReason(cls.Reason, "answered on the call: classified for statistics, not dispatched")
	}
	created, err := tx.CreateCase(ctx, rec)
	if err != nil || !created {
		return err
	}
	var evs []Event
	if grouping {
		if evs, err = s.group(ctx, tx, rec, cls, d.item, place, now); err != nil {
			return err
		}
	}
	rec.Current = cls
	if err := tx.AddVersion(ctx, cls); err != nil {
		return err
	}
	if err := tx.SaveCase(ctx, rec); err != nil {
		return err
	}
	return tx.Emit(ctx, append([]Event{Classified{Classification: *cls, Case: c}}, evs...)...)
}

// LockKeys are the place locks Receive may take for c (Place.LockKeys),
// for a caller that handles several cases in one transaction and takes
// all their locks first, in one order, so that two such transactions
// cannot deadlock; it then calls Receive with PlacesHeld, which does not
// take them again. A consultation answered on the call is never grouped
// and has none.
func (s *Service) LockKeys(c Case) []string {
	if c.Answered {
		return nil
	}
	return s.placeOf(&c).LockKeys(s.cfg.CellSize)
}

// orderBlock is the side, in cells, of the blocks OrderKey routes cases
// with a point by.
const orderBlock = 8

// OrderKey is what a consumer with several workers routes c by, so that
// cases whose place locks (LockKeys) would meet go to one worker, which
// takes them one batch after another, rather than to several whose batches
// each hold their locks until they commit and wait on one another — which
// left one worker of four busy under load (issue 17). A case with a point
// goes by the block of orderBlock×orderBlock cells its cell lies in (two
// cases whose neighbour cells meet are at most two cells apart: one block,
// unless a block's edge runs between them); one with an address only by
// its house number when it has one, a shop named or not (a report naming a
// shop holds the site exclusively and one with only a number holds it
// shared: they meet there, and those at one number — one problem written
// two ways — must keep the order they came in), else by its site (the
// reports at other numbers of a road hold the road only shared, and never
// wait for each other: by their numbers they spread over the workers; a
// road by its site alone put a city's busiest road on one worker, and
// halved make bench's sustained rate, whose orders come on six roads);
// one with neither (no place lock) by its id. The locks still decide: this
// only keeps most meetings on one worker, and with them the order the
// reports of one place came in.
func (s *Service) OrderKey(c Case) string {
	if c.Answered {
		return "case:" + c.ID
	}
	p := s.placeOf(&c)
	switch {
	case p.Cell != nil:
		return fmt.Sprintf("block:%d:%d", floorDiv(p.Cell.I, orderBlock), floorDiv(p.Cell.J, orderBlock))
	case p.Site != "":
		p.Shop = "" // a shop named or not: its number's lock, else its site's
		return p.addressKey()
	default:
		return "case:" + c.ID
	}
}

// floorDiv is a/b rounded down (cells south or west of the origin are
// negative).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// FallbackTree is the catalogue tree whose catch-all a case falls back to:
// the urban tree for a grid worker's report, the hotline tree otherwise.
func FallbackTree(src reference.Source) reference.Tree {
	if src == reference.FromPatrol {
		return reference.TreeUrban
	}
	return reference.TreeHotline
}

// ReviewTimedOut files a case nobody reviewed in time under the street
// desk's catch-all item, so it is routed anyway; the review stays in the
// queue, marked unreviewed. A case no longer waiting is left alone.
func (s *Service) ReviewTimedOut(ctx context.Context, tx Tx, caseID string) error {
	rec, err := tx.GetCase(ctx, caseID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if rec.Review == nil || rec.Review.State != ReviewWaiting {
		return nil
	}
	now := s.deps.Now()
	item := s.deps.Reference().CatchAll(FallbackTree(rec.Case.Source))
	cls := &Classification{
		CaseID: rec.Case.ID, CaseNumber: rec.Case.Number, Version: rec.Version() + 1,
		ItemCode: item.Code, ItemName: item.Name, HotlineClass: item.HotlineClass, Confidence: 0,
		ModelVersion: rec.ModelVersion, Urgency: urgencyFor(rec.Case.Urgency, rec.RuleUrgency, item),
		Dispatchable: !rec.Case.Answered, Method: MethodReviewTimeout, Labels: rec.RuleLabels, Unreviewed: true,
		Reason: fmt.Sprintf("not reviewed within %s: filed under the street desk's catch-all %s %s",
			s.cfg.ReviewTimeout, item.Code, item.Name),
		ClassifiedAt: now, Actor: SystemActor,
	}
	rec.Review.State = ReviewTimedOut
	rec.Current = cls
	if err := tx.AddVersion(ctx, cls); err != nil {
		return err
	}
	if err := tx.SaveCase(ctx, rec); err != nil {
		return err
	}
	return tx.Emit(ctx, Classified{Classification: *cls, Case: rec.Case})
}

// newID returns a fresh id.
func (s *Service) newID() string { return s.deps.NewID() }

// refile writes a new classification version filing rec under item: the
// case leaves its incident when the item changes (its incident's next report
// becomes primary if it was the primary) and is grouped anew.
func (s *Service) refile(ctx context.Context, tx Tx, rec *Record, item reference.Item, urgency reference.Urgency,
	method Method, actor, reason string) (*Classification, []Event, error) {
	now := s.deps.Now()
	var evs []Event
	cur := rec.Current
	// The same subject (not only the same item) keeps the case in its
	// incident: 06020 and H04001 are one noise problem.
	stays := cur != nil && cur.IncidentID != "" && s.Subject(cur.ItemCode) == s.Subject(item.Code)
	if cur != nil && cur.IncidentID != "" && !stays {
		e, err := s.leave(ctx, tx, rec, now)
		if err != nil {
			return nil, nil, err
		}
		evs = append(evs, e...)
	}
	cls := &Classification{
		CaseID: rec.Case.ID, CaseNumber: rec.Case.Number, Version: rec.Version() + 1,
		ItemCode: item.Code, ItemName: item.Name, HotlineClass: item.HotlineClass, Confidence: 1,
		ModelVersion: rec.ModelVersion, Urgency: urgencyFor(rec.Case.Urgency, rec.RuleUrgency, item),
		Dispatchable: !rec.Case.Answered, Method: method, Labels: rec.RuleLabels, Reason: reason,
		ClassifiedAt: now, Actor: actor,
	}
	if stays {
		cls.IncidentID, cls.PrimaryCaseID, cls.IncidentReports = cur.IncidentID, cur.PrimaryCaseID, cur.IncidentReports
		cls.Dispatchable = cur.Dispatchable
		cls.Labels = cur.Labels
		if inc, err := tx.GetIncident(ctx, cur.IncidentID); err == nil && inc.PrimaryCaseID == rec.Case.ID {
			cls.Urgency = rules.Max(cls.Urgency, inc.Urgency)
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, nil, err
		}
	} else if !rec.Case.Answered && !rec.Case.SelfDisposed && groupable(item) { // self-disposed: issue 20
		e, err := s.group(ctx, tx, rec, cls, item, s.placeOf(&rec.Case), now)
		if err != nil {
			return nil, nil, err
		}
		evs = append(evs, e...)
	}
	if urgency != "" {
		cls.Urgency = urgency
	}
	rec.Current = cls
	if err := tx.AddVersion(ctx, cls); err != nil {
		return nil, nil, err
	}
	if err := tx.SaveCase(ctx, rec); err != nil {
		return nil, nil, err
	}
	return cls, append([]Event{Classified{Classification: *cls, Case: rec.Case}}, evs...), nil
}

// notFound is the fault for an unknown case.
func notFound(caseID string) error {
	return fault.NotFoundf("cases/"+caseID, "classify knows no case %q", caseID)
}

type placesHeldKey struct{}

// PlacesHeld tells Receive that its transaction holds the case's place
// locks (LockKeys) already: one round trip a case fewer (issue 17).
func PlacesHeld(ctx context.Context) context.Context {
	return context.WithValue(ctx, placesHeldKey{}, true)
}

func placesHeld(ctx context.Context) bool { return ctx.Value(placesHeldKey{}) != nil }
