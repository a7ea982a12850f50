package classify

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

// reportedAt is when a report was made: the call, the patrol's observation;
// windows are measured on it, not on when classify saw the event, so a
// backlog replayed late groups as it would have live.
func reportedAt(c *Case) time.Time {
	if !c.ReceivedAt.IsZero() {
		return c.ReceivedAt
	}
	return c.AcceptedAt
}

func (s *Service) placeOf(c *Case) Place {
	p := PlaceOf(c, s.deps.DistrictName(c.Area.District), s.cfg.CellSize)
	if c.PrivateLocation { // issue 20, places: the key stops at the lane
		return privatePlace(p)
	}
	return p
}

func (s *Service) query(p Place, from, to time.Time) IncidentQuery {
	q := IncidentQuery{Site: p.Site, From: from, To: to, Keyed: p.Key != ""}
	if p.Key != "" {
		q.Number = p.Number
	}
	if p.Point != nil {
		q.Cells = NeighbourCells(*p.Point, s.cfg.CellSize)
	}
	return q
}

// group files the case of rec, just classified as cls under item, into an
// incident: it joins the open incident of the same subject at the same place
// whose reports come within the item's duplicate window (sliding: every
// report extends it), or opens one as its primary. A duplicate is not
// dispatchable. When the incident reaches the threshold its urgency rises
// one step, and a report more urgent than the incident raises it to its own
// level; either way the primary gets a new classification version. cls is
// completed in place; the events returned concern the incident and other
// cases. place is the case's (placeOf). The caller holds the grouping lock
// or the place's locks.
func (s *Service) group(ctx context.Context, tx Tx, rec *Record, cls *Classification, item reference.Item, place Place, now time.Time) ([]Event, error) {
	c := &rec.Case
	if place.Empty() {
		return nil, nil
	}
	t := reportedAt(c)
	w := item.DuplicateWindow
	if w <= 0 {
		w = reference.DefaultDuplicateWindow
	}
	subject := s.Subject(item.Code)
	q := s.query(place, t.Add(-w), t.Add(w))
	q.Subject = subject
	if s.cfg.LinkWindow > 0 {
		// A report that opens an incident looks for other subjects' next
		// (link): one read finds both at the place (issue 17).
		q.Others, q.OthersFrom, q.OthersTo = true, t.Add(-s.cfg.LinkWindow), t.Add(s.cfg.LinkWindow)
	}
	cands, err := tx.FindIncidents(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("find incidents: %w", err)
	}
	var join *Incident
	for _, inc := range cands {
		if inc.Subject != subject || inc.Reports() == 0 || slices.Contains(inc.CaseIDs, c.ID) ||
			t.Before(inc.FirstAt.Add(-w)) || t.After(inc.LastAt.Add(w)) || !SamePlace(inc.Place, place, s.cfg.CellSize) {
			continue
		}
		if join == nil || better(inc, join, place) {
			join = inc
		}
	}
	if join == nil {
		inc := &Incident{ID: s.newID(), ItemCode: item.Code, Subject: subject, Place: place, Area: c.Area, PrimaryCaseID: c.ID,
			CaseIDs: []string{c.ID}, Urgency: cls.Urgency, FirstAt: t, LastAt: t, CreatedAt: now}
		cls.IncidentID, cls.PrimaryCaseID, cls.IncidentReports = inc.ID, c.ID, 1
		evs, err := s.linkAmong(ctx, tx, inc, c.ID, t, cands) // inc is at place: cands hold its link candidates
		if err != nil {
			return nil, err
		}
		return evs, tx.SaveIncident(ctx, inc)
	}

	join.CaseIDs = append(join.CaseIDs, c.ID)
	join.Place = join.Place.merge(place)
	if t.Before(join.FirstAt) {
		join.FirstAt = t
	}
	if t.After(join.LastAt) {
		join.LastAt = t
	}
	n := join.Reports()
	cls.IncidentID, cls.PrimaryCaseID, cls.IncidentReports, cls.Dispatchable = join.ID, join.PrimaryCaseID, n, false
	cls.Reason = joinReason(cls.Reason, fmt.Sprintf("duplicate: report %d of incident %s (primary %s)", n, join.ID, join.PrimaryCaseID))

	var why []string
	urgency := join.Urgency
	if rules.Max(urgency, cls.Urgency) != urgency {
		urgency = cls.Urgency
		why = append(why, fmt.Sprintf("a report in its incident is %s", urgency))
	}
	raised := false
	if n >= s.cfg.IncidentThreshold && !join.UrgencyRaised {
		raised, join.UrgencyRaised = true, true
		from := urgency
		urgency = raise(urgency)
		why = append(why, fmt.Sprintf("its incident reached %d reports: urgency %s → %s", n, from.OrNormal(), urgency))
	}
	join.Urgency = urgency
	evs := []Event{Grouped{Incident: *join, Case: *c, UrgencyRaised: raised}}
	if len(why) > 0 {
		e, err := s.bumpPrimary(ctx, tx, join, raised, joinReason(why...), now)
		if err != nil {
			return nil, err
		}
		evs = append(evs, e...)
	}
	if join.SourcePlaceID == "" {
		e, err := s.link(ctx, tx, join, c.ID, t)
		if err != nil {
			return nil, err
		}
		evs = append(evs, e...)
	}
	return evs, tx.SaveIncident(ctx, join)
}

