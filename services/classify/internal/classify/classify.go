// Package classify is the domain of the classify service: every case gets a
// catalogue item (keyword rules, then a patrol report's own code, then the
// model, else a dispatcher's review with a timed fallback to the street
// desk's catch-all), and reports of one problem become one incident
// (duplicates: the same subject at the same place within the item's window)
// while incidents of different subjects at one place are linked to that
// source place (归因).
//
// It knows no gRPC, SQL or NATS: it works through a Store whose Tx is one
// database transaction, and emits domain events that the adapters turn into
// protobuf envelopes in the outbox of that same transaction.
package classify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/gridflow/gridflow/pkg/geo"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
)

// Case is what classify knows of a case: the facts of case.received (or
// case.answered).
type Case struct {
	ID     string `json:"ID"`
	Number string `json:"Number"`
	// HotlineOrderNo is the hotline's order number of a work order ("" for
	// other sources): people look a case up by it.
	HotlineOrderNo string               `json:"HotlineOrderNo"`
	Source         reference.Source     `json:"Source"`
	AppealType     reference.AppealType `json:"AppealType"`
	Title          string               `json:"Title"`
	Content        string               `json:"Content"`
	// Urgency as submitted (the hotline may say urgent); "" is normal.
	Urgency reference.Urgency `json:"Urgency"`
	// Area: unknown levels are reference.Unknown ("0").
	Area reference.AreaCodes `json:"Area"`
	// Address is the address as given (raw); AddressKey intake's key for it.
	Address    string     `json:"Address"`
	AddressKey string     `json:"AddressKey"`
	Location   *geo.Point `json:"Location"`
	// CatalogueCode is the code a grid worker picked.
	CatalogueCode string `json:"CatalogueCode"`
	// Answered: a consultation answered on the call (case.answered): it is
	// classified for statistics and never dispatched or grouped.
	Answered   bool      `json:"Answered"`
	ReceivedAt time.Time `json:"ReceivedAt"`
	// PrivateLocation (issue 20, places): the caller said the problem is
	// at their own home; its place stops at the lane (CasePlace).
	PrivateLocation bool      `json:"PrivateLocation,omitempty"`
	AcceptedAt      time.Time `json:"AcceptedAt"`

	// SelfDisposed: a patrol report settled on the spot (issue 20). It is
	// classified as usual (place history counts it) but never grouped: a
	// case that is not dispatched must not become an incident's primary
	// that later reports would wait on.
	SelfDisposed bool `json:"SelfDisposed,omitempty"`
}

// Text is what rules and the model read: the title and the content.
func (c *Case) Text() string {
	switch {
	case c.Title == "":
		return c.Content
	case c.Content == "":
		return c.Title
	}
	return c.Title + "\n" + c.Content
}

// Method says what chose a classification's item.
type Method string

// Methods.
const (
	MethodRule          Method = "keyword_rule"
	MethodPatrolCode    Method = "patrol_code"
	MethodModel         Method = "model"
	MethodModelClass    Method = "model_class"
	MethodReview        Method = "review"
	MethodReviewTimeout Method = "review_timeout"
	MethodReclassified  Method = "reclassified"
)

// Classification is one version of a case's classification; case.classified
// carries it.
type Classification struct {
	CaseID     string `json:"CaseID"`
	CaseNumber string `json:"CaseNumber"`
	Version    int    `json:"Version"`
	ItemCode   string `json:"ItemCode"`
	ItemName   string `json:"ItemName"`
	// Label is the model's label that decided, "" when no model decided.
	Label      string  `json:"Label"`
	Confidence float64 `json:"Confidence"`
	// ModelVersion is the model consulted for the case, "" when none was.
	ModelVersion    string            `json:"ModelVersion"`
	Urgency         reference.Urgency `json:"Urgency"`
	IncidentID      string            `json:"IncidentID"`
	PrimaryCaseID   string            `json:"PrimaryCaseID"`
	IncidentReports int               `json:"IncidentReports"`
	Dispatchable    bool              `json:"Dispatchable"`
	Method          Method            `json:"Method"`
	Labels          []string          `json:"Labels"`
	Reason          string            `json:"Reason"`
	Unreviewed      bool              `json:"Unreviewed"`
	HotlineClass    string            `json:"HotlineClass"`
	ClassifiedAt    time.Time         `json:"ClassifiedAt"`
	// Actor is the principal ("role[:subject]") who decided; system:classify
	// for automatic versions.
	Actor string `json:"Actor"`
}

