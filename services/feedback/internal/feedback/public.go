package feedback

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/redact"
	"github.com/gridflow/gridflow/pkg/reference"
)

// The public's read (Open311, issue 19): public-source cases only, whoever
// asks — the RPCs pin the source, so not even admin's call answers a 12345
// case here — masked and street-level.

// PublicFacts are what a public request adds to its case: the service the
// submitter asked for, the description (phone numbers masked) and the point
// rounded to about a block.
type PublicFacts struct {
	ServiceCode string  `json:"ServiceCode"`
	Description string  `json:"Description"`
	Located     bool    `json:"Located"`
	Lat         float64 `json:"Lat"`
	Lng         float64 `json:"Lng"`
	// MediaURL is the photo the submitter linked to (Open311 media_url):
	// an http(s) URL, as intake accepted it; "" when none.
	MediaURL string `json:"MediaURL,omitempty"`
}

var (
	opListPublicCases = policy.Method(policy.PublicCaseService, "ListPublicCases")
	opGetPublicCase   = policy.Method(policy.PublicCaseService, "GetPublicCase")
)

// PublicClosed are the states Open311 calls closed: the loop answered or
// ended for the public.
var PublicClosed = []State{Resolved, Replied, AwaitingRecheck, Closed, Withdrawn, Answered, Cancelled}

// IsPublicClosed reports whether c is closed for Open311.
func IsPublicClosed(c *Case) bool {
	for _, s := range PublicClosed {
		if c.State == s {
			return true
		}
	}
	return false
}

// PublicOpen are the other states.
var PublicOpen = []State{Received, ReviewNeeded, Classified, Dispatched, InProgress, Merged, Parked}

// PublicFilter narrows ListPublicCases.
type PublicFilter struct {
	CaseIDs     []string
	ServiceCode string
	From, To    time.Time
	// Closed: nil both, else only closed (true) or open (false) ones.
	Closed    *bool
	PageSize  int
	PageToken string
}

// MaxPublicIDs bounds the case ids one list names.
const MaxPublicIDs = 100

// PublicReply is the newest reply of c, phone numbers masked; "" when none.
func PublicReply(c *Case) string {
	if len(c.Replies) == 0 {
		return ""
	}
	return redact.Text(c.Replies[len(c.Replies)-1].Text)
}

// PublicView is a public case as the door shows it: the case and the
// department that answers for it — its own lead or, for a case merged into
// an incident, its primary's (DESIGN.md: a merged case has no tasks of its
// own and mirrors its primary). Of two reports of one problem either may
// open the incident; each submitter sees who acts on it.
type PublicView struct {
	*Case
	Lead string
}

// publicViews pairs cs with the departments that answer for them.
func (s *Service) publicViews(ctx context.Context, cs []*Case) ([]*PublicView, error) {
	leads, err := s.MirroredLeads(ctx, cs)
	if err != nil {
		return nil, err
	}
	out := make([]*PublicView, len(cs))
	for i, c := range cs {
		out[i] = &PublicView{Case: c, Lead: c.LeadDepartment()}
		if l, ok := leads[c.ID]; ok {
			out[i].Lead = l
		}
	}
	return out, nil
}

// MirroredLeads maps each merged case of cs without a lead of its own to its
// primary's lead department, the primaries read in one query: a merged case
// mirrors its incident's primary case (DESIGN.md), so whoever reads it —
// its reporter, a dispatcher — sees who acts on the problem, whichever of
// two racing reports opened the incident. A primary not yet dispatched has
// no lead, and its merged cases none either.
func (s *Service) MirroredLeads(ctx context.Context, cs []*Case) (map[string]string, error) {
	primaryOf := map[string]string{} // merged case → its primary
	for _, c := range cs {
		if c.Merged() && c.LeadDepartment() == "" {
			primaryOf[c.ID] = c.PrimaryCaseID
		}
	}
	if len(primaryOf) == 0 {
		return nil, nil
	}
	leads, err := s.reader.LeadDepartments(ctx, slices.Collect(maps.Values(primaryOf)))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for id, p := range primaryOf {
		if l := leads[p]; l != "" {
			out[id] = l
		}
	}
	return out, nil
}

// ListPublicCases lists public cases, newest first.
func (s *Service) ListPublicCases(ctx context.Context, pf PublicFilter) ([]*PublicView, string, error) {
	if _, _, err := policy.Authorize(ctx, opListPublicCases); err != nil {
		return nil, "", err
	}
	var vs fault.Violations
	if len(pf.CaseIDs) > MaxPublicIDs {
		vs.Add("case_ids", "names %d cases; at most %d", len(pf.CaseIDs), MaxPublicIDs)
	}
	for _, id := range pf.CaseIDs {
		if id == "" || len(id) > MaxCodeBytes {
			vs.Add("case_ids", "holds an empty or overlong case id")
			break
		}
	}
	if err := vs.Err(); err != nil {
		return nil, "", err
	}
	// The source is pinned: the scope is all public cases, whoever asks.
	f := Filter{Scope: policy.Scope{Kind: policy.Public}, Source: reference.FromPublic, ItemCode: "", From: pf.From, To: pf.To,
		PageSize: pf.PageSize, PageToken: pf.PageToken, CaseIDs: pf.CaseIDs, ServiceCode: pf.ServiceCode}
	if pf.Closed != nil {
		f.States = PublicOpen
		if *pf.Closed {
			f.States = PublicClosed
		}
	}
	if err := f.Validate(); err != nil {
		return nil, "", err
	}
	if len(pf.ServiceCode) > MaxCodeBytes {
		var vs fault.Violations
		vs.Add("service_code", "is longer than %d bytes", MaxCodeBytes)
		return nil, "", vs.Err()
	}
	cs, next, err := s.reader.ListCases(ctx, f)
	if err != nil {
		return nil, "", err
	}
	views, err := s.publicViews(ctx, cs)
	if err != nil {
		return nil, "", err
	}
	return views, next, nil
}

// GetPublicCase reads one public case by id or case number (GF-…). Any
// other — one that does not exist, a 12345 case — is the same
// PERMISSION_DENIED.
func (s *Service) GetPublicCase(ctx context.Context, id string) (*PublicView, error) {
	if _, _, err := policy.Authorize(ctx, opGetPublicCase); err != nil {
		return nil, err
	}
	if id == "" {
		var vs fault.Violations
		vs.Add("case_id", "is required")
		return nil, vs.Err()
	}
	number := ""
	if strings.HasPrefix(id, "GF-") {
		id, number = "", id
	}
	c, err := s.findCase(ctx, policy.Scope{Kind: policy.Public}, id, number, "")
	if err != nil {
		if k := fault.KindOf(err); k == fault.InvalidArgument {
			return nil, err
		}
		return nil, policy.ErrDenied("case " + id + number)
	}
	views, err := s.publicViews(ctx, []*Case{c})
	if err != nil {
		return nil, err
	}
	return views[0], nil
}
