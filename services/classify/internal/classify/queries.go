package classify

import (
	"context"
	"errors"

	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
)

// narrow checks a list's district or street filter lies within the
// caller's scope (naming another's area is PERMISSION_DENIED, not an empty
// page); the store then lists only what the scope covers.
func narrow(sc policy.Scope, district, street string) error {
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
	if id == "" {
		var v fault.Violations
		v.Add("incident_id", "is required")
		return nil, nil, v.Err()
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
	ref := s.deps.Reference()
	switch {
	case code != "" && name != "":
		var v fault.Violations
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
	var v fault.Violations
	v.Add("key", "give a code or a name")
	return reference.Item{}, v.Err()
}