// SystemActor is the principal of classifications classify makes itself.
const SystemActor = "system:classify"

// ReviewState is where a case is in the review queue.
type ReviewState string

// Review states.
const (
	ReviewWaiting  ReviewState = "waiting"
	ReviewTimedOut ReviewState = "timed_out"
	ReviewResolved ReviewState = "resolved"
)

// Choice is one of the model's ranked choices, its label mapped to a
// catalogue code.
type Choice struct {
	Code       string  `json:"Code"`
	Name       string  `json:"Name"`
	Label      string  `json:"Label"`
	Confidence float64 `json:"Confidence"`
}

// Review is a case's stay in the review queue.
type Review struct {
	State        ReviewState `json:"State"`
	QueuedAt     time.Time   `json:"QueuedAt"`
	FallbackAt   time.Time   `json:"FallbackAt"`
	Choices      []Choice    `json:"Choices"`
	ModelVersion string      `json:"ModelVersion"`
	ResolvedBy   string      `json:"ResolvedBy"`
	ResolvedAt   time.Time   `json:"ResolvedAt"`
}

// Record is classify's whole state for one case.
type Record struct {
	Case Case `json:"Case"`
	// Current is the classification in force; nil while the first review
	// waits.
	Current *Classification `json:"Current"`
	// Review is set once the case entered the review queue.
	Review *Review `json:"Review"`
	// ModelVersion and Choices are what the model said when the case came in.
	ModelVersion string `json:"ModelVersion"`
	// BaseUrgency is the urgency the case had from its submission, its
	// keyword rules and its item, before any incident raised it.
	BaseUrgency reference.Urgency `json:"BaseUrgency"`
	// RuleUrgency and RuleLabels are what the keyword rules said.
	RuleUrgency reference.Urgency `json:"RuleUrgency"`
	RuleLabels  []string          `json:"RuleLabels"`
	// Where is the case's place for the place history (issue 20, places):
	// nil without a precise address. The cases table's place columns are
	// generated from it.
	Where *CasePlace `json:"Where,omitempty"`
}

// Version is the number of the classification in force, 0 for none.
func (r *Record) Version() int {
	if r.Current == nil {
		return 0
	}
	return r.Current.Version
}

// Place is where a case is, for "the same place" comparisons.
type Place struct {
	// Key is the normalised address key (district|place|lane|number|shop),
	// "" when the address does not name a place precisely enough.
	Key string `json:"Key"`
	// Site is district|place|lane: the part two keys must share to be
	// compared at all (an index column).
	Site   string `json:"Site"`
	Number string `json:"Number"`
	Shop   string `json:"Shop"`
	// Point and its cell, when the case has coordinates.
	Point *geo.Point `json:"Point"`
	Cell  *Cell      `json:"Cell"`
}

// Cell is a ~150 m cell of pkg/geo's grid.
type Cell struct {
	I int64 `json:"I"`
	J int64 `json:"J"`
}

// Empty reports whether the place identifies nothing.
func (p Place) Empty() bool { return p.Key == "" && p.Point == nil }

// SharedLock marks a lock key taken shared (LockPlaces): shared holders
// of a key do not wait for each other, only for its exclusive holder.
const SharedLock = "~"

