// Package intake is the domain of the intake service: what a submission is,
// the rules it must meet, and how it is taken in exactly once. It knows no
// gRPC, SQL or NATS; adapters translate to and from it.
package intake

import (
	"context"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/address"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
)

// Datum names a coordinate system.
type Datum string

// Datums: Chinese map apps send GCJ-02; gridflow stores WGS-84.
const (
	WGS84 Datum = "WGS84"
	GCJ02 Datum = "GCJ02"
)

// LatLng is a point.
type LatLng struct {
	Lat   float64 `json:"Lat"`
	Lng   float64 `json:"Lng"`
	Datum Datum   `json:"Datum"`
}

// Resolution says how an area was found.
type Resolution string

// Resolutions.
const (
	ResolvedByCodes       Resolution = "codes"
	ResolvedByCoordinates Resolution = "coordinates"
	ResolvedByAddress     Resolution = "address"
	ResolvedPartly        Resolution = "partial"
)

// Area is the case's area codes (an unknown level is reference.Unknown)
// and how intake found them. Stored embedded, as the flat object it always
// was.
type Area struct {
	reference.AreaCodes
	Resolution Resolution `json:"resolution,omitempty"`
}

// Attachment refers to a stored object.
type Attachment struct {
	URI       string `json:"URI"`
	MediaType string `json:"MediaType"`
	Name      string `json:"Name"`
}

// WorkOrder is a 12345 hotline work order as received.
type WorkOrder struct {
	HotlineOrderNo string               `json:"HotlineOrderNo"`
	ReceivedAt     time.Time            `json:"ReceivedAt"`
	AppealType     reference.AppealType `json:"AppealType"`
	Title          string               `json:"Title"`
	Content        string               `json:"Content"`
	CallerName     string               `json:"CallerName"`
	CallerPhone    string               `json:"CallerPhone"`
	Anonymous      bool                 `json:"Anonymous"`
	NoCallback     bool                 `json:"NoCallback"`
	Address        string               `json:"Address"`
	Location       *LatLng              `json:"Location"`
	DistrictCode   string               `json:"DistrictCode"`
	StreetCode     string               `json:"StreetCode"`
	CommunityCode  string               `json:"CommunityCode"`
	GridCode       string               `json:"GridCode"`
	Urgency        reference.Urgency    `json:"Urgency"`
	Attachments    []Attachment         `json:"Attachments"`
	AnsweredOnCall bool                 `json:"AnsweredOnCall"`
	Answer         string               `json:"Answer"`
	// PrivateLocation (issue 20, places): the problem is at the caller's
	// own home; classify keeps the case's place at its lane. Any caller may
	// say so. omitempty keeps the fingerprint of orders without it as it was.
	PrivateLocation bool `json:"PrivateLocation,omitempty"`
}

// Submission is a case as intake took it in.
type Submission struct {
	CaseID     string           `json:"CaseID"`
	CaseNumber string           `json:"CaseNumber"`
	Source     reference.Source `json:"Source"`
	AcceptedAt time.Time        `json:"AcceptedAt"`
	Area       Area             `json:"Area"`
	Address    address.Record   `json:"Address"`
	Location   *LatLng          `json:"Location"` // WGS-84
	WorkOrder  *WorkOrder       `json:"WorkOrder"`
	Patrol     *PatrolReport    `json:"Patrol"`
	Issue      *Issue           `json:"Issue"`
	Notes      []string         `json:"Notes"`
	// Withdrawn is set by the hotline's 撤单; Closed once feedback closes the case.
	Withdrawn bool       `json:"Withdrawn"`
	Closed    bool       `json:"Closed"`
	FollowUps []FollowUp `json:"FollowUps"`
	// Principal is who submitted it; RequestID and RequestHash make it idempotent.
	Principal   string `json:"Principal"`
	RequestID   string `json:"RequestID"`
	RequestHash string `json:"RequestHash"`
	// Actor is the submitter as the audit names them: the principal and the
	// person its credential named (auth.Principal's Actor). Empty in
	// submissions stored before it was kept; By falls back to Principal.
	Actor string `json:"Actor,omitempty"`
	// ContactErasedAt is when retention replaced the stored contact by its
	// masked form (zero while it is kept); a column beside the body.
	ContactErasedAt time.Time `json:"-"`

	// Public is set for the public's Open311 requests (issue 19).
	Public *PublicRequest `json:"Public,omitempty"`

	// SelfDisposal is set for a patrol report settled on the spot (issue 20).
	SelfDisposal *SelfDisposal `json:"SelfDisposal,omitempty"`
}

