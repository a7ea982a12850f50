package intake

import (
	"context"
	"fmt"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
)

// FollowUpKind is what the hotline adds to a case.
type FollowUpKind string

// Follow-up kinds.
const (
	FollowUpSupplement FollowUpKind = "supplement" // 补充
	FollowUpUrge       FollowUpKind = "urge"       // 催单
	FollowUpWithdraw   FollowUpKind = "withdraw"   // 撤单
)

// FollowUp is one addition to a case.
type FollowUp struct {
	ID          string       `json:"ID"`
	CaseID      string       `json:"CaseID"`
	CaseNumber  string       `json:"CaseNumber"`
	Kind        FollowUpKind `json:"Kind"`
	Text        string       `json:"Text"`
	AddedAt     time.Time    `json:"AddedAt"`
	Principal   string       `json:"Principal"`
	RequestID   string       `json:"RequestID"`
	RequestHash string       `json:"RequestHash"`
	// Actor is who added it as the audit names them (the person too): the
	// actor of its case.followed_up, built in the same transaction. Not
	// stored beside the follow-up: the event is the record.
	Actor string `json:"-"`
}

// AddFollowUp adds a supplement, an urge or a withdrawal to a case named by
// its number or hotline order number, within the caller's scope (the
// hotline's: hotline cases). A withdrawn case takes no more follow-ups
// (FAILED_PRECONDITION); an unknown one is NOT_FOUND to admin and, like a
// case outside the scope, PERMISSION_DENIED to the hotline.
func (s *Service) AddFollowUp(ctx context.Context, k Key, f FollowUp) (*FollowUp, error) {
	p, sc, err := policy.Authorize(ctx, opAddFollowUp)
	if err != nil {
		return nil, err
	}
	normaliseStrings(&f.RequestID, &f.Text, &k.CaseNumber, &k.HotlineOrderNo)
	if err := checkFollowUp(k, f); err != nil {
		return nil, err
	}
	f.Principal, f.Actor, f.AddedAt = p.String(), p.Actor(), s.now().UTC()
	content := struct {
		K    Key
		Kind FollowUpKind
		Text string
	}{k, f.Kind, f.Text}
	f.RequestHash = hashOf(content)
	what := "case " + k.CaseNumber + k.HotlineOrderNo // exactly one is set
	loaded := false
	stored, created, err := s.store.AddFollowUp(ctx, k, &f, func(sub *Submission) error {
		loaded = true
		if !sc.AllowsCase(sub.Facts()) {
			return policy.ErrDenied(what) // before its state: outside the scope, nothing shows
		}
		switch {
		case sub.Withdrawn:
			return fault.New(fault.FailedPrecondition, "case %s was withdrawn", sub.CaseNumber)
		case sub.Closed:
			return fault.New(fault.FailedPrecondition, "case %s is closed", sub.CaseNumber)
		case sub.Answered():
			return fault.New(fault.FailedPrecondition, "case %s was answered on the call and is closed", sub.CaseNumber)
		}
		return nil
	})
	if !loaded && fault.KindOf(err) == fault.NotFound {
		return nil, sc.Missing(what, err)
	}
	if err != nil {
		return nil, fmt.Errorf("add follow-up: %w", err)
	}
	if !created && !sameRequest(stored.RequestHash, f.RequestHash, content) {
		return nil, fault.AlreadyExistsf("followups/"+stored.ID, "request id %s was already used with other content", f.RequestID)
	}
	return stored, nil
}

// checkFollowUp checks a follow-up and how it names its case, normalised.
func checkFollowUp(k Key, f FollowUp) error {
	var v fault.Violations
	checkRequestID("request_id", f.RequestID, &v)
	if (k.CaseNumber == "") == (k.HotlineOrderNo == "") {
		v.Add("case", "give exactly one of case_number, hotline_order_no")
	}
	checkKey(k, &v)
	switch f.Kind {
	case FollowUpSupplement, FollowUpWithdraw:
		freetext.Check("text", f.Text, MaxTextRunes, true, &v)
	case FollowUpUrge:
		freetext.Check("text", f.Text, MaxTextRunes, false, &v)
	case "":
		v.Add("kind", "is required (supplement, urge or withdraw)")
	default:
		v.Add("kind", "unknown value %q", f.Kind)
	}
	return v.Err()
}

// ListFilter selects submissions; PageToken continues a listing.
type ListFilter struct {
	Source           reference.Source
	District, Street string
	After, Before    time.Time
	PageSize         int
	PageToken        string
	// Scope is the caller's (pkg/policy); the store lists nothing outside it.
	Scope policy.Scope
}

// MaxPageSize bounds one page.
const MaxPageSize = 500

// ListSubmissions lists submissions newest first.
func (s *Service) ListSubmissions(ctx context.Context, f ListFilter) ([]*Submission, string, error) {
	_, sc, err := policy.Authorize(ctx, opListSubmissions)
	if err != nil {
		return nil, "", err
	}
	f.Scope = sc // the store filters by it in SQL
	if err := checkListFilter(&f); err != nil {
		return nil, "", err
	}
	subs, next, err := s.store.List(ctx, f)
	if err != nil {
		return nil, "", err
	}
	for i, sub := range subs {
		subs[i] = sub.Masked()
	}
	return subs, next, nil
}

// checkListFilter checks a listing's filter and settles its page size: the
// default for 0, at most MaxPageSize.
func checkListFilter(f *ListFilter) error {
	var v fault.Violations
	switch {
	case f.PageSize < 0:
		v.Add("page_size", "must not be negative")
	case f.PageSize == 0:
		f.PageSize = 50
	case f.PageSize > MaxPageSize:
		f.PageSize = MaxPageSize
	}
	if f.Source != "" && !f.Source.Valid() {
		v.Add("source", "unknown value %q", f.Source)
	}
	freetext.Code("district_code", f.District, MaxCodeBytes, &v)
	freetext.Code("street_code", f.Street, MaxCodeBytes, &v)
	checkQueryTime("accepted_after", f.After, &v)
	checkQueryTime("accepted_before", f.Before, &v)
	if !f.After.IsZero() && !f.Before.IsZero() && !f.After.Before(f.Before) {
		v.Add("accepted_after", "must be before accepted_before")
	}
	return v.Err()
}
