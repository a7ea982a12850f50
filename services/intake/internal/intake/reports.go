package intake

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
)

// PatrolReport is what a grid worker reports on patrol.
type PatrolReport struct {
	RequestID     string       `json:"RequestID"`
	WorkerID      string       `json:"WorkerID"`
	GridCode      string       `json:"GridCode"`
	CatalogueCode string       `json:"CatalogueCode"`
	Description   string       `json:"Description"`
	Location      *LatLng      `json:"Location"`
	Photos        []Attachment `json:"Photos"`
	ObservedAt    time.Time    `json:"ObservedAt"`
}

// Issue is a community secretary's 一指通办 issue.
type Issue struct {
	RequestID          string   `json:"RequestID"`
	SecretaryID        string   `json:"SecretaryID"`
	CommunityCode      string   `json:"CommunityCode"`
	Title              string   `json:"Title"`
	Content            string   `json:"Content"`
	WhistleDepartments []string `json:"WhistleDepartments"`
}

// Catalogue and departments are what intake checks codes against.
type Catalogue interface {
	// KnownItem reports whether code is a catalogue item.
	KnownItem(code string) bool
	// KnownDepartment reports whether code is a department.
	KnownDepartment(code string) bool
}

// SubmitPatrolReport validates and stores a grid worker's report. The
// credential names the worker; a different worker_id is refused.
func (s *Service) SubmitPatrolReport(ctx context.Context, r PatrolReport) (*Submission, error) {
	return s.submitPatrol(ctx, r, SelfDisposal{})
}