// LockKeys names what a report at p can collide with when it is grouped or
// linked, so that two reports SamePlace can match — directly or through an
// incident both can join — share a key one of them holds exclusively, and
// one problem never opens two incidents; places with no such key are
// grouped side by side (issue 17). By its address (addresses decide when
// both places have one): a report with a house number and no shop takes its
// number exclusively and its site (the address up to the lane) shared; a
// report without a number, or naming a shop (a shop given without a number
// is the same place at any number), takes its site exclusively. By its
// point: the 3×3 cells around it, exclusively (points in neighbouring cells
// share a cell). An empty place has no keys (it is not grouped).
func (p Place) LockKeys(cellSize float64) []string {
	var keys []string
	if k := p.addressKey(); k != "" {
		if k != "site:"+p.Site {
			keys = append(keys, SharedLock+"site:"+p.Site)
		}
		keys = append(keys, k)
	}
	if p.Point != nil {
		for _, c := range NeighbourCells(*p.Point, cellSize) {
			keys = append(keys, fmt.Sprintf("cell:%d:%d", c.I, c.J))
		}
	}
	return keys
}

// addressKey is the lock a report at p holds exclusively by its address
// (LockKeys): its house number when it has one and names no shop (its site
// it then holds only shared), else its site; "" without a site.
func (p Place) addressKey() string {
	switch {
	case p.Site == "":
		return ""
	case p.Number == "" || p.Shop != "":
		return "site:" + p.Site
	default:
		return "number:" + p.Site + "|" + p.Number
	}
}

// SiteLockKeys are the wider keys of a change to a whole source place
// (coordination, issue 20): its site exclusively, and its cells.
func (p Place) SiteLockKeys(cellSize float64) []string {
	var keys []string
	if p.Site != "" {
		keys = append(keys, "site:"+p.Site)
	}
	if p.Point != nil {
		for _, c := range NeighbourCells(*p.Point, cellSize) {
			keys = append(keys, fmt.Sprintf("cell:%d:%d", c.I, c.J))
		}
	}
	return keys
}

// Incident is several reports of one problem.
type Incident struct {
	ID string `json:"ID"`
	// ItemCode is the primary's item; Subject what reports must share to
	// join (see Service.Subject).
	ItemCode      string              `json:"ItemCode"`
	Subject       string              `json:"Subject"`
	Place         Place               `json:"Place"`
	Area          reference.AreaCodes `json:"Area"`
	PrimaryCaseID string              `json:"PrimaryCaseID"`
	// CaseIDs are the current members, in joining order, the primary first.
	CaseIDs       []string          `json:"CaseIDs"`
	Urgency       reference.Urgency `json:"Urgency"`
	UrgencyRaised bool              `json:"UrgencyRaised"`
	FirstAt       time.Time         `json:"FirstAt"`
	LastAt        time.Time         `json:"LastAt"`
	SourcePlaceID string            `json:"SourcePlaceID"`
	CreatedAt     time.Time         `json:"CreatedAt"`
}

// Reports is the number of reports in the incident.
func (i *Incident) Reports() int { return len(i.CaseIDs) }

// SourcePlace is one place that several incidents of different subjects are
// linked to (归因).
type SourcePlace struct {
	ID          string              `json:"ID"`
	Place       Place               `json:"Place"`
	Area        reference.AreaCodes `json:"Area"`
	IncidentIDs []string            `json:"IncidentIDs"`
	ItemCodes   []string            `json:"ItemCodes"`
	CreatedAt   time.Time           `json:"CreatedAt"`

	// Coordination (issue 20, sourceplaces.go): the lead unit a dispatcher
	// named, whether a dispatcher closed the place, every change, and a
	// version counting the changes (the lead event's).
	Lead      string        `json:"Lead"`
	Closed    bool          `json:"Closed"`
	History   []PlaceChange `json:"History"`
	Version   int           `json:"Version"`
	UpdatedAt time.Time     `json:"UpdatedAt"`
}

