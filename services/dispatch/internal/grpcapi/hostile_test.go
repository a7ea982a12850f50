package grpcapi_test

import (
	"context"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/dispatch/internal/postgres"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Hostile input, shared by the table below: what a client gone wrong (or a
// malicious one) sends.
var (
	badUTF8    = "坏\xc3\x28字节"
	control    = "响铃\x07了"
	huge       = strings.Repeat("长", 100_000) // 300 kB: under the 4 MiB request limit, over every field's
	longID     = strings.Repeat("r", 65)
	farFuture  = timestamppb.New(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))
	overflowTS = &timestamppb.Timestamp{Seconds: math.MaxInt64}
	negativeTS = &timestamppb.Timestamp{Seconds: -62135596801} // before year 1
)

// TestHostileInput: every RPC of dispatch, through the real gRPC server
// against real PostgreSQL, answers hostile input with INVALID_ARGUMENT
// naming the field (or the honest code: a replayed request id with other
// content is ALREADY_EXISTS), stores nothing (every table's row count is
// unchanged) and does not panic (a panic would answer INTERNAL).
func TestHostileInput(t *testing.T) {
	e := setup(t)
	caseID := e.newCase("H04001", zj, true)
	task := e.waitTasks(caseID, 1)[0].GetTaskId()
	const dept = "department:" + zj + "-pcs"
	pcs, pctx := e.as(dept)
	// The first use of a request id, for the replays below.
	if _, err := pcs.AcknowledgeTask(pctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: "ack-1", TaskId: task, Note: "已签收"}); err != nil {
		t.Fatal(err)
	}
	e.events("grid.task.acknowledged.>", 1) // the relay has published it: the outbox is quiet
	admin, actx := e.as("admin")
	if _, err := admin.Supervise(actx, &dispatchv1.SuperviseRequest{RequestId: "sup-1", TaskId: task, Note: "请加快处理"}); err != nil {
		t.Fatal(err)
	}
	e.events("grid.task.supervised.>", 1)
	testenv.OutboxDrained(t, e.pool, postgres.Schema)

	type call func(ctx context.Context, c dispatchv1.DispatchServiceClient) error
	tests := []struct {
		name  string
		as    string
		call  call
		code  codes.Code
		field string
	}{
		// Oversized fields.
		{"ack note oversized", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: "h1", TaskId: task, Note: huge})
			return err
		}, codes.InvalidArgument, "note"},
		{"request id oversized", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ReportProgress(ctx, &dispatchv1.ReportProgressRequest{RequestId: longID, TaskId: task, Text: "已到场"})
			return err
		}, codes.InvalidArgument, "request_id"},
		{"task id oversized", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ReportProgress(ctx, &dispatchv1.ReportProgressRequest{RequestId: "h2", TaskId: huge, Text: "已到场"})
			return err
		}, codes.InvalidArgument, "task_id"},
		{"progress text oversized", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ReportProgress(ctx, &dispatchv1.ReportProgressRequest{RequestId: "h3", TaskId: task, Text: huge})
			return err
		}, codes.InvalidArgument, "text"},
		{"too much evidence", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			ev := make([]string, 51)
			for i := range ev {
				ev[i] = "s3://evidence/photo.jpg"
			}
			_, err := c.CompleteTask(ctx, &dispatchv1.CompleteTaskRequest{RequestId: "h4", TaskId: task, Result: "已处理", Evidence: ev})
			return err
		}, codes.InvalidArgument, "evidence"},
		{"evidence reference oversized", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.CompleteTask(ctx, &dispatchv1.CompleteTaskRequest{RequestId: "h5", TaskId: task, Result: "已处理", Evidence: []string{huge}})
			return err
		}, codes.InvalidArgument, "evidence[0]"},
		{"cancel reason oversized", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.CancelCase(ctx, &dispatchv1.CancelCaseRequest{RequestId: "h6", CaseId: caseID, Reason: huge})
			return err
		}, codes.InvalidArgument, "reason"},
		{"department code oversized", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.Reassign(ctx, &dispatchv1.ReassignRequest{RequestId: "h7", CaseId: caseID, DepartmentCode: huge})
			return err
		}, codes.InvalidArgument, "department_code"},
		{"simulated text oversized", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.SimulateRoute(ctx, &dispatchv1.SimulateRouteRequest{Subject: &dispatchv1.SimulateRouteRequest_Facts{Facts: &dispatchv1.RouteFacts{
				ItemCode: "H04001", Text: huge, Area: area(zj)}}})
			return err
		}, codes.InvalidArgument, "facts.text"},

		// Invalid UTF-8: the decoder lets it through (utf8_validation =
		// NONE), the validators refuse it.
		{"note invalid UTF-8", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: "h10", TaskId: task, Note: badUTF8})
			return err
		}, codes.InvalidArgument, "note"},
		{"request id invalid UTF-8", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: badUTF8, TaskId: task})
			return err
		}, codes.InvalidArgument, "request_id"},
		{"task id invalid UTF-8", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.GetTask(ctx, &dispatchv1.GetTaskRequest{TaskId: badUTF8})
			return err
		}, codes.InvalidArgument, "task_id"},
		{"evidence invalid UTF-8", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.CompleteTask(ctx, &dispatchv1.CompleteTaskRequest{RequestId: "h11", TaskId: task, Result: "已处理", Evidence: []string{badUTF8}})
			return err
		}, codes.InvalidArgument, "evidence[0]"},
		{"area code invalid UTF-8", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.RejectTask(ctx, &dispatchv1.RejectTaskRequest{RequestId: "h12", TaskId: task,
				Reason: eventsv1.RejectReason_REJECT_REASON_NOT_MY_AREA, AreaCode: badUTF8})
			return err
		}, codes.InvalidArgument, "area_code"},
		{"listed department invalid UTF-8", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ListTasks(ctx, &dispatchv1.ListTasksRequest{DepartmentCode: badUTF8})
			return err
		}, codes.InvalidArgument, "department_code"},
		{"listed case number invalid UTF-8", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ListTasks(ctx, &dispatchv1.ListTasksRequest{CaseNumber: badUTF8})
			return err
		}, codes.InvalidArgument, "case_number"},
		{"listed order number invalid UTF-8", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ListTasks(ctx, &dispatchv1.ListTasksRequest{HotlineOrderNo: badUTF8})
			return err
		}, codes.InvalidArgument, "hotline_order_no"},
		{"reassigned department invalid UTF-8", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.Reassign(ctx, &dispatchv1.ReassignRequest{RequestId: "h13", CaseId: caseID, DepartmentCode: badUTF8})
			return err
		}, codes.InvalidArgument, "department_code"},
		{"watched department invalid UTF-8", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			return firstOfStream(ctx, c, &dispatchv1.WatchTasksRequest{DepartmentCode: badUTF8})
		}, codes.InvalidArgument, "department_code"},

		// Control characters.
		{"note with a control character", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ReportProgress(ctx, &dispatchv1.ReportProgressRequest{RequestId: "h20", TaskId: task, Text: control})
			return err
		}, codes.InvalidArgument, "text"},
		{"result with a line separator", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.CompleteTask(ctx, &dispatchv1.CompleteTaskRequest{RequestId: "h21", TaskId: task, Result: "办结\u2028"})
			return err
		}, codes.InvalidArgument, "result"},
		{"supervision note with NUL", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.Supervise(ctx, &dispatchv1.SuperviseRequest{RequestId: "h22", TaskId: task, Note: "督办\x00"})
			return err
		}, codes.InvalidArgument, "note"},
		{"request id with NUL", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ReportProgress(ctx, &dispatchv1.ReportProgressRequest{RequestId: "a\x00b", TaskId: task, Text: "已到场"})
			return err
		}, codes.InvalidArgument, "request_id"},
		{"request id with an escape sequence", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ReportProgress(ctx, &dispatchv1.ReportProgressRequest{RequestId: "r\x1b[2J", TaskId: task, Text: "已到场"})
			return err
		}, codes.InvalidArgument, "request_id"},
		{"evidence with a newline", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.CompleteTask(ctx, &dispatchv1.CompleteTaskRequest{RequestId: "h23", TaskId: task, Result: "已处理", Evidence: []string{"s3://a\nb"}})
			return err
		}, codes.InvalidArgument, "evidence[0]"},

		// Page sizes and tokens.
		{"negative page size", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ListTasks(ctx, &dispatchv1.ListTasksRequest{PageSize: -1})
			return err
		}, codes.InvalidArgument, "page_size"},
		{"most negative page size", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ListDispatchQueue(ctx, &dispatchv1.ListDispatchQueueRequest{PageSize: math.MinInt32})
			return err
		}, codes.InvalidArgument, "page_size"},
		{"negative arbitration page", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ListArbitration(ctx, &dispatchv1.ListArbitrationRequest{PageSize: -5})
			return err
		}, codes.InvalidArgument, "page_size"},
		{"negative reloads page", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ListReferenceReloads(ctx, &dispatchv1.ListReferenceReloadsRequest{PageSize: -5})
			return err
		}, codes.InvalidArgument, "page_size"},
		{"huge page size is coerced", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			resp, err := c.ListTasks(ctx, &dispatchv1.ListTasksRequest{PageSize: math.MaxInt32})
			if err == nil && len(resp.GetTasks()) != 1 {
				t.Errorf("huge page: %d tasks, want the one", len(resp.GetTasks()))
			}
			return err
		}, codes.OK, ""},
		{"forged page token", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ListTasks(ctx, &dispatchv1.ListTasksRequest{PageToken: "forged"})
			return err
		}, codes.InvalidArgument, "page_token"},
		{"page token invalid UTF-8", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ListDispatchQueue(ctx, &dispatchv1.ListDispatchQueueRequest{PageToken: badUTF8})
			return err
		}, codes.InvalidArgument, "page_token"},
		{"oversized page token", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ListArbitration(ctx, &dispatchv1.ListArbitrationRequest{PageToken: huge})
			return err
		}, codes.InvalidArgument, "page_token"},

		// Absurd numbers and times.
		{"ETA far in the future", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: "h30", TaskId: task, Eta: farFuture})
			return err
		}, codes.InvalidArgument, "eta"},
		{"ETA past the end of time", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: "h30b", TaskId: task, Eta: overflowTS})
			return err
		}, codes.InvalidArgument, "eta"},
		{"extension to year 9999", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.RequestExtension(ctx, &dispatchv1.RequestExtensionRequest{RequestId: "h31", TaskId: task, NewDue: farFuture, Reason: "需联系业主"})
			return err
		}, codes.InvalidArgument, "new_due"},
		{"extension past the end of time", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.RequestExtension(ctx, &dispatchv1.RequestExtensionRequest{RequestId: "h32", TaskId: task, NewDue: overflowTS, Reason: "需联系业主"})
			return err
		}, codes.InvalidArgument, "new_due"},
		{"extension before year 1", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.RequestExtension(ctx, &dispatchv1.RequestExtensionRequest{RequestId: "h33", TaskId: task, NewDue: negativeTS, Reason: "需联系业主"})
			return err
		}, codes.InvalidArgument, "new_due"},
		{"granted due far in the future", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.DecideExtension(ctx, &dispatchv1.DecideExtensionRequest{RequestId: "h35", TaskId: task, Decision: dispatchv1.ExtensionDecision_EXTENSION_DECISION_GRANT, NewDue: farFuture})
			return err
		}, codes.InvalidArgument, "new_due"},
		{"park until year 9999", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ParkCase(ctx, &dispatchv1.ParkCaseRequest{RequestId: "h36", CaseId: caseID, Reason: "待拆迁", ReviewDate: "9999-12-31"})
			return err
		}, codes.InvalidArgument, "review_date"},
		{"park until 30 February", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ParkCase(ctx, &dispatchv1.ParkCaseRequest{RequestId: "h37", CaseId: caseID, Reason: "待拆迁", ReviewDate: "2026-02-30"})
			return err
		}, codes.InvalidArgument, "review_date"},
		{"simulated receipt past the end of time", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.SimulateRoute(ctx, &dispatchv1.SimulateRouteRequest{Subject: &dispatchv1.SimulateRouteRequest_Facts{Facts: &dispatchv1.RouteFacts{
				ItemCode: "H04001", Area: area(zj), ReceivedAt: overflowTS}}})
			return err
		}, codes.InvalidArgument, "facts.received_at"},
		{"cursor overflows", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			return firstOfStream(ctx, c, &dispatchv1.WatchTasksRequest{DepartmentCode: zj + "-pcs", Cursor: "99999999999999999999999"})
		}, codes.InvalidArgument, "cursor"},
		{"negative cursor", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			return firstOfStream(ctx, c, &dispatchv1.WatchTasksRequest{DepartmentCode: zj + "-pcs", Cursor: "-1"})
		}, codes.InvalidArgument, "cursor"},

		// Unknown enums: a number this build does not know.
		{"unknown rejection reason", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.RejectTask(ctx, &dispatchv1.RejectTaskRequest{RequestId: "h40", TaskId: task, Reason: 99, Note: "x"})
			return err
		}, codes.InvalidArgument, "reason"},
		{"unknown task state", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ListTasks(ctx, &dispatchv1.ListTasksRequest{States: []eventsv1.TaskState{99}})
			return err
		}, codes.InvalidArgument, "states"},
		{"unknown simulated urgency", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.SimulateRoute(ctx, &dispatchv1.SimulateRouteRequest{Subject: &dispatchv1.SimulateRouteRequest_Facts{Facts: &dispatchv1.RouteFacts{
				ItemCode: "H04001", Area: area(zj), Urgency: 99}}})
			return err
		}, codes.InvalidArgument, "facts.urgency"},
		{"unknown simulated appeal type", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.SimulateRoute(ctx, &dispatchv1.SimulateRouteRequest{Subject: &dispatchv1.SimulateRouteRequest_Facts{Facts: &dispatchv1.RouteFacts{
				ItemCode: "H04001", Area: area(zj), AppealType: -3}}})
			return err
		}, codes.InvalidArgument, "facts.appeal_type"},
		{"unknown simulated source", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.SimulateRoute(ctx, &dispatchv1.SimulateRouteRequest{Subject: &dispatchv1.SimulateRouteRequest_Facts{Facts: &dispatchv1.RouteFacts{
				ItemCode: "H04001", Area: area(zj), Source: typesv1.Source(42)}}})
			return err
		}, codes.InvalidArgument, "facts.source"},

		// Replayed request ids with other content.
		{"replayed ack with another note", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: "ack-1", TaskId: task, Note: "另一条备注"})
			return err
		}, codes.AlreadyExists, ""},
		{"replayed ack id for another method", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.ReportProgress(ctx, &dispatchv1.ReportProgressRequest{RequestId: "ack-1", TaskId: task, Text: "已到场"})
			return err
		}, codes.AlreadyExists, ""},
		{"replayed supervision with another note", "admin", func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			_, err := c.Supervise(ctx, &dispatchv1.SuperviseRequest{RequestId: "sup-1", TaskId: task, Note: "另一条"})
			return err
		}, codes.AlreadyExists, ""},
		{"replay with the same content answers as the first time", dept, func(ctx context.Context, c dispatchv1.DispatchServiceClient) error {
			resp, err := c.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: "ack-1", TaskId: task, Note: "已签收"})
			if err == nil && resp.GetTask().GetTaskId() != task {
				t.Errorf("replay answered %v", resp.GetTask())
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

// firstOfStream opens WatchTasks and returns the stream's first error: a
// refused request ends the stream before any event.
func firstOfStream(ctx context.Context, c dispatchv1.DispatchServiceClient, req *dispatchv1.WatchTasksRequest) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := c.WatchTasks(ctx, req)
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
