package classify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/requestid"
)

// A source place (归因) becomes one piece of coordinated work (issue 20,
// 联勤联动): a dispatcher names its lead unit, the tasks of its incidents are
// linked under it in dispatch — each still held by the unit with the power —
// and the place's later reports join it while it is open (link). A place is
// open until a dispatcher closes it; it is never closed by its cases
// closing, because the place's problem (a shop's smoke, its noise) outlives
// any one report, and a dispatcher who closes it says so with a reason.

// Changes to a source place, as its history and the lead event name them.
const (
	ChangeLeadSet     = "lead_set"
	ChangeLeadChanged = "lead_changed"
	ChangeClosed      = "closed"
	ChangeReopened    = "reopened"
)

// PlaceChange is one entry of a source place's history: who changed what,
// when and why.
type PlaceChange struct {
	Change       string    `json:"Change"`
	Lead         string    `json:"Lead"`
	PreviousLead string    `json:"PreviousLead"`
	Actor        string    `json:"Actor"`
	Reason       string    `json:"Reason"`
	At           time.Time `json:"At"`
}

// Open reports whether the place still takes reports and coordinates.
func (p *SourcePlace) Open() bool { return !p.Closed }

// PlaceIncident is one incident of a source place with the case that holds
// its tasks.
type PlaceIncident struct {
	ID            string
	ItemCode      string
	PrimaryCaseID string
	Reports       int
}

// LeadChanged: a source place's lead was named or changed, or the place was
// closed or reopened. Published once per incident, naming its primary case.
type LeadChanged struct {
	SourcePlace SourcePlace
	Change      PlaceChange
	Incident    PlaceIncident
	Incidents   []PlaceIncident
}

func (LeadChanged) isEvent() {}

// SourcePlaceFilter selects source places.
type SourcePlaceFilter struct {
	District, Street string
	// Scope is the caller's (pkg/policy): nothing outside it is listed.
	Scope     policy.Scope
	OpenOnly  bool
	PageSize  int
	PageToken string
}

// PlaceCommand is a dispatcher's write on a source place.
type PlaceCommand struct {
	RequestID     string
	SourcePlaceID string
	// Department is the lead unit (SetSourcePlaceLead only).
	Department string
	Reason     string
}

// MaxReasonRunes bounds a dispatcher's reason.
const MaxReasonRunes = 2000

var (
	opSetSourcePlaceLead = policy.Method(policy.SourcePlaceService, "SetSourcePlaceLead")
	opGetSourcePlace     = policy.Method(policy.SourcePlaceService, "GetSourcePlace")
	opListSourcePlaces   = policy.Method(policy.SourcePlaceService, "ListSourcePlaces")
	opCloseSourcePlace   = policy.Method(policy.SourcePlaceService, "CloseSourcePlace")
	opReopenSourcePlace  = policy.Method(policy.SourcePlaceService, "ReopenSourcePlace")
)

func (c *PlaceCommand) validate(lead bool) error {
	var v fault.Violations
	requestid.Check(c.RequestID, &v)
	if c.SourcePlaceID == "" {
		v.Add("source_place_id", "is required")
	}
	freetext.Code("source_place_id", c.SourcePlaceID, MaxCodeBytes, &v)
	if lead {
		if c.Department == "" {
			v.Add("department_code", "is required")
		}
		freetext.Code("department_code", c.Department, MaxCodeBytes, &v)
	}
	freetext.Check("reason", c.Reason, MaxReasonRunes, false, &v)
	return v.Err()
}

// serves reports whether department d serves the place's area: the street's
// own units (and those of its communities) and the district bureaus over
// it — Reassign's rule. A place whose street is unknown is the district's.
func serves(d reference.Department, a reference.AreaCodes) bool {
	area := a.Street
	if area == "" || area == "0" {
		area = a.District
	}
	if area == "" || area == "0" {
		return false
	}
	for _, x := range d.Areas {
		if strings.HasPrefix(area, x) || strings.HasPrefix(x, area) {
			return true
		}
	}
	return false
}

// SetSourcePlaceLead names or changes the lead unit of an open source place.
func (s *Service) SetSourcePlaceLead(ctx context.Context, c PlaceCommand) (*SourcePlace, error) {
	c.Department, c.Reason = strings.TrimSpace(c.Department), strings.TrimSpace(c.Reason)
	return s.placeWrite(ctx, opSetSourcePlaceLead, "SetSourcePlaceLead", c, true, func(sp *SourcePlace, ch *PlaceChange) error {
		if sp.Closed {
			return fault.New(fault.FailedPrecondition, "source place %s is closed: reopen it first", sp.ID)
		}
		d, ok := s.deps.Reference().Department(c.Department)
		if !ok {
			return invalidField("department_code", fmt.Sprintf("%q is not a known department", c.Department))
		}
		if !serves(d, sp.Area) {
			return invalidField("department_code", fmt.Sprintf("%s does not serve the place's street %s: the street's own units and the district bureaus over it may lead",
				c.Department, sp.Area.Street))
		}
		if sp.Lead == d.Code {
			return errUnchanged
		}
		ch.Change, ch.Lead, ch.PreviousLead = ChangeLeadSet, d.Code, sp.Lead
		if sp.Lead != "" {
			ch.Change = ChangeLeadChanged
		}
		sp.Lead = d.Code
		return nil
	})
}

