package classify

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
)

// The window a time in a query must lie in: classify holds nothing from
// before 2000 or from 2100 on, and an overflowed or negative protobuf
// timestamp decodes to a time outside it (which PostgreSQL cannot take).
var (
	minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// narrow checks the district and street codes a list names, then that they
// lie within the caller's scope (naming another's area is
// PERMISSION_DENIED, not an empty page); the store then lists only what the
// scope covers.
func narrow(sc policy.Scope, district, street string) error {
	var v fault.Violations
	freetext.Code("district_code", district, MaxCodeBytes, &v)
	freetext.Code("street_code", street, MaxCodeBytes, &v)
	if err := v.Err(); err != nil {
		return err
	}
	if sc.Kind != policy.Street && sc.Kind != policy.District {
		return nil
	}
	if street != "" && !sc.AllowsArea(street) {
		return fault.New(fault.PermissionDenied, "street %s is outside the caller's %v", street, sc)
	}
	if district != "" && sc.Kind == policy.District && district != sc.Code {
		return fault.New(fault.PermissionDenied, "district %s is outside the caller's %v", district, sc)
	}
	return nil
}

func pageSize(n, def, max int) (int, error) {
	switch {
	case n < 0:
		var v fault.Violations
		v.Add("page_size", "must not be negative")
		return 0, v.Err()
	case n == 0:
		return def, nil
	case n > max:
		return max, nil
	}
	return n, nil
}

// ListReviewQueue lists the review queue, oldest first.
func (s *Service) ListReviewQueue(ctx context.Context, f ReviewFilter) ([]*Record, string, error) {
	_, sc, err := policy.Authorize(ctx, opListReviewQueue)
	if err != nil {
		return nil, "", err
	}
	if err := narrow(sc, f.District, f.Street); err != nil {
		return nil, "", err
	}
	if f.PageSize, err = pageSize(f.PageSize, 50, 500); err != nil {
		return nil, "", err
	}
	f.Scope = sc
	return s.store.ListReviews(ctx, f)
}

// GetClassification returns a case's record and its versions, newest first.
// The case is named by exactly one of its id, its case number and its
// hotline order number.
func (s *Service) GetClassification(ctx context.Context, caseID, number, orderNo string) (*Record, []Classification, error) {
	_, sc, err := policy.Authorize(ctx, opGetClassification)
	if err != nil {
		return nil, nil, err
	}
	ref, err := caseref.FromFields("", caseID, number, orderNo)
	if err != nil {
		return nil, nil, err
	}
	rec, err := s.store.FindRecord(ctx, ref)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, sc.Missing("case "+ref.Value, ref.NotFound("classify"))
	}
	if err != nil {
		return nil, nil, err
	}
	if !sc.AllowsCase(caseFacts(rec.Case)) {
		return nil, nil, policy.ErrDenied("case " + ref.Value)
	}
	vs, err := s.store.Versions(ctx, rec.Case.ID)
	if err != nil {
		return nil, nil, err
	}
	return rec, vs, nil
}

// GetIncident returns an incident and the source place it is linked to.
func (s *Service) GetIncident(ctx context.Context, id string) (*Incident, *SourcePlace, error) {
	_, sc, err := policy.Authorize(ctx, opGetIncident)
	if err != nil {
		return nil, nil, err
	}
	var v fault.Violations
	if id == "" {
		v.Add("incident_id", "is required")
	}
	freetext.Code("incident_id", id, MaxCodeBytes, &v)
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	inc, sp, err := s.store.ReadIncident(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, sc.Missing("incident "+id, fault.NotFoundf("incidents/"+id, "no incident %q", id))
	}
	if err != nil {
		return nil, nil, err
	}
	if !sc.AllowsCase(areaFacts(inc.Area)) {
		return nil, nil, policy.ErrDenied("incident " + id)
	}
	return inc, sp, nil
}

// ListIncidents lists incidents, most recently reported first.
func (s *Service) ListIncidents(ctx context.Context, f IncidentFilter) ([]*Incident, string, error) {
	_, sc, err := policy.Authorize(ctx, opListIncidents)
	if err != nil {
		return nil, "", err
	}
	if err := narrow(sc, f.District, f.Street); err != nil {
		return nil, "", err
	}
	if f.PageSize, err = pageSize(f.PageSize, 50, 500); err != nil {
		return nil, "", err
	}
	if f.MinReports > math.MaxInt32 {
		var v fault.Violations
		v.Add("min_reports", "must be at most %d", math.MaxInt32)
		return nil, "", v.Err()
	}
	f.Scope = sc
	return s.store.ListIncidents(ctx, f)
}