// better prefers the incident whose address agrees with the place over one
// found by coordinates only, then the most recently reported.
func better(a, b *Incident, p Place) bool {
	am, bm := p.Key != "" && a.Place.Key != "", p.Key != "" && b.Place.Key != ""
	if am != bm {
		return am
	}
	return a.LastAt.After(b.LastAt)
}

// bumpPrimary writes a new classification version of the incident's
// primary case carrying the incident's urgency and report count.
func (s *Service) bumpPrimary(ctx context.Context, tx Tx, inc *Incident, repeat bool, why string, now time.Time) ([]Event, error) {
	prec, err := tx.GetCase(ctx, inc.PrimaryCaseID)
	if err != nil {
		return nil, fmt.Errorf("primary case %s of incident %s: %w", inc.PrimaryCaseID, inc.ID, err)
	}
	if prec.Current == nil {
		return nil, nil
	}
	pc := *prec.Current
	pc.Version++
	pc.Urgency = rules.Max(pc.Urgency, inc.Urgency)
	pc.IncidentID, pc.PrimaryCaseID, pc.IncidentReports = inc.ID, inc.PrimaryCaseID, inc.Reports()
	if repeat && s.cfg.RepeatLabel != "" {
		pc.Labels = addLabel(pc.Labels, s.cfg.RepeatLabel)
	}
	pc.Reason, pc.ClassifiedAt, pc.Actor = why, now, SystemActor
	prec.Current = &pc
	if err := tx.AddVersion(ctx, &pc); err != nil {
		return nil, err
	}
	if err := tx.SaveCase(ctx, prec); err != nil {
		return nil, err
	}
	return []Event{Classified{Classification: pc, Case: prec.Case}}, nil
}

// leave takes rec's case out of its incident (its item changed). If it was
// the primary and reports remain, the earliest remaining report becomes the
// primary and gets a new, dispatchable classification version.
func (s *Service) leave(ctx context.Context, tx Tx, rec *Record, now time.Time) ([]Event, error) {
	inc, err := tx.GetIncident(ctx, rec.Current.IncidentID)
	if err != nil {
		return nil, fmt.Errorf("incident %s: %w", rec.Current.IncidentID, err)
	}
	inc.CaseIDs = slices.DeleteFunc(inc.CaseIDs, func(id string) bool { return id == rec.Case.ID })
	var evs []Event
	if inc.PrimaryCaseID == rec.Case.ID && len(inc.CaseIDs) > 0 {
		inc.PrimaryCaseID = inc.CaseIDs[0]
		prec, err := tx.GetCase(ctx, inc.PrimaryCaseID)
		if err != nil {
			return nil, fmt.Errorf("new primary %s: %w", inc.PrimaryCaseID, err)
		}
		if prec.Current != nil {
			pc := *prec.Current
			pc.Version++
			pc.Dispatchable = !prec.Case.Answered
			pc.Urgency = rules.Max(pc.Urgency, inc.Urgency)
			pc.IncidentID, pc.PrimaryCaseID, pc.IncidentReports = inc.ID, inc.PrimaryCaseID, inc.Reports()
			if inc.UrgencyRaised && s.cfg.RepeatLabel != "" {
				pc.Labels = addLabel(pc.Labels, s.cfg.RepeatLabel)
			}
			pc.Reason = fmt.Sprintf("now the primary of incident %s: case %s was reclassified", inc.ID, rec.Case.Number)
			pc.ClassifiedAt, pc.Actor = now, SystemActor
			prec.Current = &pc
			if err := tx.AddVersion(ctx, &pc); err != nil {
				return nil, err
			}
			if err := tx.SaveCase(ctx, prec); err != nil {
				return nil, err
			}
			evs = append(evs, Classified{Classification: pc, Case: prec.Case})
		}
	}
	return evs, tx.SaveIncident(ctx, inc)
}

