package feedback

// Self-disposal (自行处置, issue 20). A grid worker's patrol report may say
// it was settled on the spot, with photos as evidence. Feedback holds such a
// case in its own state, self_disposed, outside the loop (dispatch never
// routes it), until the grid's leader checks it: confirmed closes the case
// (reason self_disposal_confirmed); sent back puts it into the loop, and
// dispatch routes it as any patrol case (case.self_disposal_checked, which
// dispatch consumes). The check is feedback's because feedback owns the
// case's state and every figure, 自处率 among them; intake only records
// the report as received.

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/policy"
)

// Verdict is the grid leader's verdict on a self-disposal; "" while it
// waits for one.
type Verdict string

// Verdicts.
const (
	VerdictPending   Verdict = ""
	VerdictConfirmed Verdict = "confirmed"
	VerdictSentBack  Verdict = "sent_back"
)

// SelfDisposal is a self-disposed patrol case's report and its check.
type SelfDisposal struct {
	// Note is what the worker did on the spot (masked free text).
	Note string `json:"Note"`
	// Photos are the evidence's references.
	Photos    []string  `json:"Photos"`
	Verdict   Verdict   `json:"Verdict,omitempty"`
	CheckID   string    `json:"CheckID,omitempty"`
	CheckedBy string    `json:"CheckedBy,omitempty"`
	CheckedAt time.Time `json:"CheckedAt,omitzero"`
	CheckNote string    `json:"CheckNote,omitempty"`
}

// pending reports whether sd waits for the grid leader's check.
func (sd *SelfDisposal) pending() bool { return sd != nil && sd.Verdict == VerdictPending }

// CaseSelfDisposalChecked is the grid leader's check (feedback's own event,
// case.self_disposal_checked).
type CaseSelfDisposalChecked struct {
	Round   int
	CheckID string
	Verdict Verdict
	Note    string
	Worker  string
	Grid    string
}

func (f *CaseSelfDisposalChecked) apply(c *Case, e *Event) {
	if c.SelfDisposal == nil {
		c.SelfDisposal = &SelfDisposal{}
	}
	if c.SelfDisposal.Verdict != VerdictPending {
		return // the first check stands
	}
	sd := c.SelfDisposal
	sd.Verdict, sd.CheckID, sd.CheckedBy, sd.CheckedAt, sd.CheckNote = f.Verdict, f.CheckID, e.Actor, e.At, f.Note
}

// CloseSelfDisposalConfirmed is the close reason of a confirmed
// self-disposal.
const CloseSelfDisposalConfirmed = "self_disposal_confirmed"

// CheckInput is a grid leader's check of a self-disposal.
type CheckInput struct {
	RequestID string
	CaseID    string
	Verdict   Verdict
	Note      string
}

// Validate checks the request alone: request id, case id, a verdict, and a
// note (required when sending back: what is still wrong).
func (in CheckInput) Validate() error {
	var vs fault.Violations
	checkRequest(&vs, in.RequestID, in.CaseID, in.Note)
	switch in.Verdict {
	case VerdictConfirmed:
	case VerdictSentBack:
		if strings.TrimSpace(in.Note) == "" {
			vs.Add("note", "is required when sending a self-disposal back: say what is still wrong")
		}
	default:
		vs.Add("verdict", "must be confirmed or sent_back")
	}
	return vs.Err()
}

// CheckSelfDisposal records the check of a self-disposed case waiting for
// one, within sc: confirmed closes it, sent back puts it into the loop. A
// case not waiting for a check is FAILED_PRECONDITION; a repeated request
// id returns the first result.
func (s *Service) CheckSelfDisposal(ctx context.Context, sc policy.Scope, actor string, in CheckInput) (*Case, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	in.CaseID = strings.ToLower(in.CaseID) // as the log keys it
	req := Request{Principal: principalOf(actor), ID: in.RequestID, Method: "CheckSelfDisposal", Content: in}
	var out *Case
	err := s.store.Command(ctx, req, in.CaseID, func(tx Tx) error {
		if c, _, done, err := s.replay(ctx, tx, req, in.CaseID); done || err != nil {
			out = c
			return err
		}
		m, c, err := s.begin(ctx, tx, in.CaseID)
		if err := within(sc, "case "+in.CaseID, c, err); err != nil {
			return err // before its state: outside the scope, nothing shows
		}
		if c.State != SelfDisposed {
			return fault.New(fault.FailedPrecondition, "case %s is %s: a check needs a self-disposed case waiting for one", c.Number, c.State)
		}
		ck := &CaseSelfDisposalChecked{Round: c.Round, CheckID: uuid.Must(uuid.NewV7()).String(), Verdict: in.Verdict, Note: in.Note,
			Worker: c.Worker, Grid: c.Area.Grid}
		evs := []Event{{Actor: actor, Fact: ck}}
		if in.Verdict == VerdictConfirmed {
			evs = append(evs, Event{Actor: actor, Fact: &CaseClosed{Round: c.Round, Reason: CloseSelfDisposalConfirmed}})
		}
		for i := range evs {
			m.emit(ctx, c, &evs[i])
		}
		if out, err = m.finish(ctx, in.CaseID, true); err != nil {
			return err
		}
		return tx.SaveRequest(ctx, req, "cases/"+in.CaseID+"/self_disposal_checks/"+ck.CheckID, ck.CheckID)
	})
	return out, err
}

