// Package warning is feedback's early warning (海因里希, issue 20): the
// serious incident is preceded by many small ones, so a place or a subject
// of a street whose count in a window rises against its own baseline past
// the rules (rules.go, data) raises a warning for the street's people, who
// acknowledge or dismiss it.
//
// A warning is identified by its key — a place (an address key, else the
// grid) or a subject (a catalogue item) of a street — and its window; its
// id is derived from them, so two evaluators can only ever make one. States:
// raised → acknowledged | dismissed; an acknowledged warning is not raised
// again for its key and window; a dismissed one returns (raised, one level
// up) only when its rise reaches the rise it was dismissed at times the
// rule's further step. A later window is a new warning.
//
// The package knows no grpc, pgx or nats: the store counts cases and
// keeps warnings (internal/postgres), the gRPC layer translates.
package warning

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/requestid"
)

// Kind is what a warning's key names.
type Kind string

// The kinds of key.
const (
	Place   Kind = "place"   // an address key, else the grid
	Subject Kind = "subject" // a catalogue item, within a street
)

// State is a warning's state.
type State string

// The states.
const (
	Raised       State = "raised"
	Acknowledged State = "acknowledged"
	Dismissed    State = "dismissed"
)

// Key identifies a warning: what rose, in which street and window.
type Key struct {
	Kind                   Kind
	Street, Key            string
	WindowStart, WindowEnd time.Time
}

// namespace makes warning ids (uuid v5 of the key).
var namespace = uuid.MustParse("7c3d0f0e-6b0a-4f55-9a8e-2f1c0a1e5b20")

// ID is the warning's id: the same key and window always give the same.
func (k Key) ID() string {
	return uuid.NewSHA1(namespace, fmt.Appendf(nil, "%s|%s|%s|%d", k.Kind, k.Street, k.Key, k.WindowStart.Unix())).String()
}

// District is the district of the key's street (the first six digits).
func (k Key) District() string {
	if len(k.Street) < 6 {
		return ""
	}
	return k.Street[:6]
}

// Reasons are why a warning was raised.
type Reasons struct {
	Count    int     // cases in the window so far
	Baseline float64 // mean cases per baseline window
	Rise     float64 // Count / max(Baseline, 1)
	CaseIDs  []string
	Rule     Rule
}

// Warning is one warning.
type Warning struct {
	ID    string
	Key   Key
	Label string // the item's name for a subject; the key for a place
	Reasons
	State    State
	Level    int // 1, and one more each time it returned after a dismissal
	RaisedAt time.Time
	// Who last acknowledged or dismissed it, when, and their note.
	ActedBy string
	ActedAt time.Time
	Note    string
	// DismissedRise is the rise it was last dismissed at (0: never).
	DismissedRise float64
}

// Count is a key's counts, as the store aggregates them for one span:
// Current in the window so far, Baseline over the baseline windows before.
type Count struct {
	Kind        Kind
	Street, Key string
	Label       string
	Current     int
	Baseline    int // total over the span's baseline windows
	// Places is how many distinct places the current cases lie at (for a
	// subject).
	Places  int
	CaseIDs []string // the current window's cases, at most MaxCaseIDs
}

// MaxCaseIDs bounds the cases a warning names.
const MaxCaseIDs = 100

// RiseOf is a count's rise over a baseline mean: a mean below one case
// per window counts as one, so a key new to a street rises by its count
// rather than without bound.
func RiseOf(current int, baselineMean float64) float64 {
	return float64(current) / max(baselineMean, 1)
}

// WindowStart is the start of the window of length w that holds t: windows
// are aligned to Monday 2024-01-01 00:00 Asia/Shanghai, so a day is a
// Shanghai day and a week runs Monday to Sunday.
func WindowStart(t time.Time, w time.Duration) time.Time {
	d := t.Sub(epoch)
	n := d / w
	if d < 0 && d%w != 0 {
		n--
	}
	return epoch.Add(n * w).UTC()
}

var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))

// Decision is what the evaluation does with a key.
type Decision int

// The decisions.
const (
	Keep   Decision = iota // nothing: below the rule, or already answered
	Raise                  // a new warning for the key and window
	Return                 // a dismissed warning comes back, a level up
)

// Decide applies rule r to a key's count and its warning in the window
// (nil when none). It is the whole of the rule: the evaluator writes what it
// says.
func Decide(r Rule, c Count, w *Warning) (Decision, Reasons) {
	mean := float64(c.Baseline) / float64(r.BaselineWindows)
	rs := Reasons{Count: c.Current, Baseline: mean, Rise: RiseOf(c.Current, mean), CaseIDs: c.CaseIDs, Rule: r}
	if c.Current < r.MinCount || rs.Rise < r.Rise {
		return Keep, rs
	}
	// A subject whose cases all lie at one place rose at that place: the
	// place's warning stands for it.
	if c.Kind == Subject && c.Places <= 1 {
		return Keep, rs
	}
	switch {
	case w == nil:
		return Raise, rs
	case w.State == Dismissed && rs.Rise >= w.DismissedRise*r.FurtherStep:
		return Return, rs
	}
	return Keep, rs
}

