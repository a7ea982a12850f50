package convert

import (
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
)

// WorkOrderIn maps a hotline work order as submitted.
func WorkOrderIn(w *intakev1.WorkOrder) intake.WorkOrder {
	return intake.WorkOrder{
		HotlineOrderNo: w.GetHotlineOrderNo(),
		AppealType:     wire.AppealTypeIn(w.GetAppealType()),
		Title:          w.GetTitle(),
		Content:        w.GetContent(),
		CallerName:     w.GetCallerName(),
		CallerPhone:    w.GetCallerPhone(),
		Anonymous:      w.GetAnonymous(),
		NoCallback:     w.GetNoCallback(),
		Address:        w.GetAddress(),
		Location:       LatLngIn(w.GetLocation()),
		DistrictCode:   w.GetDistrictCode(),
		StreetCode:     w.GetStreetCode(),
		CommunityCode:  w.GetCommunityCode(),
		GridCode:       w.GetGridCode(),
		Urgency:        wire.UrgencyIn(w.GetUrgency()),
		Attachments:    AttachmentsIn(w.GetAttachments()),
		AnsweredOnCall: w.GetAnsweredOnCall(),
		Answer:         w.GetAnswer(),
		ReceivedAt:     wire.TimeIn(w.GetReceivedAt()),
		// issue 20, places
		PrivateLocation: w.GetPrivateLocation(),
	}
}

func workOrderOut(wo *intake.WorkOrder) *intakev1.WorkOrder {
	if wo == nil {
		return nil
	}
	return &intakev1.WorkOrder{
		HotlineOrderNo: wo.HotlineOrderNo,
		ReceivedAt:     timestamppb.New(wo.ReceivedAt),
		AppealType:     wire.AppealTypeOut(wo.AppealType),
		Title:          wo.Title,
		Content:        wo.Content,
		CallerName:     wo.CallerName,
		CallerPhone:    wo.CallerPhone,
		Anonymous:      wo.Anonymous,
		NoCallback:     wo.NoCallback,
		Address:        wo.Address,
		Location:       LatLngOut(wo.Location),
		DistrictCode:   wo.DistrictCode,
		StreetCode:     wo.StreetCode,
		CommunityCode:  wo.CommunityCode,
		GridCode:       wo.GridCode,
		Urgency:        wire.UrgencyOut(wo.Urgency),
		Attachments:    AttachmentsOut(wo.Attachments),
		AnsweredOnCall: wo.AnsweredOnCall,
		Answer:         wo.Answer,
		// issue 20, places
		PrivateLocation: wo.PrivateLocation,
	}
}

// SubmissionOut maps a stored submission, whichever door it came through.
func SubmissionOut(s *intake.Submission) *intakev1.Submission {
	return &intakev1.Submission{
		CaseId:       s.CaseID,
		CaseNumber:   s.CaseNumber,
		Source:       wire.SourceOut(s.Source),
		AcceptedAt:   timestamppb.New(s.AcceptedAt),
		Area:         AreaOut(s.Area),
		Address:      wire.AddressOut(s.Address),
		Location:     LatLngOut(s.Location),
		WorkOrder:    workOrderOut(s.WorkOrder),
		PatrolReport: patrolOut(s.Patrol, s.SelfDisposal),
		Issue:        issueOut(s.Issue),
		Notes:        s.Notes,
		Withdrawn:    s.Withdrawn,
		FollowUps:    followUpsOut(s.FollowUps),
	}
}

func followUpsOut(fs []intake.FollowUp) []*intakev1.FollowUp {
	var out []*intakev1.FollowUp
	for i := range fs {
		out = append(out, FollowUpOut(&fs[i]))
	}
	return out
}

// SelfDisposalIn maps a report's "settled on the spot" (issue 20).
func SelfDisposalIn(r *intakev1.PatrolReport) intake.SelfDisposal {
	return intake.SelfDisposal{Settled: r.GetSelfDisposed(), Note: r.GetDisposalNote()}
}