// ListCorrections lists dispatchers' corrections, oldest first; admin only
// (they are training data for the whole city).
func (s *Service) ListCorrections(ctx context.Context, f CorrectionFilter) ([]Correction, string, error) {
	if _, _, err := policy.Authorize(ctx, opListCorrections); err != nil {
		return nil, "", err
	}
	var err error
	if f.PageSize, err = pageSize(f.PageSize, 200, 1000); err != nil {
		return nil, "", err
	}
	if !f.After.IsZero() && (f.After.Before(minTime) || !f.After.Before(maxTime)) {
		var v fault.Violations
		v.Add("corrected_after", "%s is not between %d and %d", f.After.UTC().Format(time.RFC3339), minTime.Year(), maxTime.Year()-1)
		return nil, "", v.Err()
	}
	return s.store.ListCorrections(ctx, f)
}

// Reload reloads the model, keyword rules and reference data; admin only.
func (s *Service) Reload(ctx context.Context) (ReloadResult, error) {
	if _, _, err := policy.Authorize(ctx, opReloadModel); err != nil {
		return ReloadResult{}, err
	}
	if s.deps.Reload == nil {
		return ReloadResult{}, fault.New(fault.FailedPrecondition, "reloading is not configured")
	}
	res, err := s.deps.Reload(ctx)
	if err != nil {
		return res, fault.New(fault.FailedPrecondition, "reload failed, the loaded model stays in force: %v", err)
	}
	return res, nil
}

// CatalogueFilter selects catalogue entries.
type CatalogueFilter struct {
	Tree      reference.Tree // 0: both
	Class     string
	PageSize  int
	PageToken string
}

// ListCatalogue lists catalogue classes and items in file order, urban tree
// first. Any authenticated caller.
func (s *Service) ListCatalogue(ctx context.Context, f CatalogueFilter) ([]reference.Item, string, string, error) {
	if _, _, err := policy.Authorize(ctx, opListCatalogue); err != nil {
		return nil, "", "", err
	}
	ref := s.deps.Reference()
	size, err := pageSize(f.PageSize, 100, 500)
	if err != nil {
		return nil, "", "", err
	}
	var all []reference.Item
	switch {
	case f.Class != "":
		cl, ok := ref.Item(f.Class)
		if !ok || !cl.Class {
			var v fault.Violations
			v.Add("class_code", "%q is not a catalogue class", f.Class)
			return nil, "", "", v.Err()
		}
		all = ref.ClassItems(f.Class)
	case f.Tree != 0:
		all = ref.Items(f.Tree)
	default:
		all = append(ref.Items(reference.TreeUrban), ref.Items(reference.TreeHotline)...)
	}
	if f.Class != "" && f.Tree != 0 {
		var kept []reference.Item
		for _, it := range all {
			if it.Tree == f.Tree {
				kept = append(kept, it)
			}
		}
		all = kept
	}
	off := 0
	if f.PageToken != "" {
		n, err := pagetoken.DecodeSeq(f.PageToken)
		if err != nil || n > int64(len(all)) {
			var v fault.Violations
			v.Add("page_token", "is not a token this list returned")
			return nil, "", "", v.Err()
		}
		off = int(n)
	}
	end := min(off+size, len(all))
	next := ""
	if end < len(all) {
		next = pagetoken.EncodeSeq(int64(end))
	}
	return all[off:end], next, ref.Digest(), nil
}

// GetCatalogueItem looks an item up by code, or else by name or synonym.
func (s *Service) GetCatalogueItem(ctx context.Context, code, name string) (reference.Item, error) {
	if _, _, err := policy.Authorize(ctx, opGetCatalogueItem); err != nil {
		return reference.Item{}, err
	}
	var v fault.Violations
	freetext.Code("code", code, MaxCodeBytes, &v)
	freetext.Check("name", name, MaxNameRunes, false, &v)
	if err := v.Err(); err != nil {
		return reference.Item{}, err
	}
	ref := s.deps.Reference()
	switch {
	case code != "" && name != "":
		v.Add("key", "give one of code and name")
		return reference.Item{}, v.Err()
	case code != "":
		if it, ok := ref.Item(code); ok {
			return it, nil
		}
		return reference.Item{}, fault.NotFoundf("catalogue/"+code, "no catalogue entry with code %q", code)
	case name != "":
		if it, ok := ref.ItemByName(name); ok {
			return it, nil
		}
		return reference.Item{}, fault.NotFoundf("catalogue/"+name, "no catalogue entry named %q", name)
	}
	v.Add("key", "give a code or a name")
	return reference.Item{}, v.Err()
}
