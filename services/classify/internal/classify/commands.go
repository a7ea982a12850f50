package classify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/requestid"
)

// Decision is a dispatcher's ResolveReview or Reclassify.
type Decision struct {
	RequestID string
	CaseID    string
	ItemCode  string
	// Urgency overrides the urgency the item gives; "" keeps it.
	Urgency reference.Urgency
	Note    string
}

// Limits on what a request names.
const (
	// MaxNoteRunes bounds a decision's note.
	MaxNoteRunes = 2000
	// MaxCodeBytes bounds a case id, item, incident or area code.
	MaxCodeBytes = 64
	// MaxNameRunes bounds a catalogue name looked up.
	MaxNameRunes = 100
)

func (d *Decision) validate(ref *reference.Set) error {
	var v fault.Violations
	requestid.Check(d.RequestID, &v)
	if d.CaseID == "" {
		v.Add("case_id", "is required")
	}
	freetext.Code("case_id", d.CaseID, MaxCodeBytes, &v)
	n := len(v)
	freetext.Code("item_code", d.ItemCode, MaxCodeBytes, &v)
	switch {
	case len(v) > n:
	case d.ItemCode == "":
		v.Add("item_code", "is required")
	default:
		if _, ok := ref.Item(d.ItemCode); !ok {
			v.Add("item_code", "%q is not a catalogue item or class", d.ItemCode)
		}
	}
	if !d.Urgency.Valid() || strings.HasPrefix(string(d.Urgency), "enum#") {
		v.Add("urgency", "is not a known urgency")
	}
	freetext.Check("note", d.Note, MaxNoteRunes, false, &v)
	return v.Err()
}

// The service's methods, as pkg/policy's table names them.
var (
	opListReviewQueue   = policy.Method(policy.ClassifyService, "ListReviewQueue")
	opResolveReview     = policy.Method(policy.ClassifyService, "ResolveReview")
	opReclassify        = policy.Method(policy.ClassifyService, "Reclassify")
	opGetClassification = policy.Method(policy.ClassifyService, "GetClassification")
	opGetIncident       = policy.Method(policy.ClassifyService, "GetIncident")
	opListIncidents     = policy.Method(policy.ClassifyService, "ListIncidents")
	opListCorrections   = policy.Method(policy.ClassifyService, "ListCorrections")
	opReloadModel       = policy.Method(policy.ClassifyService, "ReloadModel")
	opRetrainModel      = policy.Method(policy.ClassifyService, "RetrainModel")
	opListModels        = policy.Method(policy.ClassifyService, "ListModels")
	opListCatalogue     = policy.Method(policy.ClassifyService, "ListCatalogue")
	opGetCatalogueItem  = policy.Method(policy.ClassifyService, "GetCatalogueItem")
)

// areaFacts are what a caller's scope decides a case or an incident on:
// classify keeps its area.
func areaFacts(a reference.AreaCodes) policy.CaseFacts {
	return policy.CaseFacts{District: a.District, Street: a.Street, Community: a.Community, Grid: a.Grid} // Grid: issue 20
}

// caseFacts adds the case's source to its area.
func caseFacts(c Case) policy.CaseFacts {
	f := areaFacts(c.Area)
	f.Source = string(c.Source)
	return f
}

// ResolveReview files a case waiting in the review queue (or filed under the
// catch-all after its review timed out) under the dispatcher's item. The
// decision is kept as a correction. A repeated request id with the same
// content returns the first result.
func (s *Service) ResolveReview(ctx context.Context, d Decision) (*Classification, error) {
	return s.decideOn(ctx, "resolve", d, func(rec *Record) error {
		if rec.Review == nil || rec.Review.State == ReviewResolved {
			return fault.New(fault.FailedPrecondition, "case %s is not in the review queue: use Reclassify", rec.Case.Number)
		}
		return nil
	}, MethodReview)
}

// Reclassify writes a new classification version of a classified case
// under the dispatcher's item; dispatch re-routes on it. The decision is
// kept as a correction. Reclassifying to what the case already has (item and
// urgency, reviewed) writes nothing and returns the current version.
func (s *Service) Reclassify(ctx context.Context, d Decision) (*Classification, error) {
	return s.decideOn(ctx, "reclassify", d, func(rec *Record) error {
		if rec.Current == nil {
			return fault.New(fault.FailedPrecondition, "case %s waits for its first review: use ResolveReview", rec.Case.Number)
		}
		return nil
	}, MethodReclassified)
}

