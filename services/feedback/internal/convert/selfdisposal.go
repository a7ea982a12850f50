package convert

import (
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// Self-disposal (issue 20).

var verdictStatus = map[feedback.Verdict]feedbackv1.SelfDisposalStatus{
	feedback.VerdictPending:   feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_PENDING,
	feedback.VerdictConfirmed: feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_CONFIRMED,
	feedback.VerdictSentBack:  feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_SENT_BACK,
}

// SelfDisposalOut converts a self-disposed case's report and check; nil for
// a case that was not self-disposed.
func SelfDisposalOut(c *feedback.Case) *feedbackv1.SelfDisposal {
	sd := c.SelfDisposal
	if sd == nil {
		return nil
	}
	return &feedbackv1.SelfDisposal{CaseId: c.ID, CaseNumber: c.Number, Area: wire.AreaOut(c.Area), WorkerId: c.Worker, Title: c.Title,
		ItemCode: c.ItemCode, ItemName: c.ItemName, Note: sd.Note, Photos: sd.Photos, ReceivedAt: wire.TimeOut(c.ReceivedAt),
		Status: verdictStatus[sd.Verdict], CheckedBy: sd.CheckedBy, CheckedAt: wire.TimeOut(sd.CheckedAt), CheckNote: sd.CheckNote,
		State: StateOut(c.State)}
}

// SelfDisposalCountOut converts one count of 自处率.
func SelfDisposalCountOut(n feedback.SelfDisposalCount) *feedbackv1.SelfDisposalCount {
	return &feedbackv1.SelfDisposalCount{Key: n.Key, Reports: int32(n.Reports), SelfDisposed: int32(n.SelfDisposed), Rate: n.Rate(),
		Confirmed: int32(n.Confirmed), SentBack: int32(n.SentBack), Pending: int32(n.Pending())}
}
