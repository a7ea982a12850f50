package grpcapi_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/intake/internal/postgres"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Hostile input: what a client gone wrong (or a malicious one) sends.
var (
	badUTF8    = "坏\xc3\x28字节"
	huge       = strings.Repeat("长", 100_000) // 300 kB: under the 4 MiB request limit, over every field's
	farFuture  = timestamppb.New(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))
	overflowTS = &timestamppb.Timestamp{Seconds: math.MaxInt64}
	negativeTS = &timestamppb.Timestamp{Seconds: -62135596801} // before year 1
)

// TestHostileInput: every RPC of intake, through the real gRPC server
// against real PostgreSQL, answers hostile input with INVALID_ARGUMENT
// naming the field (or the honest code: a hotline order number or request
// id replayed with other content is ALREADY_EXISTS), stores nothing (every
// table's row count is unchanged) and does not panic (a panic would answer
// INTERNAL).
func TestHostileInput(t *testing.T) {
	e := setup(t)
	hl, hctx := e.as(t, "hotline")
	first, err := hl.SubmitWorkOrder(hctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: order("H-1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hl.AddFollowUp(hctx, &intakev1.AddFollowUpRequest{RequestId: "fu-1", Case: &intakev1.AddFollowUpRequest_HotlineOrderNo{HotlineOrderNo: "H-1"},
		Kind: intakev1.FollowUpKind_FOLLOW_UP_KIND_SUPPLEMENT, Text: "烧烤摊在5号门口"}); err != nil {
		t.Fatal(err)
	}
	const patrol, secretary = "patrol:w-17", "secretary:310106022002"
	report := func() *intakev1.PatrolReport {
		return &intakev1.PatrolReport{RequestId: "p-1", Description: "临汾路消防通道被私家车占用",
			Location: &typesv1.LatLng{Lat: 31.2980, Lng: 121.4500, Datum: typesv1.Datum_DATUM_WGS84}}
	}
	pc, pctx := e.as(t, patrol)
	if _, err := pc.SubmitPatrolReport(pctx, &intakev1.SubmitPatrolReportRequest{Report: report()}); err != nil {
		t.Fatal(err)
	}
	issue := func() *intakev1.Issue {
		return &intakev1.Issue{RequestId: "i-1", Title: "小区门口占道经营", Content: "普善路小区门口长期有流动摊贩占道经营。"}
	}
	sc, sctx := e.as(t, secretary)
	if _, err := sc.RaiseIssue(sctx, &intakev1.RaiseIssueRequest{Issue: issue()}); err != nil {
		t.Fatal(err)
	}
	testenv.OutboxDrained(t, e.pool, postgres.Schema)

	type call func(ctx context.Context, c intakev1.IntakeServiceClient) error
	submit := func(mutate func(*intakev1.WorkOrder)) call {
		return func(ctx context.Context, c intakev1.IntakeServiceClient) error {
			wo := order("H-2")
			mutate(wo)
			_, err := c.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
			return err
		}
	}
	report2 := func(mutate func(*intakev1.PatrolReport)) call {
		return func(ctx context.Context, c intakev1.IntakeServiceClient) error {
			r := report()
			r.RequestId = "p-2"
			mutate(r)
			_, err := c.SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: r})
			return err
		}
	}
	raise := func(mutate func(*intakev1.Issue)) call {
		return func(ctx context.Context, c intakev1.IntakeServiceClient) error {
			i := issue()
			i.RequestId = "i-2"
			mutate(i)
			_, err := c.RaiseIssue(ctx, &intakev1.RaiseIssueRequest{Issue: i})
			return err
		}
	}
	followUp := func(req *intakev1.AddFollowUpRequest) call {
		return func(ctx context.Context, c intakev1.IntakeServiceClient) error {
			if req.Case == nil {
				req.Case = &intakev1.AddFollowUpRequest_HotlineOrderNo{HotlineOrderNo: "H-1"}
			}
			if req.Kind == 0 {
				req.Kind = intakev1.FollowUpKind_FOLLOW_UP_KIND_URGE
			}
			_, err := c.AddFollowUp(ctx, req)
			return err
		}
	}
	list := func(req *intakev1.ListSubmissionsRequest) call {
		return func(ctx context.Context, c intakev1.IntakeServiceClient) error {
			_, err := c.ListSubmissions(ctx, req)
			return err
		}
	}
	get := func(req *intakev1.GetSubmissionRequest) call {
		return func(ctx context.Context, c intakev1.IntakeServiceClient) error {
			_, err := c.GetSubmission(ctx, req)
			return err
		}
	}
	tests := []struct {
		name  string
		as    string
		call  call
		code  codes.Code
		field string
	}{
		// Oversized fields.
		{"content oversized", "hotline", submit(func(w *intakev1.WorkOrder) { w.Content = huge }), codes.InvalidArgument, "work_order.content"},
		{"order number oversized", "hotline", submit(func(w *intakev1.WorkOrder) { w.HotlineOrderNo = strings.Repeat("9", 65) }), codes.InvalidArgument, "work_order.hotline_order_no"},
		{"too many attachments", "hotline", submit(func(w *intakev1.WorkOrder) {
			for range 21 {
				w.Attachments = append(w.Attachments, &typesv1.Attachment{Uri: "s3://a/b.jpg"})
			}
		}), codes.InvalidArgument, "work_order.attachments"},
		{"attachment uri oversized", "hotline", submit(func(w *intakev1.WorkOrder) {
			w.Attachments = []*typesv1.Attachment{{Uri: "s3://" + strings.Repeat("a", 3000)}}
		}), codes.InvalidArgument, "work_order.attachments[0].uri"},
		{"patrol description oversized", patrol, report2(func(r *intakev1.PatrolReport) { r.Description = huge }), codes.InvalidArgument, "report.description"},
		{"too many photos", patrol, report2(func(r *intakev1.PatrolReport) {
			for range 1000 {
				r.Photos = append(r.Photos, &typesv1.Attachment{Uri: "s3://p/1.jpg"})
			}
		}), codes.InvalidArgument, "report.photos"},
		{"issue title oversized", secretary, raise(func(i *intakev1.Issue) { i.Title = huge }), codes.InvalidArgument, "issue.title"},
		{"too many whistled departments", secretary, raise(func(i *intakev1.Issue) {
			for range 1000 {
				i.WhistleDepartments = append(i.WhistleDepartments, "310106022-cgzd")
			}
		}), codes.InvalidArgument, "issue.whistle_departments"},
		{"follow-up text oversized", "hotline", followUp(&intakev1.AddFollowUpRequest{RequestId: "h1", Text: huge}), codes.InvalidArgument, "text"},
		{"follow-up request id oversized", "hotline", followUp(&intakev1.AddFollowUpRequest{RequestId: strings.Repeat("r", 65)}), codes.InvalidArgument, "request_id"},
		{"case number oversized", "hotline", get(&intakev1.GetSubmissionRequest{Key: &intakev1.GetSubmissionRequest_CaseNumber{CaseNumber: huge}}), codes.InvalidArgument, "case_number"},
		{"listed street oversized", "hotline", list(&intakev1.ListSubmissionsRequest{StreetCode: huge}), codes.InvalidArgument, "street_code"},

		// Invalid UTF-8.
		{"title invalid UTF-8", "hotline", submit(func(w *intakev1.WorkOrder) { w.Title = badUTF8 }), codes.InvalidArgument, "work_order.title"},
		{"address invalid UTF-8", "hotline", submit(func(w *intakev1.WorkOrder) { w.Address = badUTF8 }), codes.InvalidArgument, "work_order.address"},
		{"area code invalid UTF-8", "hotline", submit(func(w *intakev1.WorkOrder) { w.CommunityCode = badUTF8 }), codes.InvalidArgument, "work_order.community_code"},
		{"patrol catalogue code invalid UTF-8", patrol, report2(func(r *intakev1.PatrolReport) { r.CatalogueCode = badUTF8 }), codes.InvalidArgument, "report.catalogue_code"},
		{"patrol request id invalid UTF-8", patrol, report2(func(r *intakev1.PatrolReport) { r.RequestId = badUTF8 }), codes.InvalidArgument, "report.request_id"},
		{"issue content invalid UTF-8", secretary, raise(func(i *intakev1.Issue) { i.Content = badUTF8 }), codes.InvalidArgument, "issue.content"},
		{"whistled department invalid UTF-8", secretary, raise(func(i *intakev1.Issue) { i.WhistleDepartments = []string{badUTF8} }), codes.InvalidArgument, "issue.whistle_departments[0]"},
		{"follow-up text invalid UTF-8", "hotline", followUp(&intakev1.AddFollowUpRequest{RequestId: "h10", Text: badUTF8}), codes.InvalidArgument, "text"},
		{"follow-up order number invalid UTF-8", "hotline", followUp(&intakev1.AddFollowUpRequest{RequestId: "h11",
			Case: &intakev1.AddFollowUpRequest_HotlineOrderNo{HotlineOrderNo: badUTF8}}), codes.InvalidArgument, "hotline_order_no"},
		{"looked-up order number invalid UTF-8", "hotline", get(&intakev1.GetSubmissionRequest{Key: &intakev1.GetSubmissionRequest_HotlineOrderNo{HotlineOrderNo: badUTF8}}), codes.InvalidArgument, "hotline_order_no"},
		{"listed district invalid UTF-8", "hotline", list(&intakev1.ListSubmissionsRequest{DistrictCode: badUTF8}), codes.InvalidArgument, "district_code"},

		// Control characters.
		{"title with a bell", "hotline", submit(func(w *intakev1.WorkOrder) { w.Title = "噪声\x07扰民" }), codes.InvalidArgument, "work_order.title"},
		{"content with an escape sequence", "hotline", submit(func(w *intakev1.WorkOrder) { w.Content = "楼下\x1b[2J烧烤" }), codes.InvalidArgument, "work_order.content"},
		{"order number with NUL", "hotline", submit(func(w *intakev1.WorkOrder) { w.HotlineOrderNo = "H-\x00" }), codes.InvalidArgument, "work_order.hotline_order_no"},
		{"patrol description with a line separator", patrol, report2(func(r *intakev1.PatrolReport) { r.Description = "占用\u2028通道" }), codes.InvalidArgument, "report.description"},
		{"issue title with a byte-order mark", secretary, raise(func(i *intakev1.Issue) { i.Title = "\ufeff占道" }), codes.InvalidArgument, "issue.title"},
		{"follow-up text with NUL", "hotline", followUp(&intakev1.AddFollowUpRequest{RequestId: "h20", Text: "催\x00办"}), codes.InvalidArgument, "text"},

		// Page sizes and tokens.
		{"negative page size", "hotline", list(&intakev1.ListSubmissionsRequest{PageSize: -1}), codes.InvalidArgument, "page_size"},
		{"most negative page size", "hotline", list(&intakev1.ListSubmissionsRequest{PageSize: math.MinInt32}), codes.InvalidArgument, "page_size"},
		// (Admin sees all three submissions; the hotline only its work order.)
		{"huge page size is coerced", "admin", func(ctx context.Context, c intakev1.IntakeServiceClient) error {
			resp, err := c.ListSubmissions(ctx, &intakev1.ListSubmissionsRequest{PageSize: math.MaxInt32})
			if err == nil && len(resp.GetSubmissions()) != 3 {
				t.Errorf("huge page: %d submissions, want all 3", len(resp.GetSubmissions()))
			}
			return err
		}, codes.OK, ""},
		{"forged page token", "hotline", list(&intakev1.ListSubmissionsRequest{PageToken: "forged"}), codes.InvalidArgument, "page_token"},
		{"page token invalid UTF-8", "hotline", list(&intakev1.ListSubmissionsRequest{PageToken: badUTF8}), codes.InvalidArgument, "page_token"},
		{"oversized page token", "hotline", list(&intakev1.ListSubmissionsRequest{PageToken: huge}), codes.InvalidArgument, "page_token"},

		// Absurd numbers and times.
		{"received in year 9999", "hotline", submit(func(w *intakev1.WorkOrder) { w.ReceivedAt = farFuture }), codes.InvalidArgument, "work_order.received_at"},
		{"received past the end of time", "hotline", submit(func(w *intakev1.WorkOrder) { w.ReceivedAt = overflowTS }), codes.InvalidArgument, "work_order.received_at"},
		{"received before year 1", "hotline", submit(func(w *intakev1.WorkOrder) { w.ReceivedAt = negativeTS }), codes.InvalidArgument, "work_order.received_at"},
		{"latitude out of range", "hotline", submit(func(w *intakev1.WorkOrder) {
			w.Location = &typesv1.LatLng{Lat: 1e308, Lng: 121.45, Datum: typesv1.Datum_DATUM_WGS84}
		}), codes.InvalidArgument, "work_order.location.lat"},
		{"longitude not a number", patrol, report2(func(r *intakev1.PatrolReport) {
			r.Location = &typesv1.LatLng{Lat: 31.29, Lng: math.NaN(), Datum: typesv1.Datum_DATUM_WGS84}
		}), codes.InvalidArgument, "report.location.lng"},
		{"latitude infinite", patrol, report2(func(r *intakev1.PatrolReport) {
			r.Location = &typesv1.LatLng{Lat: math.Inf(1), Lng: 121.45, Datum: typesv1.Datum_DATUM_WGS84}
		}), codes.InvalidArgument, "report.location.lat"},
		{"observed in year 9999", patrol, report2(func(r *intakev1.PatrolReport) { r.ObservedAt = farFuture }), codes.InvalidArgument, "report.observed_at"},
		{"listed after the end of time", "hotline", list(&intakev1.ListSubmissionsRequest{AcceptedAfter: overflowTS}), codes.InvalidArgument, "accepted_after"},
		{"listed before year 1", "hotline", list(&intakev1.ListSubmissionsRequest{AcceptedBefore: negativeTS}), codes.InvalidArgument, "accepted_before"},

		// Unknown enums.
		{"unknown appeal type", "hotline", submit(func(w *intakev1.WorkOrder) { w.AppealType = 99 }), codes.InvalidArgument, "work_order.appeal_type"},
		{"unknown urgency", "hotline", submit(func(w *intakev1.WorkOrder) { w.Urgency = -2 }), codes.InvalidArgument, "work_order.urgency"},
		{"unknown datum", "hotline", submit(func(w *intakev1.WorkOrder) {
			w.Location = &typesv1.LatLng{Lat: 31.29, Lng: 121.45, Datum: 7}
		}), codes.InvalidArgument, "work_order.location.datum"},
		{"unknown follow-up kind", "hotline", followUp(&intakev1.AddFollowUpRequest{RequestId: "h40", Kind: 42}), codes.InvalidArgument, "kind"},
		{"unknown listed source", "hotline", list(&intakev1.ListSubmissionsRequest{Source: 42}), codes.InvalidArgument, "source"},

		// Replayed ids with other content.
		{"replayed order number with other content", "hotline", func(ctx context.Context, c intakev1.IntakeServiceClient) error {
			wo := order("H-1")
			wo.Content = "另一件事：小区绿化带被占用。"
			_, err := c.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
			return err
		}, codes.AlreadyExists, ""},
		{"replayed follow-up with other text", "hotline", followUp(&intakev1.AddFollowUpRequest{RequestId: "fu-1",
			Kind: intakev1.FollowUpKind_FOLLOW_UP_KIND_SUPPLEMENT, Text: "另一条补充"}), codes.AlreadyExists, ""},
		{"replayed patrol report with another description", patrol, func(ctx context.Context, c intakev1.IntakeServiceClient) error {
			r := report()
			r.Description = "另一处问题"
			_, err := c.SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: r})
			return err
		}, codes.AlreadyExists, ""},
		{"replayed issue with another title", secretary, func(ctx context.Context, c intakev1.IntakeServiceClient) error {
			i := issue()
			i.Title = "另一个问题"
			_, err := c.RaiseIssue(ctx, &intakev1.RaiseIssueRequest{Issue: i})
			return err
		}, codes.AlreadyExists, ""},
		{"the order number still names the first case", "hotline", func(ctx context.Context, c intakev1.IntakeServiceClient) error {
			// order() stamps the time of the call, so a resubmission differs;
			// the hotline reads the first case back by its order number.
			resp, err := c.GetSubmission(ctx, &intakev1.GetSubmissionRequest{Key: &intakev1.GetSubmissionRequest_HotlineOrderNo{HotlineOrderNo: "H-1"}})
			if err == nil && resp.GetSubmission().GetCaseId() != first.GetSubmission().GetCaseId() {
				t.Errorf("H-1 is %v, want the first case", resp.GetSubmission())
			}
			return err
		}, codes.OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := testenv.Rows(t, e.pool, postgres.Schema)
			c, ctx := e.as(t, tt.as)
			testenv.Refused(t, tt.call(ctx, c), tt.code, tt.field)
			testenv.SameRows(t, before, testenv.Rows(t, e.pool, postgres.Schema))
		})
	}
}