// PatrolIn maps a grid worker's report as submitted.
func PatrolIn(r *intakev1.PatrolReport) intake.PatrolReport {
	return intake.PatrolReport{
		RequestID: r.GetRequestId(), WorkerID: r.GetWorkerId(), GridCode: r.GetGridCode(),
		CatalogueCode: r.GetCatalogueCode(), Description: r.GetDescription(),
		Location: LatLngIn(r.GetLocation()), Photos: AttachmentsIn(r.GetPhotos()),
		ObservedAt: wire.TimeIn(r.GetObservedAt()),
	}
}

func patrolOut(r *intake.PatrolReport, sd *intake.SelfDisposal) *intakev1.PatrolReport {
	if r == nil {
		return nil
	}
	out := patrolReportOut(r)
	if sd != nil { // self-disposal (issue 20)
		out.SelfDisposed, out.DisposalNote = true, sd.Note
	}
	return out
}

func patrolReportOut(r *intake.PatrolReport) *intakev1.PatrolReport {
	return &intakev1.PatrolReport{
		RequestId: r.RequestID, WorkerId: r.WorkerID, GridCode: r.GridCode, CatalogueCode: r.CatalogueCode,
		Description: r.Description, Location: LatLngOut(r.Location), Photos: AttachmentsOut(r.Photos),
		ObservedAt: timestamppb.New(r.ObservedAt),
	}
}

// IssueIn maps a community secretary's issue as raised.
func IssueIn(is *intakev1.Issue) intake.Issue {
	return intake.Issue{
		RequestID: is.GetRequestId(), SecretaryID: is.GetSecretaryId(), CommunityCode: is.GetCommunityCode(),
		Title: is.GetTitle(), Content: is.GetContent(), WhistleDepartments: is.GetWhistleDepartments(),
	}
}

func issueOut(is *intake.Issue) *intakev1.Issue {
	if is == nil {
		return nil
	}
	return &intakev1.Issue{
		RequestId: is.RequestID, SecretaryId: is.SecretaryID, CommunityCode: is.CommunityCode,
		Title: is.Title, Content: is.Content, WhistleDepartments: is.WhistleDepartments,
	}
}

var apiFollowUpKinds = wire.NewEnum(map[intake.FollowUpKind]intakev1.FollowUpKind{
	intake.FollowUpSupplement: intakev1.FollowUpKind_FOLLOW_UP_KIND_SUPPLEMENT,
	intake.FollowUpUrge:       intakev1.FollowUpKind_FOLLOW_UP_KIND_URGE,
	intake.FollowUpWithdraw:   intakev1.FollowUpKind_FOLLOW_UP_KIND_WITHDRAW,
})

// FollowUpKindIn maps the API's follow-up kind: UNSPECIFIED is "", a
// number this build does not know "enum#<n>", which the domain refuses with
// the field named.
func FollowUpKindIn(k intakev1.FollowUpKind) intake.FollowUpKind { return apiFollowUpKinds.In(k) }

// FollowUpOut maps a follow-up as the API answers it.
func FollowUpOut(f *intake.FollowUp) *intakev1.FollowUp {
	return &intakev1.FollowUp{FollowUpId: f.ID, CaseId: f.CaseID, CaseNumber: f.CaseNumber, Text: f.Text,
		AddedAt: timestamppb.New(f.AddedAt), Kind: apiFollowUpKinds.Out(f.Kind)}
}

// ContactOut maps a caller's full contact (ReadContact's answer only).
func ContactOut(c intake.Contact) *intakev1.Contact {
	return &intakev1.Contact{Name: c.Name, Phone: c.Phone, Anonymous: c.Anonymous, NoCallback: c.NoCallback,
		Address: c.Address, NormalisedAddress: wire.AddressOut(c.Normalised)}
}