// EventType names a warning event.
type EventType string

// The events, as their payloads name them (warning.raised …).
const (
	EventRaised       EventType = "warning.raised"
	EventAcknowledged EventType = "warning.acknowledged"
	EventDismissed    EventType = "warning.dismissed"
)

// Event is a warning event to publish with the change that made it.
type Event struct {
	ID    string
	Type  EventType
	At    time.Time
	Actor string
	// Warning is the warning as the change left it.
	Warning Warning
}

// raisedEventID is a raising's event id: one per warning and level, so a
// raising written twice is published once (Nats-Msg-Id).
func raisedEventID(w *Warning) string {
	return uuid.NewSHA1(namespace, fmt.Appendf(nil, "raised|%s|%d", w.ID, w.Level)).String()
}

// Tx is what a change of warnings needs of the store, in one transaction.
type Tx interface {
	// Counts aggregates the keys with at least minCount cases in the window
	// that starts at start, over span s.
	Counts(ctx context.Context, s Span, start time.Time, minCount int) ([]Count, error)
	// Warnings loads the warnings of ids that exist, locked for update.
	Warnings(ctx context.Context, ids []string) (map[string]*Warning, error)
	// Save writes w (inserting or updating it) and enqueues e.
	Save(ctx context.Context, w *Warning, e Event) error
	// BeginRequest and SaveRequest keep a write request's first answer
	// (pkg/idempotency): repeat reports a request seen before, whose
	// warning id the answer is.
	BeginRequest(ctx context.Context, r Request) (warningID string, repeat bool, err error)
	SaveRequest(ctx context.Context, r Request, warningID string) error
}

// Request is an idempotent write request.
type Request struct {
	Principal, ID, Method string
	Content               any
}

// Filter selects warnings for List.
type Filter struct {
	State State
	Kind  Kind
	// Area is a district or street code ("": all); the caller's scope is
	// applied before.
	Area      string
	PageSize  int
	PageToken string
}

// Store keeps warnings.
type Store interface {
	InTx(ctx context.Context, fn func(Tx) error) error
	// Evaluation runs fn in a transaction only one evaluator at a time may
	// hold, across replicas; ran is false when another holds it now.
	Evaluation(ctx context.Context, fn func(Tx) error) (ran bool, err error)
	Get(ctx context.Context, id string) (*Warning, error)
	// List answers a page of warnings, newest raised first, and the next
	// page's token ("" when it is the last).
	List(ctx context.Context, f Filter) ([]Warning, string, error)
}

// Service evaluates and answers warnings.
type Service struct {
	store Store
	rules func() *Rules
	now   func() time.Time
}

// NewService returns the warning service over store, with the rules in
// force from rules.
func NewService(store Store, rules func() *Rules, now func() time.Time) *Service {
	return &Service{store: store, rules: rules, now: now}
}

// Evaluate compares every key's current window with its baseline under the
// rules in force and raises (or brings back) the warnings they call for.
// Only one evaluator runs at a time across replicas: ran is false when
// another was running, and it will have done the same work.
func (s *Service) Evaluate(ctx context.Context) (raised []Warning, ran bool, err error) {
	rules, now := s.rules(), s.now().UTC()
	ran, err = s.store.Evaluation(ctx, func(tx Tx) error {
		raised = raised[:0]
		for _, span := range rules.Spans() {
			start := WindowStart(now, span.Window)
			counts, err := tx.Counts(ctx, span, start, rules.MinCount(span))
			if err != nil {
				return err
			}
			type candidate struct {
				c    Count
				key  Key
				rule Rule
			}
			var cands []candidate
			ids := make([]string, 0, len(counts))
			for _, c := range counts {
				r := rules.For(c.Kind, c.Key)
				if r.Span() != span {
					continue
				}
				k := Key{Kind: c.Kind, Street: c.Street, Key: c.Key, WindowStart: start, WindowEnd: start.Add(span.Window)}
				cands = append(cands, candidate{c: c, key: k, rule: r})
				ids = append(ids, k.ID())
			}
			if len(cands) == 0 {
				continue
			}
			existing, err := tx.Warnings(ctx, ids)
			if err != nil {
				return err
			}
			for _, cd := range cands {
				w := existing[cd.key.ID()]
				d, reasons := Decide(cd.rule, cd.c, w)
				switch d {
				case Keep:
					continue
				case Raise:
					w = &Warning{ID: cd.key.ID(), Key: cd.key, Label: cd.c.Label, Level: 1}
				case Return:
					w.Level++
				}
				w.Reasons, w.State, w.RaisedAt = reasons, Raised, now
				if err := tx.Save(ctx, w, Event{ID: raisedEventID(w), Type: EventRaised, At: now, Actor: "system:feedback", Warning: *w}); err != nil {
					return err
				}
				raised = append(raised, *w)
			}
		}
		return nil
	})
	if err != nil || !ran {
		return nil, ran, err
	}
	return raised, true, nil
}

// reach reports whether the scope reaches a warning: a street's dispatcher
// its street's, a district's its district's, admin all.
func reach(sc policy.Scope, w *Warning) bool {
	return sc.Kind == policy.All || (sc.Kind == policy.Street || sc.Kind == policy.District) && sc.AllowsArea(w.Key.Street)
}