// link attaches inc to a source place (归因) when incidents of other
// subjects are open at the same place within the link window: to the place
// one of them already belongs to, or to a new place holding all of them.
// inc is saved by the caller; the other incidents are saved here.
func (s *Service) link(ctx context.Context, tx Tx, inc *Incident, caseID string, t time.Time) ([]Event, error) {
	if inc.SourcePlaceID != "" || s.cfg.LinkWindow <= 0 {
		return nil, nil
	}
	q := s.query(inc.Place, t.Add(-s.cfg.LinkWindow), t.Add(s.cfg.LinkWindow))
	q.ExcludeSubject = inc.Subject
	cands, err := tx.FindIncidents(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("find incidents to link: %w", err)
	}
	return s.linkAmong(ctx, tx, inc, caseID, t, cands)
}

// linkAmong is link given cands, the incidents found at inc's place: at
// least those of other subjects within the link window (the rest are
// passed over here).
func (s *Service) linkAmong(ctx context.Context, tx Tx, inc *Incident, caseID string, t time.Time, cands []*Incident) ([]Event, error) {
	if inc.SourcePlaceID != "" || s.cfg.LinkWindow <= 0 {
		return nil, nil
	}
	var others []*Incident
	for _, o := range cands {
		if o.ID == inc.ID || o.Subject == inc.Subject || o.Reports() == 0 ||
			t.Before(o.FirstAt.Add(-s.cfg.LinkWindow)) || t.After(o.LastAt.Add(s.cfg.LinkWindow)) ||
			!SamePlace(o.Place, inc.Place, s.cfg.CellSize) {
			continue
		}
		others = append(others, o)
	}
	// A closed source place is joined by nothing (issue 20): its incidents
	// stay with it, and the new one joins an open place or opens one with
	// the unlinked others.
	var sp *SourcePlace
	unlinked := 0
	for _, o := range others {
		if o.SourcePlaceID == "" {
			unlinked++
			continue
		}
		if sp != nil {
			continue
		}
		p, err := tx.GetSourcePlace(ctx, o.SourcePlaceID)
		if err != nil {
			return nil, fmt.Errorf("source place %s: %w", o.SourcePlaceID, err)
		}
		if p.Open() {
			sp = p
		}
	}
	if sp == nil {
		// Later reports join the open place at their place while it is
		// open, after the link window too (issue 20).
		var err error
		if sp, err = s.openPlaceAt(ctx, tx, inc); err != nil {
			return nil, err
		}
	}
	if sp == nil && unlinked == 0 {
		return nil, nil
	}
	if sp == nil {
		now := s.deps.Now()
		sp = &SourcePlace{ID: s.newID(), Place: inc.Place, Area: inc.Area, CreatedAt: now, UpdatedAt: now}
	}
	attach := []*Incident{inc}
	for _, o := range others {
		if o.SourcePlaceID == "" {
			attach = append(attach, o)
		}
	}
	for _, a := range attach {
		a.SourcePlaceID = sp.ID
		sp.IncidentIDs = append(sp.IncidentIDs, a.ID)
		if !slices.Contains(sp.ItemCodes, a.ItemCode) {
			sp.ItemCodes = append(sp.ItemCodes, a.ItemCode)
		}
		sp.Place = sp.Place.merge(a.Place)
		if a != inc {
			if err := tx.SaveIncident(ctx, a); err != nil {
				return nil, err
			}
		}
	}
	if err := tx.SaveSourcePlace(ctx, sp); err != nil {
		return nil, err
	}
	reports := 0
	for _, id := range sp.IncidentIDs {
		if id == inc.ID {
			reports += inc.Reports()
			continue
		}
		o, err := tx.GetIncident(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("incident %s of source place %s: %w", id, sp.ID, err)
		}
		reports += o.Reports()
	}
	evs := make([]Event, 0, len(attach))
	for _, a := range attach {
		evs = append(evs, Linked{SourcePlace: *sp, Incident: *a, CaseID: caseID, Reports: reports})
	}
	return evs, nil
}
