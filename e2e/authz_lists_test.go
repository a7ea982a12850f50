package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// authzListsCalls are the calls of the matrix's ListsService rows (issue
// 20), each asking about 洪南山宅居民区 (zhijiang+"001"). ImportNeedsSurvey
// sends the same survey from every allowed column: the first imports it,
// the others are answered the first result.
func authzListsCalls(t *testing.T, s *stack, w *authzWorld) map[string]func(ctx context.Context, col string) error {
	lists := map[string]feedbackv1.ListsServiceClient{}
	for _, col := range append(append(slices.Clone(authzColumns), authzPublic), authzGridLeaders...) { // the grid leaders' columns too
		lists[col] = feedbackv1.NewListsServiceClient(authzDial(t, s, "feedback", col))
	}
	community := zhijiang + "001"
	now := time.Now()
	period := &feedbackv1.Period{Start: timestamppb.New(now.Add(-24 * time.Hour)), End: timestamppb.New(now.Add(time.Hour))}
	month := now.In(time.FixedZone("CST", 8*3600)).Format("2006-01")
	return map[string]func(ctx context.Context, col string) error{
		"ListsService/GetProblemList": func(ctx context.Context, col string) error {
			_, err := lists[col].GetProblemList(ctx, &feedbackv1.GetProblemListRequest{AreaCode: community, Period: period})
			return err
		},
		"ListsService/ImportNeedsSurvey": func(ctx context.Context, col string) error {
			st, err := lists[col].ImportNeedsSurvey(ctx)
			if err != nil {
				return err
			}
			_ = st.Send(&feedbackv1.ImportNeedsSurveyRequest{SurveyId: "az-" + w.run, Answers: []*feedbackv1.SurveyAnswer{
				{Line: 2, Household: "Q1", CommunityCode: community, Category: "SC01", Level: "中"}}})
			_, err = st.CloseAndRecv()
			return err
		},
		"ListsService/GetNeedsList": func(ctx context.Context, col string) error {
			_, err := lists[col].GetNeedsList(ctx, &feedbackv1.GetNeedsListRequest{AreaCode: community, Period: period})
			return err
		},
		"ListsService/GetServiceList": func(ctx context.Context, col string) error {
			_, err := lists[col].GetServiceList(ctx, &feedbackv1.GetServiceListRequest{AreaCode: community, Period: period})
			return err
		},
		"ListsService/GetMonthFigures": func(ctx context.Context, col string) error {
			_, err := lists[col].GetMonthFigures(ctx, &feedbackv1.GetMonthFiguresRequest{CommunityCode: community, Month: month})
			return err
		},
	}
}
