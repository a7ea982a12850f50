package grpcapi_test

import (
	"context"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/feedback/internal/postgres"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Hostile input: what a client gone wrong (or a malicious one) sends.
var (
	badUTF8    = "坏\xc3\x28字节"
	control    = "响铃\x07了"
	huge       = strings.Repeat("长", 100_000) // 300 kB: under the 4 MiB request limit, over every field's
	longID     = strings.Repeat("r", 65)
	farFuture  = timestamppb.New(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))
	overflowTS = &timestamppb.Timestamp{Seconds: math.MaxInt64}
	negativeTS = &timestamppb.Timestamp{Seconds: -62135596801} // before year 1
)

// TestHostileInput: every RPC of feedback, through the real gRPC server
// against real PostgreSQL, answers hostile input with INVALID_ARGUMENT
// naming the field (or the honest code: a replayed request id with other
// content is ALREADY_EXISTS), stores nothing (every table's row count is
// unchanged) and does not panic (a panic would answer INTERNAL).
func TestHostileInput(t *testing.T) {
	e := setup(t)
	replied := e.replied(zj)
	patrol := e.receive(typesv1.Source_SOURCE_PATROL, zj)
	e.classify(patrol, "")
	e.work(patrol, 0)
	// The first use of a request id, for the replays below: an unreached
	// callback leaves the case replied.
	hl, hctx := e.as("hotline")
	if _, err := hl.RecordCallback(hctx, &feedbackv1.RecordCallbackRequest{RequestId: "cb-1", CaseId: replied.id}); err != nil {
		t.Fatal(err)
	}
	march := &feedbackv1.Period{Start: timestamppb.New(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)),
		End: timestamppb.New(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))}

	type call func(ctx context.Context, c feedbackv1.FeedbackServiceClient) error
	callback := func(req *feedbackv1.RecordCallbackRequest) call {
		return func(ctx context.Context, c feedbackv1.FeedbackServiceClient) error {
			_, err := c.RecordCallback(ctx, req)
			return err
		}
	}
	recheck := func(req *feedbackv1.RecordRecheckRequest) call {
		return func(ctx context.Context, c feedbackv1.FeedbackServiceClient) error {
			_, err := c.RecordRecheck(ctx, req)
			return err
		}
	}
	list := func(req *feedbackv1.ListCasesRequest) call {
		return func(ctx context.Context, c feedbackv1.FeedbackServiceClient) error {
			_, err := c.ListCases(ctx, req)
			return err
		}
	}
	replies := func(req *feedbackv1.ListRepliesRequest) call {
		return func(ctx context.Context, c feedbackv1.FeedbackServiceClient) error {
			_, err := c.ListReplies(ctx, req)
			return err
		}
	}
	metrics := func(req *feedbackv1.GetMetricsRequest) call {
		return func(ctx context.Context, c feedbackv1.FeedbackServiceClient) error {
			_, err := c.GetMetrics(ctx, req)
			return err
		}
	}
	hotspots := func(req *feedbackv1.GetHotspotsRequest) call {
		return func(ctx context.Context, c feedbackv1.FeedbackServiceClient) error {
			_, err := c.GetHotspots(ctx, req)
			return err
		}
	}
	watch := func(req *feedbackv1.WatchCaseUpdatesRequest) call {
		return func(ctx context.Context, c feedbackv1.FeedbackServiceClient) error {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			s, err := c.WatchCaseUpdates(ctx, req)
			if err != nil {
				return err
			}
			for {
				if _, err := s.Recv(); err != nil {
					if err == io.EOF {
						return nil
					}
					return err
				}
			}
		}
	}
	const reached = true
	tests := []struct {
		name  string
		as    string
		call  call
		code  codes.Code
		field string
	}{
		// Oversized fields.
		{"callback note oversized", "hotline", callback(&feedbackv1.RecordCallbackRequest{RequestId: "h1", CaseId: replied.id, Note: huge}), codes.InvalidArgument, "note"},
		{"request id oversized", "hotline", callback(&feedbackv1.RecordCallbackRequest{RequestId: longID, CaseId: replied.id}), codes.InvalidArgument, "request_id"},
		{"case id oversized", "hotline", callback(&feedbackv1.RecordCallbackRequest{RequestId: "h2", CaseId: huge}), codes.InvalidArgument, "case_id"},
		{"too many photos", "admin", recheck(&feedbackv1.RecordRecheckRequest{RequestId: "h3", CaseId: patrol.id, Passed: true,
			Photos: strings.Split(strings.Repeat("s3://recheck/p.jpg,", 10_000), ",")[:10_000]}), codes.InvalidArgument, "photos"},
		{"photo reference oversized", "admin", recheck(&feedbackv1.RecordRecheckRequest{RequestId: "h4", CaseId: patrol.id, Passed: true,
			Photos: []string{huge}}), codes.InvalidArgument, "photos[0]"},
		{"case number oversized", "admin", func(ctx context.Context, c feedbackv1.FeedbackServiceClient) error {
			_, err := c.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseNumber: huge})
			return err
		}, codes.InvalidArgument, "case_number"},
		{"listed area oversized", "admin", list(&feedbackv1.ListCasesRequest{AreaCode: huge}), codes.InvalidArgument, "area_code"},

		// Invalid UTF-8.
		{"callback note invalid UTF-8", "hotline", callback(&feedbackv1.RecordCallbackRequest{RequestId: "h10", CaseId: replied.id, Note: badUTF8}), codes.InvalidArgument, "note"},
		{"callback request id invalid UTF-8", "hotline", callback(&feedbackv1.RecordCallbackRequest{RequestId: badUTF8, CaseId: replied.id}), codes.InvalidArgument, "request_id"},
		{"callback case id invalid UTF-8", "hotline", callback(&feedbackv1.RecordCallbackRequest{RequestId: "h11", CaseId: badUTF8}), codes.InvalidArgument, "case_id"},
		{"photo invalid UTF-8", "admin", recheck(&feedbackv1.RecordRecheckRequest{RequestId: "h12", CaseId: patrol.id, Photos: []string{badUTF8}}), codes.InvalidArgument, "photos[0]"},
		{"order number invalid UTF-8", "admin", func(ctx context.Context, c feedbackv1.FeedbackServiceClient) error {
			_, err := c.GetCaseTimeline(ctx, &feedbackv1.GetCaseTimelineRequest{HotlineOrderNo: badUTF8})
			return err
		}, codes.InvalidArgument, "hotline_order_no"},
		{"listed area invalid UTF-8", "admin", list(&feedbackv1.ListCasesRequest{AreaCode: badUTF8}), codes.InvalidArgument, "area_code"},
		{"listed department invalid UTF-8", "admin", list(&feedbackv1.ListCasesRequest{DepartmentCode: badUTF8}), codes.InvalidArgument, "department_code"},
		{"listed item invalid UTF-8", "admin", list(&feedbackv1.ListCasesRequest{ItemCode: badUTF8}), codes.InvalidArgument, "item_code"},
		{"replies of a case id in invalid UTF-8", "admin", replies(&feedbackv1.ListRepliesRequest{CaseId: badUTF8}), codes.InvalidArgument, "case_id"},
		{"figures code invalid UTF-8", "admin", metrics(&feedbackv1.GetMetricsRequest{Scope: feedbackv1.Scope_SCOPE_DEPARTMENT, Code: badUTF8, Period: march}), codes.InvalidArgument, "code"},
		{"pareto area invalid UTF-8", "admin", func(ctx context.Context, c feedbackv1.FeedbackServiceClient) error {
			_, err := c.GetPareto(ctx, &feedbackv1.GetParetoRequest{AreaCode: badUTF8, Period: march})
			return err
		}, codes.InvalidArgument, "area_code"},
		{"hotspots area invalid UTF-8", "admin", hotspots(&feedbackv1.GetHotspotsRequest{AreaCode: badUTF8, Period: march}), codes.InvalidArgument, "area_code"},
		{"watched case id invalid UTF-8", "hotline", watch(&feedbackv1.WatchCaseUpdatesRequest{CaseId: badUTF8, Cursor: "0"}), codes.InvalidArgument, "case_id"},

		// Control characters.
		{"callback note with a control character", "hotline", callback(&feedbackv1.RecordCallbackRequest{RequestId: "h20", CaseId: replied.id, Note: control}), codes.InvalidArgument, "note"},
		{"recheck note with NUL", "admin", recheck(&feedbackv1.RecordRecheckRequest{RequestId: "h21", CaseId: patrol.id, Passed: true, Note: "复核\x00"}), codes.InvalidArgument, "note"},
		{"photo with a newline", "admin", recheck(&feedbackv1.RecordRecheckRequest{RequestId: "h22", CaseId: patrol.id, Passed: true, Photos: []string{"s3://a\nb"}}), codes.InvalidArgument, "photos[0]"},
		{"request id with NUL", "hotline", callback(&feedbackv1.RecordCallbackRequest{RequestId: "a\x00b", CaseId: replied.id}), codes.InvalidArgument, "request_id"},
		{"listed area with an escape", "admin", list(&feedbackv1.ListCasesRequest{AreaCode: "310106\x1b[2J"}), codes.InvalidArgument, "area_code"},

		// Page sizes, tokens, cursors.
		{"negative page size", "admin", list(&feedbackv1.ListCasesRequest{PageSize: -1}), codes.InvalidArgument, "page_size"},
		{"most negative page size", "admin", replies(&feedbackv1.ListRepliesRequest{PageSize: math.MinInt32}), codes.InvalidArgument, "page_size"},
		{"huge page size is coerced", "admin", func(ctx context.Context, c feedbackv1.FeedbackServiceClient) error {
			resp, err := c.ListCases(ctx, &feedbackv1.ListCasesRequest{PageSize: math.MaxInt32})
			if err == nil && len(resp.GetCases()) != 2 {
				t.Errorf("huge page: %d cases, want both", len(resp.GetCases()))
			}
			return err
		}, codes.OK, ""},
		{"forged page token", "admin", list(&feedbackv1.ListCasesRequest{PageToken: "forged"}), codes.InvalidArgument, "page_token"},
		{"page token invalid UTF-8", "admin", replies(&feedbackv1.ListRepliesRequest{PageToken: badUTF8}), codes.InvalidArgument, "page_token"},
		{"oversized page token", "admin", list(&feedbackv1.ListCasesRequest{PageToken: huge}), codes.InvalidArgument, "page_token"},
		{"negative cursor", "hotline", watch(&feedbackv1.WatchCaseUpdatesRequest{Cursor: "-5"}), codes.InvalidArgument, "cursor"},
		{"cursor overflows", "hotline", watch(&feedbackv1.WatchCaseUpdatesRequest{Cursor: "99999999999999999999999"}), codes.InvalidArgument, "cursor"},

		// Absurd numbers and times.
		{"received from past the end of time", "admin", list(&feedbackv1.ListCasesRequest{ReceivedFrom: overflowTS}), codes.InvalidArgument, "received_from"},
		{"received to before year 1", "admin", list(&feedbackv1.ListCasesRequest{ReceivedTo: negativeTS}), codes.InvalidArgument, "received_to"},
		{"replies since year 9999", "admin", replies(&feedbackv1.ListRepliesRequest{Since: farFuture}), codes.InvalidArgument, "since"},
		{"figures from past the end of time", "admin", metrics(&feedbackv1.GetMetricsRequest{Scope: feedbackv1.Scope_SCOPE_CITY,
			Period: &feedbackv1.Period{Start: timestamppb.New(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)), End: overflowTS}}), codes.InvalidArgument, "period.end"},
		{"figures over ten thousand years", "admin", metrics(&feedbackv1.GetMetricsRequest{Scope: feedbackv1.Scope_SCOPE_CITY,
			Period: &feedbackv1.Period{Start: negativeTS, End: farFuture}}), codes.InvalidArgument, "period.start"},
		{"figures without a period", "admin", metrics(&feedbackv1.GetMetricsRequest{Scope: feedbackv1.Scope_SCOPE_CITY}), codes.InvalidArgument, "period.start"},
		{"negative baseline windows", "admin", hotspots(&feedbackv1.GetHotspotsRequest{Period: march, BaselineWindows: -1}), codes.InvalidArgument, "baseline_windows"},
		{"huge baseline windows", "admin", hotspots(&feedbackv1.GetHotspotsRequest{Period: march, BaselineWindows: math.MaxInt32}), codes.InvalidArgument, "baseline_windows"},
		{"negative minimum count", "admin", hotspots(&feedbackv1.GetHotspotsRequest{Period: march, MinCount: -7}), codes.InvalidArgument, "min_count"},
		{"minimum score not a number", "admin", hotspots(&feedbackv1.GetHotspotsRequest{Period: march, MinScore: math.NaN()}), codes.InvalidArgument, "min_score"},
		{"infinite minimum score", "admin", hotspots(&feedbackv1.GetHotspotsRequest{Period: march, MinScore: math.Inf(-1)}), codes.InvalidArgument, "min_score"},

		// Unknown enums.
		{"unknown figures scope", "admin", metrics(&feedbackv1.GetMetricsRequest{Scope: 99, Period: march}), codes.InvalidArgument, "scope"},
		{"unknown case state", "admin", list(&feedbackv1.ListCasesRequest{States: []feedbackv1.CaseState{99}}), codes.InvalidArgument, "states[0]"},
		{"unknown source", "admin", list(&feedbackv1.ListCasesRequest{Source: 42}), codes.InvalidArgument, "source"},
		{"unknown satisfaction", "hotline", callback(&feedbackv1.RecordCallbackRequest{RequestId: "h40", CaseId: replied.id, Reached: reached, Solved: true,
			Satisfaction: 99}), codes.InvalidArgument, "satisfaction"},
		{"unknown satisfaction, unreached", "hotline", callback(&feedbackv1.RecordCallbackRequest{RequestId: "h41", CaseId: replied.id,
			Satisfaction: -1}), codes.InvalidArgument, "satisfaction"},

		// Replayed request ids with other content.
		{"replayed callback with other content", "hotline", callback(&feedbackv1.RecordCallbackRequest{RequestId: "cb-1", CaseId: replied.id, Reached: reached,
			Solved: true, Satisfaction: eventsv1.Satisfaction_SATISFACTION_SATISFIED}), codes.AlreadyExists, ""},
		{"replayed callback id for a re-check", "hotline", func(ctx context.Context, c feedbackv1.FeedbackServiceClient) error {
			// The hotline may not re-check; admin replays its own id below.
			_, err := c.RecordCallback(ctx, &feedbackv1.RecordCallbackRequest{RequestId: "cb-1", CaseId: replied.id, Note: "再打一次"})
			return err
		}, codes.AlreadyExists, ""},
		{"replay with the same content answers as the first time", "hotline", func(ctx context.Context, c feedbackv1.FeedbackServiceClient) error {
			resp, err := c.RecordCallback(ctx, &feedbackv1.RecordCallbackRequest{RequestId: "cb-1", CaseId: replied.id})
			if err == nil && resp.GetCase().GetCaseId() != replied.id {
				t.Errorf("replay answered %v", resp.GetCase())
			}
			return err
		}, codes.OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := testenv.Rows(t, e.pool, postgres.Schema)
			c, ctx := e.as(tt.as)
			testenv.Refused(t, tt.call(ctx, c), tt.code, tt.field)
			testenv.SameRows(t, before, testenv.Rows(t, e.pool, postgres.Schema))
		})
	}
}