// Correction is a dispatcher's decision on a case's text: a labelled example
// for training.
type Correction struct {
	CaseID       string    `json:"CaseID"`
	CaseNumber   string    `json:"CaseNumber"`
	Text         string    `json:"Text"`
	ItemCode     string    `json:"ItemCode"`
	PreviousItem string    `json:"PreviousItem"`
	Actor        string    `json:"Actor"`
	At           time.Time `json:"At"`
	Note         string    `json:"Note"`
}

// IncidentQuery asks for incidents that might be at a place within a time
// range: a superset the domain then checks with SamePlace.
type IncidentQuery struct {
	// Subject restricts to one subject; ExcludeSubject excludes one.
	Subject, ExcludeSubject string
	Site                    string
	// Number is the place's house number when it has an address: only
	// incidents at that number or at none can be the same place
	// (SamePlace); "" leaves the number open (a shop may match at any).
	Number string
	// Keyed: the place has an address, so among the incidents found by
	// their cells only those without one can be the same place.
	Keyed bool
	Cells []Cell
	// Linked restricts to incidents linked to a source place that is
	// open (a store may answer more; the caller checks).
	Linked bool
	// Incidents whose [FirstAt, LastAt] comes within [From, To].
	From, To time.Time
	// Others, beside Subject, also finds the incidents of every other
	// subject whose [FirstAt, LastAt] comes within [OthersFrom, OthersTo]:
	// a report's duplicates and its link candidates in one read.
	Others               bool
	OthersFrom, OthersTo time.Time
}

// Request is an idempotent write: the caller's request id, the RPC and its
// content (plain data), which the store fingerprints (pkg/idempotency).
type Request struct {
	Principal string
	ID        string
	Method    string
	Content   any
}

// StoredRequest is what an idempotent write answered the first time: the
// classification version it wrote or found.
type StoredRequest struct {
	CaseID  string
	Version int
	// SourcePlaceID is set instead of CaseID for a write on a source place
	// (issue 20); Version is then the place's.
	SourcePlaceID string
}

// Resource names the version, as ALREADY_EXISTS does.
func (r StoredRequest) Resource() string {
	if r.SourcePlaceID != "" {
		return fmt.Sprintf("sourcePlaces/%s/versions/%d", r.SourcePlaceID, r.Version)
	}
	return fmt.Sprintf("cases/%s/classifications/%d", r.CaseID, r.Version)
}

// Tx is one transaction on classify's state. Reads lock what they return
// for the rest of the transaction.
type Tx interface {
	// LockGrouping serialises everything that changes incidents, across
	// handlers and replicas: a dispatcher refiling a case, which may move
	// it between incidents anywhere. It must come before any case row is
	// locked (and after BeginRequest).
	LockGrouping(ctx context.Context) error
	// LockPlaces serialises the grouping of reports that can collide —
	// those whose places share one of keys (Place.LockKeys), held
	// exclusively by one of them (a key starting with SharedLock is taken
	// shared) — across handlers and replicas, and waits for any
	// LockGrouping holder; reports elsewhere in the city proceed side by
	// side. It must come before any case row is locked; the keys are taken
	// in one fixed order, so two transactions never deadlock on them.
	LockPlaces(ctx context.Context, keys []string) error
	// CreateCase stores a new record; created is false when the case is
	// already known (nothing is changed then).
	CreateCase(ctx context.Context, r *Record) (created bool, err error)
	// GetCase returns a record, ErrNotFound when there is none.
	GetCase(ctx context.Context, caseID string) (*Record, error)
	// SaveCase stores a changed record.
	SaveCase(ctx context.Context, r *Record) error
	// AddVersion appends a classification version to the case's history.
	AddVersion(ctx context.Context, c *Classification) error
	FindIncidents(ctx context.Context, q IncidentQuery) ([]*Incident, error)
	GetIncident(ctx context.Context, id string) (*Incident, error)
	SaveIncident(ctx context.Context, inc *Incident) error
	GetSourcePlace(ctx context.Context, id string) (*SourcePlace, error)
	SaveSourcePlace(ctx context.Context, p *SourcePlace) error
	// ScheduleFallback arms the case's review timer; CancelFallback disarms
	// it (no error when there is none).
	ScheduleFallback(ctx context.Context, caseID string, at time.Time) error
	CancelFallback(ctx context.Context, caseID string) error
	AddCorrection(ctx context.Context, c *Correction) error
	// BeginRequest starts req, before any other lock of the transaction.
	// It returns nil for a first request, which calls SaveRequest before
	// the transaction ends (a concurrent twin waits for it); the first
	// answer for a repeat; ALREADY_EXISTS naming that answer when the id
	// came with other content or for another method.
	BeginRequest(ctx context.Context, req Request) (*StoredRequest, error)
	SaveRequest(ctx context.Context, req Request, r StoredRequest) error
	// Emit writes events to the outbox.
	Emit(ctx context.Context, events ...Event) error
}