func (s *Service) decideOn(ctx context.Context, op string, d Decision, check func(*Record) error, method Method) (*Classification, error) {
	rpcMethod := opResolveReview
	if op == "reclassify" {
		rpcMethod = opReclassify
	}
	p, sc, err := policy.Authorize(ctx, rpcMethod)
	if err != nil {
		return nil, err
	}
	ref := s.deps.Reference()
	d.Note = strings.TrimSpace(d.Note)
	if err := d.validate(ref); err != nil {
		return nil, err
	}
	item, _ := ref.Item(d.ItemCode)
	rpc := "ResolveReview"
	if op == "reclassify" {
		rpc = "Reclassify"
	}
	req := Request{Principal: p.String(), ID: d.RequestID, Method: rpc, Content: d}
	var (
		out   *Classification
		prior *StoredRequest
	)
	err = s.store.InTx(ctx, func(tx Tx) error {
		out = nil
		// The request comes first: a concurrent twin waits for this one
		// and then gets its answer. A repeat is answered below, outside
		// the transaction.
		var err error
		if prior, err = tx.BeginRequest(ctx, req); err != nil || prior != nil {
			return err
		}
		// The grouping lock next: refiling may touch other cases.
		if err := tx.LockGrouping(ctx); err != nil {
			return err
		}
		rec, err := tx.GetCase(ctx, d.CaseID)
		if errors.Is(err, ErrNotFound) {
			return sc.Missing("case "+d.CaseID, notFound(d.CaseID))
		}
		if err != nil {
			return err
		}
		if !sc.AllowsCase(caseFacts(rec.Case)) {
			return policy.ErrDenied("case " + d.CaseID) // before its state: outside the scope, nothing shows
		}
		if err := check(rec); err != nil {
			return err
		}
		now := s.deps.Now()
		prev := ""
		if rec.Current != nil {
			prev = rec.Current.ItemCode
		}
		if cur := rec.Current; op == "reclassify" && cur.ItemCode == d.ItemCode && !cur.Unreviewed &&
			(d.Urgency == "" || d.Urgency == cur.Urgency) {
			out = cur
			return tx.SaveRequest(ctx, req, StoredRequest{CaseID: rec.Case.ID, Version: cur.Version})
		}
		reason := fmt.Sprintf("%s by %s", map[string]string{"resolve": "review resolved", "reclassify": "reclassified"}[op], p)
		if prev != "" && prev != d.ItemCode {
			reason += fmt.Sprintf(": %s → %s", prev, d.ItemCode)
		}
		if d.Note != "" {
			reason += ": " + d.Note
		}
		cls, evs, err := s.refile(ctx, tx, rec, item, d.Urgency, method, p.Actor(), reason)
		if err != nil {
			return err
		}
		if rec.Review != nil && rec.Review.State != ReviewResolved {
			rec.Review.State, rec.Review.ResolvedBy, rec.Review.ResolvedAt = ReviewResolved, p.Actor(), now
			if err := tx.SaveCase(ctx, rec); err != nil {
				return err
			}
			if err := tx.CancelFallback(ctx, rec.Case.ID); err != nil {
				return err
			}
		}
		if err := tx.AddCorrection(ctx, &Correction{CaseID: rec.Case.ID, CaseNumber: rec.Case.Number, Text: rec.Case.Text(),
			ItemCode: item.Code, PreviousItem: prev, Actor: p.Actor(), At: now, Note: d.Note}); err != nil {
			return err
		}
		if err := tx.SaveRequest(ctx, req, StoredRequest{CaseID: rec.Case.ID, Version: cls.Version}); err != nil {
			return err
		}
		out = cls
		return tx.Emit(ctx, evs...)
	})
	if err != nil {
		return nil, err
	}
	if prior != nil {
		return s.version(ctx, prior.CaseID, prior.Version)
	}
	return out, nil
}

// version reads one stored classification version.
func (s *Service) version(ctx context.Context, caseID string, v int) (*Classification, error) {
	vs, err := s.store.Versions(ctx, caseID)
	if err != nil {
		return nil, err
	}
	for i := range vs {
		if vs[i].Version == v {
			return &vs[i], nil
		}
	}
	return nil, fmt.Errorf("case %s: version %d missing", caseID, v)
}
