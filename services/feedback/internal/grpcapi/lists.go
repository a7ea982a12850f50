package grpcapi

// The three lists and the month's figures (issue 20).

import (
	"context"
	"errors"
	"io"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/services/feedback/internal/convert"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// Lists implements feedbackv1.ListsServiceServer.
type Lists struct {
	feedbackv1.UnimplementedListsServiceServer
	lists *feedback.Lists
}

// NewLists returns the lists' server.
func NewLists(l *feedback.Lists) *Lists { return &Lists{lists: l} }

func authorizeLists(ctx context.Context, rpc string) (auth.Principal, policy.Scope, error) {
	return policy.Authorize(ctx, policy.Method(policy.ListsService, rpc))
}

// GetProblemList ranks subjects and recurring places.
func (s *Lists) GetProblemList(ctx context.Context, req *feedbackv1.GetProblemListRequest) (*feedbackv1.GetProblemListResponse, error) {
	_, sc, err := authorizeLists(ctx, "GetProblemList")
	if err != nil {
		return nil, err
	}
	pl, err := s.lists.ProblemList(ctx, sc, req.GetAreaCode(), convert.PeriodIn(req.GetPeriod()), int(req.GetLimit()))
	if err != nil {
		return nil, err
	}
	resp := &feedbackv1.GetProblemListResponse{Total: int32(pl.Total), PlaceTotal: int32(pl.PlaceTotal)}
	for _, r := range pl.Subjects {
		resp.Subjects = append(resp.Subjects, problemRowOut(r))
	}
	for _, r := range pl.Places {
		resp.Places = append(resp.Places, problemRowOut(r))
	}
	return resp, nil
}

func problemRowOut(r feedback.ProblemRow) *feedbackv1.ProblemRow {
	return &feedbackv1.ProblemRow{Key: r.Category, Name: r.Name, Count: int32(r.Count), Share: r.Share, Cumulative: r.Cumulative,
		VitalFew: r.VitalFew}
}

// ImportNeedsSurvey aggregates a survey's answers as they arrive and
// stores the counts once the stream ends.
func (s *Lists) ImportNeedsSurvey(stream grpc.ClientStreamingServer[feedbackv1.ImportNeedsSurveyRequest, feedbackv1.ImportNeedsSurveyResponse]) error {
	ctx := stream.Context()
	p, sc, err := authorizeLists(ctx, "ImportNeedsSurvey")
	if err != nil {
		return err
	}
	var sv *feedback.Survey
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if sv == nil {
			if sv, err = s.lists.StartSurvey(sc, p.String(), req.GetSurveyId(), req.GetTitle()); err != nil {
				return err
			}
		} else if req.GetSurveyId() != sv.ID {
			return fieldError("survey_id", "changed within the stream: every message names the same survey")
		}
		answers := make([]feedback.SurveyAnswer, len(req.GetAnswers()))
		for i, a := range req.GetAnswers() {
			answers[i] = feedback.SurveyAnswer{Line: int(a.GetLine()), Household: a.GetHousehold(), Community: a.GetCommunityCode(),
				Category: a.GetCategory(), Level: a.GetLevel()}
		}
		if err := s.lists.Add(sc, sv, answers); err != nil {
			return err
		}
	}
	if sv == nil {
		return fieldError("survey_id", "is required: the stream sent nothing")
	}
	res, err := s.lists.Finish(ctx, sv)
	if err != nil {
		return err
	}
	return stream.SendAndClose(&feedbackv1.ImportNeedsSurveyResponse{SurveyId: res.SurveyID, Answers: int32(res.Answers),
		Households: int32(res.Households), Communities: int32(res.Communities), ImportedAt: timestamppb.New(res.ImportedAt),
		Replayed: res.Replayed})
}