// ReviewFilter selects reviews; empty codes select everything.
type ReviewFilter struct {
	District, Street string
	// Scope is the caller's (pkg/policy): nothing outside it is listed.
	Scope           policy.Scope
	IncludeResolved bool
	PageSize        int
	PageToken       string
}

// IncidentFilter selects incidents.
type IncidentFilter struct {
	District, Street string
	// Scope is the caller's (pkg/policy): nothing outside it is listed.
	Scope      policy.Scope
	MinReports int
	PageSize   int
	PageToken  string
}

// CorrectionFilter selects corrections.
type CorrectionFilter struct {
	After     time.Time
	PageSize  int
	PageToken string
}

// Store keeps classify's state.
type Store interface {
	// InTx runs fn in one transaction.
	InTx(ctx context.Context, fn func(Tx) error) error
	ListReviews(ctx context.Context, f ReviewFilter) ([]*Record, string, error)
	// FindRecord reads a case's record by id, case number or hotline
	// order number; ErrNotFound when there is none.
	FindRecord(ctx context.Context, r caseref.Ref) (*Record, error)
	Versions(ctx context.Context, caseID string) ([]Classification, error)
	ReadIncident(ctx context.Context, id string) (*Incident, *SourcePlace, error)
	ListIncidents(ctx context.Context, f IncidentFilter) ([]*Incident, string, error)
	ListCorrections(ctx context.Context, f CorrectionFilter) ([]Correction, string, error)
	// ListSourcePlaces lists source places, most recently changed first
	// (issue 20).
	ListSourcePlaces(ctx context.Context, f SourcePlaceFilter) ([]*SourcePlace, string, error)
}

// ErrNotFound is what stores return for a missing record.
var ErrNotFound = errors.New("not found")

// Model is the text classifier as the domain needs it.
type Model interface {
	// Version identifies the model.
	Version() string
	// Predict ranks every label of the model for text, best first, each
	// mapped to a catalogue code.
	Predict(text string) []Choice
}

// LabelledModel is a Model that lists the catalogue codes of all its
// labels: what lets decide tell a case that belongs to none of the classes
// the model knows (a city model of seven classes) from one it merely ranks
// low.
type LabelledModel interface {
	Model
	Codes() []string
}

// Event is a domain event; the adapters publish it.
type Event interface{ isEvent() }

// Classified is a new classification version.
type Classified struct {
	Classification
	Case Case
}

// ReviewNeeded: a case waits for a dispatcher.
type ReviewNeeded struct {
	Case    Case
	Review  Review
	Urgency reference.Urgency
}

// Grouped: a case joined an incident as a duplicate.
type Grouped struct {
	Incident      Incident
	Case          Case
	UrgencyRaised bool
}

// Linked: an incident was linked to a source place.
type Linked struct {
	SourcePlace SourcePlace
	Incident    Incident
	CaseID      string
	Reports     int
}

func (Classified) isEvent()   {}
func (ReviewNeeded) isEvent() {}
func (Grouped) isEvent()      {}
func (Linked) isEvent()       {}