// SelfDisposalFilter lists self-disposals: the caller's scope (applied in
// the query), an area inside it, a status, a page.
type SelfDisposalFilter struct {
	Scope     policy.Scope
	Area      string
	Status    SelfDisposalStatus
	PageSize  int
	PageToken string
}

// SelfDisposalStatus is where a listed self-disposal stands.
type SelfDisposalStatus string

// Statuses a list asks for.
const (
	StatusPending   SelfDisposalStatus = "pending"
	StatusConfirmed SelfDisposalStatus = "confirmed"
	StatusSentBack  SelfDisposalStatus = "sent_back"
)

// SelfDisposalCount is one grid's, one worker's or the total's count of
// patrol reports received in a period.
type SelfDisposalCount struct {
	Key                                        string
	Reports, SelfDisposed, Confirmed, SentBack int
}

// Pending is how many self-disposals wait for their check.
func (c SelfDisposalCount) Pending() int { return c.SelfDisposed - c.Confirmed - c.SentBack }

// Rate is 自处率: self-disposed reports over all patrol reports, 0 when
// there were none.
func (c SelfDisposalCount) Rate() float64 {
	if c.Reports == 0 {
		return 0
	}
	return float64(c.SelfDisposed) / float64(c.Reports)
}

// SelfDisposalFigures are 自处率 per grid and per worker, and the total.
type SelfDisposalFigures struct {
	Area           string
	Total          SelfDisposalCount
	Grids, Workers []SelfDisposalCount
}

// SelfDisposalReader is the store's side of self-disposal: lists and
// counts in SQL over feedback's views.
type SelfDisposalReader interface {
	ListSelfDisposals(ctx context.Context, f SelfDisposalFilter) ([]*Case, string, error)
	// CountSelfDisposals counts the patrol reports received in p within sc
	// and area ("" all of sc).
	CountSelfDisposals(ctx context.Context, sc policy.Scope, area string, p Period) (SelfDisposalFigures, error)
}

// SelfDisposals answers the grid leader's reads.
type SelfDisposals struct {
	reader SelfDisposalReader
}

// NewSelfDisposals returns the reads over reader.
func NewSelfDisposals(reader SelfDisposalReader) *SelfDisposals {
	return &SelfDisposals{reader: reader}
}

// selfDisposalArea is the area a self-disposal read covers: the one asked
// for, inside the caller's reach (a grid leader's grid, a dispatcher's
// street or district, any for admin); "" asks for the whole reach.
func selfDisposalArea(sc policy.Scope, area string) (string, error) {
	switch sc.Kind {
	case policy.All:
		return area, nil
	case policy.Grid, policy.Street, policy.District:
		if area == "" {
			return sc.Code, nil
		}
		if sc.AllowsArea(area) {
			return area, nil
		}
		return "", fault.New(fault.PermissionDenied, "area %s is outside the caller's %v", area, sc)
	}
	return "", fault.New(fault.PermissionDenied, "the caller's %v reads no self-disposals", sc)
}

// List lists self-disposals oldest first, pending ones unless f.Status says.
func (r *SelfDisposals) List(ctx context.Context, f SelfDisposalFilter) ([]*Case, string, error) {
	var vs fault.Violations
	freetext.Code("area_code", f.Area, MaxCodeBytes, &vs)
	if f.PageSize < 0 {
		vs.Add("page_size", "must not be negative")
	}
	switch f.Status {
	case "":
		f.Status = StatusPending
	case StatusPending, StatusConfirmed, StatusSentBack:
	default:
		vs.Add("status", "must be pending, confirmed or sent_back")
	}
	if err := vs.Err(); err != nil {
		return nil, "", err
	}
	area, err := selfDisposalArea(f.Scope, f.Area)
	if err != nil {
		return nil, "", err
	}
	f.Area = area
	return r.reader.ListSelfDisposals(ctx, f)
}

// Figures counts 自处率 per grid and per worker over patrol reports
// received in p, within sc and area.
func (r *SelfDisposals) Figures(ctx context.Context, sc policy.Scope, area string, p Period) (SelfDisposalFigures, error) {
	var vs fault.Violations
	freetext.Code("area_code", area, MaxCodeBytes, &vs)
	if p.check(&vs); vs.Err() != nil {
		return SelfDisposalFigures{}, vs.Err()
	}
	area, err := selfDisposalArea(sc, area)
	if err != nil {
		return SelfDisposalFigures{}, err
	}
	f, err := r.reader.CountSelfDisposals(ctx, sc, area, p)
	f.Area = area
	return f, err
}