// By is the actor of the submission's events.
func (s *Submission) By() string {
	if s.Actor != "" {
		return s.Actor
	}
	return s.Principal
}

// Answered reports whether the submission was answered on the call.
func (s *Submission) Answered() bool { return s.WorkOrder != nil && s.WorkOrder.AnsweredOnCall }

// Key looks a submission up by exactly one of its identifiers.
type Key struct {
	CaseID, CaseNumber, HotlineOrderNo string
}

// Store keeps submissions. Create stores a new submission and its event in
// one transaction and assigns CaseID and CaseNumber; when the principal has
// used the request id before, it returns the stored submission and
// created=false instead. AddFollowUp does the same for a follow-up, calling
// check on the locked case first so a follow-up never races a withdrawal.
type Store interface {
	Create(ctx context.Context, s *Submission) (stored *Submission, created bool, err error)
	Get(ctx context.Context, k Key) (*Submission, error)
	AddFollowUp(ctx context.Context, k Key, f *FollowUp, check func(*Submission) error) (stored *FollowUp, created bool, err error)
	List(ctx context.Context, f ListFilter) ([]*Submission, string, error)
	ContactStore
}

// Places resolves and checks areas against reference data.
type Places interface {
	// CheckCodes validates given codes (format, existence, parent chain) and
	// completes the parents of the most precise one. Violations name the
	// fields prefix+"district_code" and so on.
	CheckCodes(prefix, district, street, community, grid string, v *fault.Violations) Area
	// Locate finds the grid containing a WGS-84 point.
	Locate(p LatLng) (Area, bool)
	// InCity reports whether a WGS-84 point lies in the configured city.
	InCity(p LatLng) bool
	// ToWGS84 converts a point to WGS-84.
	ToWGS84(p LatLng) LatLng
	// NormaliseAddress parses a free-text address and looks it up;
	// district is the district code known so far ("0" when none).
	NormaliseAddress(raw, district string) (address.Record, Area, bool)
}

// Service takes in submissions.
type Service struct {
	store     Store
	places    Places
	catalogue Catalogue
	now       func() time.Time
}

// New returns a service.
func New(store Store, places Places, catalogue Catalogue, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, places: places, catalogue: catalogue, now: now}
}