// GetNeedsList ranks an area's needs.
func (s *Lists) GetNeedsList(ctx context.Context, req *feedbackv1.GetNeedsListRequest) (*feedbackv1.GetNeedsListResponse, error) {
	_, sc, err := authorizeLists(ctx, "GetNeedsList")
	if err != nil {
		return nil, err
	}
	nl, err := s.lists.NeedsList(ctx, sc, req.GetAreaCode(), convert.PeriodIn(req.GetPeriod()))
	if err != nil {
		return nil, err
	}
	resp := &feedbackv1.GetNeedsListResponse{AreaCode: nl.Area, Households: int32(nl.Households), Needs: needsOut(nl.Needs)}
	for _, sv := range nl.Surveys {
		resp.Surveys = append(resp.Surveys, &feedbackv1.SurveyRef{SurveyId: sv.SurveyID, Title: sv.Title, CommunityCode: sv.Community,
			Households: int32(sv.Households), ImportedAt: timestamppb.New(sv.ImportedAt)})
	}
	for _, u := range nl.Unmapped {
		resp.Unmapped = append(resp.Unmapped, &feedbackv1.ItemCount{ItemCode: u.Code, ItemName: u.Name, Count: int32(u.Count)})
	}
	return resp, nil
}

// GetServiceList matches an area's needs to its services.
func (s *Lists) GetServiceList(ctx context.Context, req *feedbackv1.GetServiceListRequest) (*feedbackv1.GetServiceListResponse, error) {
	_, sc, err := authorizeLists(ctx, "GetServiceList")
	if err != nil {
		return nil, err
	}
	nl, err := s.lists.ServiceList(ctx, sc, req.GetAreaCode(), convert.PeriodIn(req.GetPeriod()))
	if err != nil {
		return nil, err
	}
	return &feedbackv1.GetServiceListResponse{AreaCode: nl.Area, Needs: needsOut(nl.Needs)}, nil
}

func needsOut(ns []feedback.Need) []*feedbackv1.Need {
	out := make([]*feedbackv1.Need, 0, len(ns))
	for _, n := range ns {
		o := &feedbackv1.Need{CategoryCode: n.Category.Code, CategoryName: n.Category.Name, Asking: int32(n.Asking), Share: n.Share,
			Cases: int32(n.Cases)}
		for _, l := range n.Levels {
			o.Levels = append(o.Levels, int32(l))
		}
		for _, v := range n.Services {
			o.Services = append(o.Services, &feedbackv1.ServiceRef{Id: v.ID, Organisation: v.Organisation, Name: v.Name, Contact: v.Contact})
		}
		out = append(out, o)
	}
	return out
}

// GetMonthFigures computes a community's month.
func (s *Lists) GetMonthFigures(ctx context.Context, req *feedbackv1.GetMonthFiguresRequest) (*feedbackv1.GetMonthFiguresResponse, error) {
	_, sc, err := authorizeLists(ctx, "GetMonthFigures")
	if err != nil {
		return nil, err
	}
	mf, err := s.lists.MonthFigures(ctx, sc, req.GetCommunityCode(), req.GetMonth())
	if err != nil {
		return nil, err
	}
	resp := &feedbackv1.GetMonthFiguresResponse{CommunityCode: req.GetCommunityCode(), Month: mf.Month}
	for _, a := range mf.Areas {
		o := &feedbackv1.AreaMonth{AreaCode: a.Area.Code, AreaName: a.Area.Name, Level: a.Area.Level.String(), Cases: int32(a.Cases),
			ValidCallbacks: int32(a.Rates.Valid), ResponseRate: a.Rates.Response, ResolutionRate: a.Rates.Resolution,
			SatisfactionRate: a.Rates.Satisfied, Composite: a.Rates.Composite, ToHandle: int32(a.Counts.ToHandle),
			HandledOnTime: int32(a.Counts.HandledOnTime), OnTimeRate: a.OnTimeRate, SelfDisposed: int32(a.SelfDisposed),
			InspectionsDone: int32(a.Inspections.Done), InspectionsMissed: int32(a.Inspections.Missed)}
		for _, c := range a.Subjects {
			o.Subjects = append(o.Subjects, &feedbackv1.ItemCount{ItemCode: c.Code, ItemName: c.Name, Count: int32(c.Count)})
		}
		resp.Areas = append(resp.Areas, o)
	}
	return resp, nil
}

func fieldError(field, reason string) error {
	var vs fault.Violations
	vs.Add(field, "%s", reason)
	return vs.Err()
}
