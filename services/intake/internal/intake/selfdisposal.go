package intake

import (
	"context"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
)

// SelfDisposal (自行处置, issue 20) is a patrol report's "settled on the
// spot": the worker says what was done, the report's photos are the
// evidence. Intake records it with the submission and says so in
// case.received (self_disposed); dispatch never routes such a case unless
// the grid's leader sends it back, and feedback holds it for the leader's
// check.
type SelfDisposal struct {
	// Settled is the request's self_disposed; a submission keeps a
	// SelfDisposal only when it is set.
	Settled bool   `json:"Settled"`
	Note    string `json:"Note"`
}

// MaxDisposalNoteRunes bounds what a worker writes about what was done.
const MaxDisposalNoteRunes = 500

// check adds the self-disposal's problems as fields of the report (f is
// "report."): a note without settled, a settled report without a note or
// without a photo.
func (sd SelfDisposal) check(f string, photos int, v *fault.Violations) {
	if !sd.Settled {
		if sd.Note != "" {
			v.Add(f+"disposal_note", "is only for a report settled on the spot (self_disposed)")
		}
		return
	}
	freetext.Check(f+"disposal_note", sd.Note, MaxDisposalNoteRunes, true, v)
	if photos == 0 {
		v.Add(f+"photos", "a report settled on the spot (self_disposed) needs at least one photo as evidence")
	}
}

// settledContent is what a settled report's request id is fingerprinted
// over: the report and what was done. An unsettled report is fingerprinted
// over the report alone, as before self-disposal existed, so that stored
// requests keep their fingerprints.
type settledContent struct {
	Report       PatrolReport
	SelfDisposal SelfDisposal
}

// SubmitReport is SubmitPatrolReport with the report's self-disposal.
func (s *Service) SubmitReport(ctx context.Context, r PatrolReport, sd SelfDisposal) (*Submission, error) {
	return s.submitPatrol(ctx, r, sd)
}