// checkID checks a warning id as a request names it.
func checkID(id string, vs *fault.Violations) {
	if _, err := uuid.Parse(id); err != nil {
		vs.Add("warning_id", "must be a warning id (a uuid)")
	}
}

// Get reads a warning within the caller's reach; one outside it and one
// that does not exist are the same refusal (admin is told NOT_FOUND).
func (s *Service) Get(ctx context.Context, sc policy.Scope, id string) (*Warning, error) {
	var vs fault.Violations
	if checkID(id, &vs); vs.Err() != nil {
		return nil, vs.Err()
	}
	w, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if w == nil {
		return nil, sc.Missing("warning "+id, fault.NotFoundf("warnings/"+id, "warning %s does not exist", id))
	}
	if !reach(sc, w) {
		return nil, policy.ErrDenied("warning " + id)
	}
	return w, nil
}

// Page sizes of List.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// List lists warnings within the caller's reach. An area outside it is
// PERMISSION_DENIED, never an empty page.
func (s *Service) List(ctx context.Context, sc policy.Scope, f Filter) ([]Warning, string, error) {
	var vs fault.Violations
	switch f.State {
	case "", Raised, Acknowledged, Dismissed:
	default:
		vs.Add("state", "unknown state %q", f.State)
	}
	switch f.Kind {
	case "", Place, Subject:
	default:
		vs.Add("kind", "must be place or subject, not %q", f.Kind)
	}
	freetext.Code("area_code", f.Area, 16, &vs)
	if f.PageSize < 0 {
		vs.Add("page_size", "must not be negative")
	}
	if err := vs.Err(); err != nil {
		return nil, "", err
	}
	f.PageSize = min(cmpOr(f.PageSize, DefaultPageSize), MaxPageSize)
	switch sc.Kind {
	case policy.All:
	case policy.Street, policy.District:
		if f.Area == "" {
			f.Area = sc.Area()
		}
		if !sc.AllowsArea(f.Area) {
			return nil, "", fault.New(fault.PermissionDenied, "area %s is outside the caller's %v", f.Area, sc)
		}
	default:
		return nil, "", fault.New(fault.PermissionDenied, "the caller's %v reads no warnings", sc)
	}
	return s.store.List(ctx, f)
}

func cmpOr(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

// MaxNoteChars bounds an acknowledgement's or dismissal's note.
const MaxNoteChars = 500

// Acknowledge takes a raised warning up.
func (s *Service) Acknowledge(ctx context.Context, p auth.Principal, sc policy.Scope, requestID, id, note string) (*Warning, error) {
	return s.act(ctx, p, sc, "AcknowledgeWarning", requestID, id, note, false)
}

// Dismiss judges a raised warning harmless; note is required.
func (s *Service) Dismiss(ctx context.Context, p auth.Principal, sc policy.Scope, requestID, id, note string) (*Warning, error) {
	return s.act(ctx, p, sc, "DismissWarning", requestID, id, note, true)
}

func (s *Service) act(ctx context.Context, p auth.Principal, sc policy.Scope, method, requestID, id, note string, dismiss bool) (*Warning, error) {
	var vs fault.Violations
	requestid.Check(requestID, &vs)
	checkID(id, &vs)
	freetext.Check("note", note, MaxNoteChars, dismiss, &vs)
	if err := vs.Err(); err != nil {
		return nil, err
	}
	// Whether the caller reaches the warning is asked before anything is
	// written, so a refusal says nothing the caller may not know.
	if _, err := s.Get(ctx, sc, id); err != nil {
		return nil, err
	}
	actor := p.Actor()
	req := Request{Principal: p.String(), ID: requestID, Method: method, Content: struct {
		ID   string `json:"id"`
		Note string `json:"note"`
	}{id, note}}
	err := s.store.InTx(ctx, func(tx Tx) error {
		if _, repeat, err := tx.BeginRequest(ctx, req); err != nil || repeat {
			return err
		}
		ws, err := tx.Warnings(ctx, []string{id})
		if err != nil {
			return err
		}
		w := ws[id]
		if w == nil {
			return fault.NotFoundf("warnings/"+id, "warning %s does not exist", id)
		}
		if w.State != Raised {
			return fault.New(fault.FailedPrecondition, "warning %s is %s: only a raised warning is acknowledged or dismissed", id, w.State)
		}
		now := s.now().UTC()
		w.ActedBy, w.ActedAt, w.Note = actor, now, note
		typ := EventAcknowledged
		if dismiss {
			w.State, w.DismissedRise, typ = Dismissed, w.Rise, EventDismissed
		} else {
			w.State = Acknowledged
		}
		if err := tx.Save(ctx, w, Event{ID: uuid.Must(uuid.NewV7()).String(), Type: typ, At: now, Actor: actor, Warning: *w}); err != nil {
			return err
		}
		return tx.SaveRequest(ctx, req, id)
	})
	if err != nil {
		return nil, err
	}
	return s.store.Get(ctx, id)
}