// CloseSourcePlace closes an open source place.
func (s *Service) CloseSourcePlace(ctx context.Context, c PlaceCommand) (*SourcePlace, error) {
	c.Department, c.Reason = "", strings.TrimSpace(c.Reason)
	return s.placeWrite(ctx, opCloseSourcePlace, "CloseSourcePlace", c, false, func(sp *SourcePlace, ch *PlaceChange) error {
		if sp.Closed {
			return errUnchanged
		}
		ch.Change, ch.Lead, ch.PreviousLead = ChangeClosed, sp.Lead, sp.Lead
		sp.Closed = true
		return nil
	})
}

// ReopenSourcePlace opens a closed source place again, with its lead.
func (s *Service) ReopenSourcePlace(ctx context.Context, c PlaceCommand) (*SourcePlace, error) {
	c.Department, c.Reason = "", strings.TrimSpace(c.Reason)
	return s.placeWrite(ctx, opReopenSourcePlace, "ReopenSourcePlace", c, false, func(sp *SourcePlace, ch *PlaceChange) error {
		if !sp.Closed {
			return errUnchanged
		}
		ch.Change, ch.Lead, ch.PreviousLead = ChangeReopened, sp.Lead, sp.Lead
		sp.Closed = false
		return nil
	})
}

// errUnchanged: the command asks for what the place already is; it writes
// nothing and answers the place as it is.
var errUnchanged = errors.New("unchanged")

func invalidField(field, reason string) error {
	var v fault.Violations
	v.Add(field, "%s", reason)
	return v.Err()
}

// placeWrite runs one dispatcher's write on a source place: idempotent on
// the request id, in the caller's scope, under the place's locks (the same
// keys grouping takes, so a report joining the place and the write are
// serialised), recording the change and publishing the lead event once per
// incident.
func (s *Service) placeWrite(ctx context.Context, method, rpc string, c PlaceCommand, lead bool,
	apply func(sp *SourcePlace, ch *PlaceChange) error) (*SourcePlace, error) {
	p, sc, err := policy.Authorize(ctx, method)
	if err != nil {
		return nil, err
	}
	if err := c.validate(lead); err != nil {
		return nil, err
	}
	req := Request{Principal: p.String(), ID: c.RequestID, Method: rpc, Content: c}
	var (
		out   *SourcePlace
		prior *StoredRequest
	)
	err = s.store.InTx(ctx, func(tx Tx) error {
		out = nil
		var err error
		if prior, err = tx.BeginRequest(ctx, req); err != nil || prior != nil {
			return err
		}
		sp, err := s.placeInScope(ctx, tx, sc, c.SourcePlaceID)
		if err != nil {
			return err
		}
		if err := tx.LockPlaces(ctx, sp.Place.SiteLockKeys(s.cfg.CellSize)); err != nil {
			return err
		}
		if sp, err = tx.GetSourcePlace(ctx, c.SourcePlaceID); err != nil { // again, under the locks
			return err
		}
		now := s.deps.Now()
		ch := PlaceChange{Actor: p.Actor(), Reason: c.Reason, At: now}
		switch err := apply(sp, &ch); {
		case errors.Is(err, errUnchanged):
			out = sp
			return tx.SaveRequest(ctx, req, StoredRequest{SourcePlaceID: sp.ID, Version: sp.Version})
		case err != nil:
			return err
		}
		sp.History = append(sp.History, ch)
		sp.Version++
		sp.UpdatedAt = now
		if err := tx.SaveSourcePlace(ctx, sp); err != nil {
			return err
		}
		incs, err := placeIncidents(ctx, tx, sp)
		if err != nil {
			return err
		}
		evs := make([]Event, 0, len(incs))
		for _, inc := range incs {
			if inc.PrimaryCaseID == "" {
				continue // an incident whose reports all left it
			}
			evs = append(evs, LeadChanged{SourcePlace: *sp, Change: ch, Incident: inc, Incidents: incs})
		}
		if err := tx.SaveRequest(ctx, req, StoredRequest{SourcePlaceID: sp.ID, Version: sp.Version}); err != nil {
			return err
		}
		out = sp
		return tx.Emit(ctx, evs...)
	})
	if err != nil {
		return nil, err
	}
	if prior != nil {
		// A repeat: the place as it is now (its history holds what the
		// first request did).
		sp, _, err := s.readPlace(ctx, sc, c.SourcePlaceID)
		return sp, err
	}
	return out, nil
}