// SubmitWorkOrder validates and stores a hotline work order. The order
// number is the request id: a repeat with the same content returns the first
// result; with other content it is ALREADY_EXISTS naming the case.
func (s *Service) SubmitWorkOrder(ctx context.Context, wo WorkOrder) (*Submission, error) {
	p, _, err := policy.Authorize(ctx, opSubmitWorkOrder)
	if err != nil {
		return nil, err
	}
	normaliseWorkOrder(&wo)
	now := s.now()
	var v fault.Violations
	validateWorkOrder(&wo, now, &v)
	sub := &Submission{
		Source:     reference.FromHotline,
		AcceptedAt: now.UTC(),
		WorkOrder:  &wo,
		Principal:  p.String(),
		Actor:      p.Actor(),
		RequestID:  wo.HotlineOrderNo,
	}
	s.resolve(sub, &wo, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.create(ctx, sub, wo)
}

// resolve fills the area in the order DESIGN.md gives: codes, coordinates,
// the address index. What stays unknown is "0", and a note says so.
func (s *Service) resolve(sub *Submission, wo *WorkOrder, v *fault.Violations) {
	area := s.places.CheckCodes("work_order.", wo.DistrictCode, wo.StreetCode, wo.CommunityCode, wo.GridCode, v)
	if wo.Location != nil && len(*v) == 0 {
		wgs := s.places.ToWGS84(*wo.Location)
		if !s.places.InCity(wgs) {
			v.Add("work_order.location", "(%.6f, %.6f) lies outside the city served", wo.Location.Lat, wo.Location.Lng)
		}
		sub.Location = &wgs
		if area.Grid == reference.Unknown {
			if a, ok := s.places.Locate(wgs); ok && compatible(area, a) {
				area = a
			}
		}
	}
	if strings.TrimSpace(wo.Address) != "" {
		addr, a, ok := s.places.NormaliseAddress(wo.Address, area.District)
		sub.Address = addr
		if ok && area.Grid == reference.Unknown && compatible(area, a) {
			area = a
		}
	}
	if area.Grid == reference.Unknown {
		area.Resolution = ResolvedPartly
		switch {
		case area.District == reference.Unknown:
			sub.Notes = append(sub.Notes, "area unknown: routed to the district desk")
		case area.Street == reference.Unknown:
			sub.Notes = append(sub.Notes, "street unknown: resolved only to district "+area.District)
		default:
			sub.Notes = append(sub.Notes, "grid unknown: resolved to street "+area.Street)
		}
	}
	sub.Area = area
}

// compatible reports whether b refines a (it agrees on every level a knows).
func compatible(a, b Area) bool {
	agree := func(x, y string) bool { return x == reference.Unknown || x == y }
	return agree(a.District, b.District) && agree(a.Street, b.Street) && agree(a.Community, b.Community)
}

// GetSubmission returns a submission, its caller masked for every reader
// (Masked): the full contact is ReadContact's, audited.
func (s *Service) GetSubmission(ctx context.Context, k Key) (*Submission, error) {
	_, sc, err := policy.Authorize(ctx, opGetSubmission)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, x := range []string{k.CaseID, k.CaseNumber, k.HotlineOrderNo} {
		if x != "" {
			n++
		}
	}
	var v fault.Violations
	if n != 1 {
		v.Add("key", "give exactly one of case_id, case_number, hotline_order_no")
	}
	checkKey(k, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	what := "case " + k.CaseID + k.CaseNumber + k.HotlineOrderNo // exactly one is set
	sub, err := s.store.Get(ctx, k)
	if fault.KindOf(err) == fault.NotFound {
		return nil, sc.Missing(what, err)
	}
	if err != nil {
		return nil, err
	}
	if !sc.AllowsCase(sub.Facts()) {
		return nil, policy.ErrDenied(what)
	}
	return sub.Masked(), nil
}

// The service's methods, as pkg/policy's table names them.
var (
	opSubmitWorkOrder    = policy.Method(policy.IntakeService, "SubmitWorkOrder")
	opSubmitPatrolReport = policy.Method(policy.IntakeService, "SubmitPatrolReport")
	opRaiseIssue         = policy.Method(policy.IntakeService, "RaiseIssue")
	opAddFollowUp        = policy.Method(policy.IntakeService, "AddFollowUp")
	opGetSubmission      = policy.Method(policy.IntakeService, "GetSubmission")
	opListSubmissions    = policy.Method(policy.IntakeService, "ListSubmissions")
	opReadContact        = policy.Method(policy.IntakeService, "ReadContact")
)

// Facts are what a caller's scope decides the submission's case on.
func (s *Submission) Facts() policy.CaseFacts {
	f := policy.CaseFacts{Source: string(s.Source), District: s.Area.District, Street: s.Area.Street, Community: s.Area.Community,
		Grid: s.Area.Grid} // a grid leader's reach (issue 20)
	if s.Patrol != nil {
		f.Worker = s.Patrol.WorkerID
	}
	return f
}