// submitPatrol is SubmitPatrolReport with the report's self-disposal
// (issue 20), which needs a note and a photo when settled.
func (s *Service) submitPatrol(ctx context.Context, r PatrolReport, sd SelfDisposal) (*Submission, error) {
	p, _, err := policy.Authorize(ctx, opSubmitPatrolReport)
	if err != nil {
		return nil, err
	}
	normaliseStrings(&r.RequestID, &r.WorkerID, &r.GridCode, &r.CatalogueCode, &r.Description, &sd.Note)
	if p.Role == auth.RolePatrol {
		if r.WorkerID != "" && r.WorkerID != p.Subject {
			return nil, fault.New(fault.PermissionDenied, "worker_id %q differs from the credential's worker %q", r.WorkerID, p.Subject)
		}
		r.WorkerID = p.Subject
	}
	now := s.now()
	if r.ObservedAt.IsZero() {
		r.ObservedAt = now
	}
	r.ObservedAt = r.ObservedAt.UTC()
	const f = "report."
	var v fault.Violations
	checkRequestID(f+"request_id", r.RequestID, &v)
	if r.WorkerID == "" {
		v.Add(f+"worker_id", "is required")
	}
	checkTime(f+"observed_at", r.ObservedAt, now, false, &v)
	freetext.Check(f+"description", r.Description, MaxTextRunes, true, &v)
	checkAttachments(f+"photos", r.Photos, &v)
	sd.check(f, len(r.Photos), &v) // self-disposal (issue 20)
	if r.CatalogueCode != "" && !s.catalogue.KnownItem(r.CatalogueCode) {
		v.Add(f+"catalogue_code", "unknown catalogue item %q", r.CatalogueCode)
	}
	sub := &Submission{Source: reference.FromPatrol, AcceptedAt: now.UTC(), Patrol: &r, Principal: p.String(), Actor: p.Actor(), RequestID: r.RequestID}
	switch {
	case r.Location == nil:
		v.Add(f+"location", "is required: a patrol report always resolves its grid")
	default:
		checkLocation(f+"location", *r.Location, &v)
	}
	if len(v) == 0 {
		wgs := s.places.ToWGS84(*r.Location)
		sub.Location = &wgs
		area := s.places.CheckCodes(f, "", "", "", r.GridCode, &v)
		located, found := s.places.Locate(wgs)
		switch {
		case !s.places.InCity(wgs):
			v.Add(f+"location", "(%.6f, %.6f) lies outside the city served", r.Location.Lat, r.Location.Lng)
		case area.Grid != reference.Unknown:
			if found && located.Grid != area.Grid {
				sub.Notes = append(sub.Notes, fmt.Sprintf("location lies in grid %s; kept the reported grid %s", located.Grid, area.Grid))
			}
		case found:
			area = located
		default:
			v.Add(f+"location", "(%.6f, %.6f) lies in no grid; give grid_code", r.Location.Lat, r.Location.Lng)
		}
		sub.Area = area
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if sd.Settled { // self-disposal (issue 20)
		sub.SelfDisposal = &sd
		return s.create(ctx, sub, settledContent{Report: r, SelfDisposal: sd})
	}
	return s.create(ctx, sub, r)
}

// RaiseIssue validates and stores a 一指通办 issue. The credential names
// the community; a different community_code is refused.
func (s *Service) RaiseIssue(ctx context.Context, is Issue) (*Submission, error) {
	p, _, err := policy.Authorize(ctx, opRaiseIssue)
	if err != nil {
		return nil, err
	}
	normaliseStrings(&is.RequestID, &is.SecretaryID, &is.CommunityCode, &is.Title, &is.Content)
	if p.Role == auth.RoleSecretary {
		if is.CommunityCode != "" && is.CommunityCode != p.Subject {
			return nil, fault.New(fault.PermissionDenied, "community_code %q differs from the credential's community %q", is.CommunityCode, p.Subject)
		}
		is.CommunityCode = p.Subject
	}
	const f = "issue."
	var v fault.Violations
	checkRequestID(f+"request_id", is.RequestID, &v)
	freetext.Check(f+"secretary_id", is.SecretaryID, MaxNameRunes, false, &v)
	freetext.Check(f+"title", is.Title, MaxTitleRunes, true, &v)
	freetext.Check(f+"content", is.Content, MaxTextRunes, true, &v)
	if is.CommunityCode == "" {
		v.Add(f+"community_code", "is required")
	}
	if len(is.WhistleDepartments) > MaxWhistle {
		v.Add(f+"whistle_departments", "names %d departments; at most %d", len(is.WhistleDepartments), MaxWhistle)
	}
	seen := map[string]bool{}
	for i, d := range is.WhistleDepartments[:min(len(is.WhistleDepartments), MaxWhistle)] {
		field := fmt.Sprintf("%swhistle_departments[%d]", f, i)
		switch {
		case !s.catalogue.KnownDepartment(d):
			v.Add(field, "unknown department %q", d)
		case seen[d]:
			v.Add(field, "department %q is named twice", d)
		}
		seen[d] = true
	}
	sub := &Submission{Source: reference.FromSecretary, AcceptedAt: s.now().UTC(), Issue: &is, Principal: p.String(), Actor: p.Actor(), RequestID: is.RequestID}
	if is.CommunityCode != "" {
		sub.Area = s.places.CheckCodes(f, "", "", is.CommunityCode, "", &v)
		if sub.Area.Grid == reference.Unknown {
			sub.Area.Resolution = ResolvedByCodes
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.create(ctx, sub, is)
}

// create stores sub idempotently: a repeated request id with the same
// content returns the first result, with other content ALREADY_EXISTS.
func (s *Service) create(ctx context.Context, sub *Submission, content any) (*Submission, error) {
	sub.RequestHash = hashOf(content)
	stored, created, err := s.store.Create(ctx, sub)
	if err != nil {
		return nil, fmt.Errorf("store submission: %w", err)
	}
	if !created && !sameRequest(stored.RequestHash, sub.RequestHash, content) {
		return nil, fault.AlreadyExistsf("cases/"+stored.CaseNumber,
			"request id %s was already used with other content for case %s", sub.RequestID, stored.CaseNumber)
	}
	// The answer restates the submission: masked like every read.
	return stored.Masked(), nil
}

func normaliseStrings(ss ...*string) {
	for _, s := range ss {
		*s = strings.TrimSpace(*s)
	}
}