// placeInScope reads a source place the scope covers; a scoped caller gets
// the same refusal for a place outside its scope and a missing one.
func (s *Service) placeInScope(ctx context.Context, tx Tx, sc policy.Scope, id string) (*SourcePlace, error) {
	sp, err := tx.GetSourcePlace(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, sc.Missing("source place "+id, fault.NotFoundf("sourcePlaces/"+id, "no source place %q", id))
	}
	if err != nil {
		return nil, err
	}
	if !sc.AllowsCase(areaFacts(sp.Area)) {
		return nil, policy.ErrDenied("source place " + id)
	}
	return sp, nil
}

// placeIncidents lists a place's incidents with their primary cases.
func placeIncidents(ctx context.Context, tx Tx, sp *SourcePlace) ([]PlaceIncident, error) {
	out := make([]PlaceIncident, 0, len(sp.IncidentIDs))
	for _, id := range sp.IncidentIDs {
		inc, err := tx.GetIncident(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("incident %s of source place %s: %w", id, sp.ID, err)
		}
		out = append(out, PlaceIncident{ID: inc.ID, ItemCode: inc.ItemCode, PrimaryCaseID: inc.PrimaryCaseID, Reports: inc.Reports()})
	}
	return out, nil
}

// readPlace reads a source place in the caller's scope with its incidents.
func (s *Service) readPlace(ctx context.Context, sc policy.Scope, id string) (*SourcePlace, []PlaceIncident, error) {
	var (
		sp   *SourcePlace
		incs []PlaceIncident
	)
	err := s.store.InTx(ctx, func(tx Tx) error {
		var err error
		if sp, err = s.placeInScope(ctx, tx, sc, id); err != nil {
			return err
		}
		incs, err = placeIncidents(ctx, tx, sp)
		return err
	})
	return sp, incs, err
}

// GetSourcePlace reads a source place with its incidents.
func (s *Service) GetSourcePlace(ctx context.Context, id string) (*SourcePlace, []PlaceIncident, error) {
	_, sc, err := policy.Authorize(ctx, opGetSourcePlace)
	if err != nil {
		return nil, nil, err
	}
	var v fault.Violations
	if id == "" {
		v.Add("source_place_id", "is required")
	}
	freetext.Code("source_place_id", id, MaxCodeBytes, &v)
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	return s.readPlace(ctx, sc, id)
}

// ListSourcePlaces lists the source places in the caller's scope, narrowed
// to an area inside it.
func (s *Service) ListSourcePlaces(ctx context.Context, f SourcePlaceFilter) ([]*SourcePlace, string, error) {
	_, sc, err := policy.Authorize(ctx, opListSourcePlaces)
	if err != nil {
		return nil, "", err
	}
	var v fault.Violations
	freetext.Code("district_code", f.District, MaxCodeBytes, &v)
	freetext.Code("street_code", f.Street, MaxCodeBytes, &v)
	if f.PageSize < 0 {
		v.Add("page_size", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	for _, a := range []string{f.District, f.Street} {
		if a != "" && !sc.AllowsArea(a) {
			return nil, "", policy.ErrDenied("area " + a)
		}
	}
	f.Scope = sc
	if f.PageSize == 0 || f.PageSize > 500 {
		f.PageSize = min(max(f.PageSize, 50), 500)
	}
	return s.store.ListSourcePlaces(ctx, f)
}

// openPlaceAt finds the open source place at inc's place, whenever its
// incidents were reported: a later report joins it while it is open, after
// the link window too (issue 20). The most recently changed one wins.
func (s *Service) openPlaceAt(ctx context.Context, tx Tx, inc *Incident) (*SourcePlace, error) {
	q := s.query(inc.Place, time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	q.Linked = true
	cands, err := tx.FindIncidents(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("find incidents of source places: %w", err)
	}
	var (
		best *SourcePlace
		seen []string
	)
	for _, o := range cands {
		if o.ID == inc.ID || o.SourcePlaceID == "" || slices.Contains(seen, o.SourcePlaceID) || !SamePlace(o.Place, inc.Place, s.cfg.CellSize) {
			continue
		}
		seen = append(seen, o.SourcePlaceID)
		sp, err := tx.GetSourcePlace(ctx, o.SourcePlaceID)
		if err != nil {
			return nil, fmt.Errorf("source place %s: %w", o.SourcePlaceID, err)
		}
		if sp.Open() && (best == nil || sp.UpdatedAt.After(best.UpdatedAt) || (sp.UpdatedAt.Equal(best.UpdatedAt) && sp.CreatedAt.After(best.CreatedAt))) {
			best = sp
		}
	}
	return best, nil
}

// PlaceIncidents lists a place the caller just wrote or read with its
// incidents' primary cases.
func (s *Service) PlaceIncidents(ctx context.Context, sp *SourcePlace) ([]PlaceIncident, error) {
	var incs []PlaceIncident
	err := s.store.InTx(ctx, func(tx Tx) error {
		var err error
		incs, err = placeIncidents(ctx, tx, sp)
		return err
	})
	return incs, err
}
