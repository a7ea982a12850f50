package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/geo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// The matrix's principals, one column each: every role of DESIGN.md "Who
// may see and do what", a wrong-scope variant of each scoped one (another
// street, district, department, community, worker), system and no token.
var authzColumns = []string{
	"none", // no token
	"hotline",
	"dispatcher:" + zhijiang, "dispatcher:" + linfen, // the cases' street, another
	"district:" + jingan, "district:310101", // the cases' district, another
	"department:" + zhijiang + "-cgzd", "department:" + linfen + "-cgzd", // the hotline cases' lead, another street's squad
	"secretary:" + zhijiang + "001", "secretary:" + linfen + "001", // the issue's community, another
	"patrol:w-0031", "patrol:w-0032", // the reports' worker, another
	"admin",
	"system:feedback",
}

// authzMatrix is the expected outcome of every RPC of every service for
// each column above, written out by hand from DESIGN.md and issue 14 — not
// derived from pkg/policy, which it checks. Codes: O OK, P
// PERMISSION_DENIED, U UNAUTHENTICATED, F FAILED_PRECONDITION (allowed, and
// the case's state refuses the valid request sent), I INVALID_ARGUMENT.
// Which fields come back masked is checked on every allowed read of a case
// (masked): the caller's name and phone appear in no answer but
// ReadContact's (inClear).
//
// Each column calls with a valid request over the case its scope covers
// (its "home": the hotline cases for the hotline, dispatchers and the
// squad; the issue for secretaries; the worker's report for workers); a
// wrong-scope variant asks for its twin's case and learns nothing.
//
// Each row is an RPC and one code per column:
//
//	none hotline dZJ dLF dJA d01 cgzdZJ cgzdLF secZJ secLF w31 w32 admin system
var authzMatrix = []string{
	"IntakeService/SubmitWorkOrder            U O P P P P P P P P P P O P",
	"IntakeService/SubmitPatrolReport         U P P P P P P P P P O O O P",
	"IntakeService/RaiseIssue                 U P P P P P P P O O P P O P",
	"IntakeService/AddFollowUp                U O P P P P P P P P P P O P",
	// Departments read a case through dispatch and feedback, never the
	// submission with the caller's contact.
	"IntakeService/GetSubmission              U O O P O P P P O P O P O P",
	"IntakeService/ListSubmissions            U O O O O O P P O O O O O P",
	// The caller's full contact, audited: the hotline, the street's
	// dispatcher, the department holding an open task on the case, admin.
	"IntakeService/ReadContact                U O O P P P O P P P P P O P",
	"IntakeService/ListReferenceReloads       U P O O O O P P P P P P O P",

	"DispatchService/GetTask                  U P O P O P O P P P P P O P",
	// A worker lists its own worker tasks (issue 20, work tasks).
	"DispatchService/ListTasks                U P O O O O O O P P O O O P",
	"DispatchService/WatchTasks               U P P P P P O O P P P P O P",
	"DispatchService/AcknowledgeTask          U P P P P P O P P P P P P P",
	"DispatchService/ReportProgress           U P P P P P O P P P P P P P",
	"DispatchService/RequestExtension         U P P P P P O P P P P P P P",
	"DispatchService/RejectTask               U P P P P P O P P P P P P P",
	// Only a district bureau forwards: the street squad's valid request is
	// refused by the task, not by the policy.
	"DispatchService/ForwardTask              U P P P P P F P P P P P P P",
	"DispatchService/CompleteTask             U P P P P P O P P P P P P P",
	"DispatchService/ListDispatchQueue        U P O O O O P P P P P P O P",
	"DispatchService/ListArbitration          U P O O O O P P P P P P O P",
	"DispatchService/SimulateRoute            U P O P O P P P P P P P O P",
	"DispatchService/Supervise                U P O P O P P P P P P P O P",
	"DispatchService/DecideExtension          U P O P O P P P P P P P O P",
	// The item needs no review, and no case is in arbitration.
	"DispatchService/ReviewCompletion         U P F P F P P P P P P P F P",
	"DispatchService/Arbitrate                U P F P F P P P P P P P F P",
	"DispatchService/Reassign                 U P O P O P P P P P P P O P",
	"DispatchService/ParkCase                 U P O P O P P P P P P P O P",
	"DispatchService/UnparkCase               U P O P O P P P P P P P O P",
	"DispatchService/ExcludeCase              U P O P O P P P P P P P O P",
	"DispatchService/CancelCase               U P O P O P P P P P P P O P",
	"DispatchService/ListReferenceReloads     U P O O O O P P P P P P O P",

	"FeedbackService/GetCase                  U O O P O P O P O P O P O P",
	"FeedbackService/GetCaseTimeline          U O O P O P O P O P O P O P",
	"FeedbackService/ListCases                U O O O O O O O O O O O O P",
	"FeedbackService/WatchCaseUpdates         U O P P P P P P P P P P O P",
	"FeedbackService/ListReplies              U O O P O P P P P P P P O P",
	"FeedbackService/RecordCallback           U O O P P P P P P P P P O P",
	"FeedbackService/RecordRecheck            U P O P P P P P P P O P O P",
	// A department asks for its own figures, everyone else for the street's.
	"FeedbackService/GetMetrics               U O O P O P O O P P P P O P",
	"FeedbackService/GetPareto                U O O P O P P P P P P P O P",
	"FeedbackService/GetHotspots              U O O P O P P P P P P P O P",
	"FeedbackService/ListReferenceReloads     U P O O O O P P P P P P O P",

	"ClassifyService/ListCatalogue            U O O O O O O O O O O O O P",
	"ClassifyService/GetCatalogueItem         U O O O O O O O O O O O O P",
	"ClassifyService/ListReviewQueue          U P O O O O P P P P P P O P",
	"ClassifyService/GetClassification        U P O P O P P P P P P P O P",
	"ClassifyService/GetIncident              U P O P O P P P P P P P O P",
	"ClassifyService/ListIncidents            U P O O O O P P P P P P O P",
	// The cases were classified, not left for review.
	"ClassifyService/ResolveReview            U P F P F P P P P P P P F P",
	"ClassifyService/Reclassify               U P O P O P P P P P P P O P",
	"ClassifyService/ListCorrections          U P P P P P P P P P P P O P",
	"ClassifyService/ListModels               U P O O O O P P P P P P O P",
	"ClassifyService/ListReferenceReloads     U P O O O O P P P P P P O P",
	// The stack's classify serves its built-in model: nothing to reload
	// from, no history to retrain on.
	"ClassifyService/ReloadModel              U P P P P P P P P P P P O P",
	"ClassifyService/RetrainModel             U P P P P P P P P P P P F P",

	// Webhooks (issue 19): a department registers, lists and deletes its
	// own unit's (admin any unit's: it deletes the squad's registration the
	// squad deleted first, which answers the same); the deliveries are also
	// the dispatchers' (the escalation board).
	"WebhookService/RegisterWebhook           U P P P P P O O P P P P O P",
	"WebhookService/ListWebhooks              U P P P P P O O P P P P O P",
	"WebhookService/DeleteWebhook             U P P P P P O P P P P P O P",
	"WebhookService/ListWebhookDeliveries     U P O O O O O O P P P P O P",

	// Dead webhook deliveries retried (issue 19): the owning department's
	// and admin's. The squad's delivery asked for is still pending (its
	// receiver answers nothing, its tries not yet spent): answered as is.
	"WebhookService/RetryWebhookDelivery      U P P P P P O P P P P P O P",

	// Open311 (issue 19): the public's door is public:<key>'s and admin's
	// (the public's own column is TestAuthorizationMatrix's last block);
	// GetPublicCase asks for a hotline case, which no one is answered.
	"PublicIntakeService/SubmitPublicRequest  U P P P P P P P P P P P O P",
	"PublicCaseService/ListPublicCases        U P P P P P P P P P P P O P",
	"PublicCaseService/GetPublicCase          U P P P P P P P P P P P P P",

	// Issue 20, places (以房管人): classify's place registry, over a shop of
	// community 310106022001 (authz_places_test.go). A street imports its
	// own register; the matrix's workers are in no grid of the register.
	"PlaceService/ImportPlaces                U P O P O P P P P P P P O P",
	"PlaceService/RecordPlaceFinding          U P O P O P P P P P P P O P",
	"PlaceService/GetPlace                    U P O P O P P P O P P P O P",
	"PlaceService/ListPlaces                  U P O O O O P P O O P P O P",
	"PlaceService/GetPlaceHistory             U P O P O P P P O P P P O P",
	// Grid workers' tasks (issue 20, work tasks): a worker lists its own
	// (every worker column has a list, empty or not), a street's or
	// district's dispatcher its area's, admin all; a worker records its own
	// inspections — the request sent has no outcome, so whoever may call is
	// answered INVALID_ARGUMENT before any task is looked up.
	"WorkerTaskService/ListWorkerTasks        U P O O O O P P P P O O O P",
	"WorkerTaskService/RecordInspection       U P P P P P P P P P I I I P",
	// Source place coordination (issue 20): the street's dispatcher, the
	// district and admin steer a source place; its lead (the street's squad)
	// reads the coordinated tasks with them. The rows run in this order:
	// the lead reads before the place is closed and reopened.
	"SourcePlaceService/SetSourcePlaceLead    U P O P O P P P P P P P O P",
	"SourcePlaceService/GetSourcePlace        U P O P O P P P P P P P O P",
	"SourcePlaceService/ListSourcePlaces      U P O O O O P P P P P P O P",
	"CoordinationService/GetCoordination      U P O P O P O P P P P P O P",
	"SourcePlaceService/CloseSourcePlace      U P O P O P P P P P P P O P",
	"SourcePlaceService/ReopenSourcePlace     U P O P O P P P P P P P O P",
	// Self-disposal (issue 20): the grid's leader (its own columns,
	// authz_selfdisposal_test.go), the street's dispatcher standing in, the
	// district and admin. The check is about the home case, which is no
	// self-disposal: allowed is FAILED_PRECONDITION.
	"SelfDisposalService/ListSelfDisposals      U P O O O O P P P P P P O P",
	"SelfDisposalService/CheckSelfDisposal      U P F P F P P P P P P P F P",
	"SelfDisposalService/GetSelfDisposalFigures U P O O O O P P P P P P O P",
	// The three lists and the month's figures (issue 20): the community's
	// secretary, the street's and district's dispatchers and admin, each
	// over its own area (the calls ask about 洪南山宅居民区,
	// authz_lists_test.go); everyone else is refused.
	"ListsService/GetProblemList              U P O P O P P P O P P P O P",
	"ListsService/ImportNeedsSurvey           U P O P O P P P O P P P O P",
	"ListsService/GetNeedsList                U P O P O P P P O P P P O P",
	"ListsService/GetServiceList              U P O P O P P P O P P P O P",
	"ListsService/GetMonthFigures             U P O P O P P P O P P P O P",
	// Early warning (issue 20): a street's warnings are its dispatcher's,
	// its district's and admin's. Acknowledge and dismiss succeed for the
	// first allowed column; the later ones find the warning answered (F).
	"WarningService/ListWarnings              U P O P O P P P P P P P O P",
	"WarningService/GetWarning                U P O P O P P P P P P P O P",
	"WarningService/AcknowledgeWarning        U P O P F P P P P P P P F P",
	"WarningService/DismissWarning            U P O P F P P P P P P P F P",
}

// authzCase is a case the matrix set up.
type authzCase struct {
	id, number, task string
}

// authzWorld is what the matrix calls over: the cases, and each column's
// clients.
type authzWorld struct {
	run string
	// home: the hotline cases' reads and the squad's first task; issue,
	// patrol: the secretary's and the worker's own.
	home, reject, complete, replied authzCase
	issue, patrol                   authzCase
	// Each dispatcher column steers its own case, and re-checks its own
	// patrol case; a wrong-scope variant its twin's.
	lever, recheck map[string]authzCase
	incident       string
	intake         map[string]intakev1.IntakeServiceClient
	classify       map[string]classifyv1.ClassifyServiceClient
	dispatch       map[string]dispatchv1.DispatchServiceClient
	feedback       map[string]feedbackv1.FeedbackServiceClient
	// Webhooks (issue 19).
	webhooks map[string]dispatchv1.WebhookServiceClient
}

// TestAuthorizationMatrix: every principal × every RPC of every service on
// one stack, against authzMatrix. The cases are set up once and reused.
func TestAuthorizationMatrix(t *testing.T) {
	s := startStack(t, "intake", "classify", "dispatch", "feedback")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	w := authzSetup(t, ctx, s)
	calls := authzCalls(w)
	maps.Copy(calls, authzWebhookCalls(w))      // webhooks (issue 19)
	maps.Copy(calls, authzPublicCalls(t, s, w)) // Open311 (issue 19)
	maps.Copy(calls, authzPlaceCalls(t, s, w))  // places (issue 20)
	maps.Copy(calls, authzWorkTaskCalls(t, s))  // worker tasks (issue 20)

	maps.Copy(calls, authzSourcePlaceCalls(t, ctx, s, w)) // source place coordination (issue 20)
	// Self-disposal (issue 20).
	maps.Copy(calls, authzSelfDisposalCalls(t, s, w))
	maps.Copy(calls, authzListsCalls(t, s, w)) // the three lists (issue 20)
	maps.Copy(calls, authzWarningCalls(t, s))  // early warning (issue 20)
	seen := map[string]bool{}
	for _, line := range authzMatrix {
		f := strings.Fields(line)
		rpc, want := f[0], f[1:]
		call, ok := calls[rpc]
		if !ok {
			t.Fatalf("no call for %s", rpc)
		}
		seen[rpc] = true
		if len(want) != len(authzColumns) {
			t.Fatalf("%s: %d expectations for %d columns", rpc, len(want), len(authzColumns))
		}
		got := make([]string, len(authzColumns))
		var why []string
		for i, col := range authzColumns {
			cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
			err := call(cctx, col)
			ccancel()
			got[i] = authzCode(err)
			if got[i] != want[i] {
				why = append(why, fmt.Sprintf("%s: %v", col, err))
			}
		}
		if len(why) > 0 {
			t.Errorf("%s\n want %s\n  got %s\n %s", rpc, strings.Join(want, " "), strings.Join(got, " "), strings.Join(why, "\n "))
		}
	}
	// Open311 (issue 19): the public principal, a column of its own.
	authzPublicColumn(t, ctx, s, w, calls)
	// Self-disposal (issue 20): the grid leaders, columns of their own.
	authzGridLeaderColumns(t, ctx, s, w, calls)
	// Every RPC the services serve has its row.
	for _, sd := range []grpc.ServiceDesc{intakev1.IntakeService_ServiceDesc, classifyv1.ClassifyService_ServiceDesc,
		dispatchv1.DispatchService_ServiceDesc, feedbackv1.FeedbackService_ServiceDesc,
		dispatchv1.WebhookService_ServiceDesc,                                              // webhooks (issue 19)
		intakev1.PublicIntakeService_ServiceDesc, feedbackv1.PublicCaseService_ServiceDesc, // Open311 (issue 19)
		classifyv1.PlaceService_ServiceDesc,                                                   // places (issue 20)
		dispatchv1.WorkerTaskService_ServiceDesc,                                              // worker tasks (issue 20)
		classifyv1.SourcePlaceService_ServiceDesc, dispatchv1.CoordinationService_ServiceDesc, // source place coordination (issue 20)
		feedbackv1.SelfDisposalService_ServiceDesc, // self-disposal (issue 20)
		feedbackv1.ListsService_ServiceDesc,        // the three lists (issue 20)
		feedbackv1.WarningService_ServiceDesc,      // early warning (issue 20)
	} {
		svc := sd.ServiceName[strings.LastIndex(sd.ServiceName, ".")+1:]
		for _, m := range sd.Methods {
			if !seen[svc+"/"+m.MethodName] {
				t.Errorf("the matrix has no row for %s/%s", svc, m.MethodName)
			}
		}
		for _, m := range sd.Streams {
			if !seen[svc+"/"+m.StreamName] {
				t.Errorf("the matrix has no row for %s/%s", svc, m.StreamName)
			}
		}
	}
}

// The callers' contact as the matrix's hotline cases were submitted with it.
const authzName, authzPhone = "王先生", "13812345678"

// masked checks an allowed read's answer carries the caller's contact only
// masked (王**, 138****5678): a clear name or phone anywhere in it is an
// error the matrix reports as the column's outcome ("Unknown").
func masked(resp proto.Message, err error) error {
	if err != nil {
		return err
	}
	b, merr := proto.Marshal(resp)
	if text := string(b); merr != nil || strings.Contains(text, authzPhone) || strings.Contains(text, authzName) {
		return fmt.Errorf("the answer carries the caller's contact in clear")
	}
	return nil
}

// inClear checks ReadContact's answer carries the full contact.
func inClear(resp *intakev1.ReadContactResponse, err error) error {
	if err != nil {
		return err
	}
	b, merr := proto.Marshal(resp)
	if text := string(b); merr != nil || !strings.Contains(text, authzPhone) || !strings.Contains(text, authzName) {
		return fmt.Errorf("ReadContact did not answer the full contact")
	}
	return nil
}

// authzCode is a call's outcome as the matrix writes it.
func authzCode(err error) string {
	switch c := status.Code(err); c {
	case codes.OK:
		return "O"
	case codes.PermissionDenied:
		return "P"
	case codes.Unauthenticated:
		return "U"
	case codes.FailedPrecondition:
		return "F"
	case codes.InvalidArgument:
		return "I"
	case codes.NotFound:
		return "N"
	default:
		return c.String()
	}
}

// authzDial connects to svc as a column's principal; "none" sends no token.
func authzDial(t *testing.T, s *stack, svc, col string) *grpc.ClientConn {
	t.Helper()
	if col == "none" {
		conn, err := grpc.NewClient(s.addrs[svc], grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	p, err := auth.ParsePrincipal(col)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.signer.Issue(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bearer := func(ctx context.Context) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	conn, err := grpc.NewClient(s.addrs[svc], grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(func(ctx context.Context, m string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, o ...grpc.CallOption) error {
			return inv(bearer(ctx), m, req, reply, cc, o...)
		}),
		grpc.WithStreamInterceptor(func(ctx context.Context, d *grpc.StreamDesc, cc *grpc.ClientConn, m string, st grpc.Streamer, o ...grpc.CallOption) (grpc.ClientStream, error) {
			return st(bearer(ctx), d, cc, m, o...)
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// authzNoise is a hotline work order for a barbecue stall (06022, led by
// the street's 城管中队) at its own house number, so that no two are one
// incident.
func authzNoise(no string, house int) *intakev1.WorkOrder {
	return &intakev1.WorkOrder{
		HotlineOrderNo: no, ReceivedAt: timestamppb.New(time.Now().Add(-time.Minute)),
		AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT, Title: "夜间烧烤摊噪声扰民",
		Content:    "市民反映：共和新路小区门口有烧烤摊每晚经营到凌晨两点，油烟很大，噪声扰民，影响休息，要求相关部门处理。",
		CallerName: "王先生", CallerPhone: "13812345678", Address: fmt.Sprintf("上海市静安区共和新路%d弄%d号", 1200+house, house),
		DistrictCode: jingan, StreetCode: zhijiang, Urgency: typesv1.Urgency_URGENCY_NORMAL,
	}
}

func authzSetup(t *testing.T, ctx context.Context, s *stack) *authzWorld {
	t.Helper()
	w := &authzWorld{run: fmt.Sprint(time.Now().UnixNano() % 1e9), lever: map[string]authzCase{}, recheck: map[string]authzCase{},
		intake: map[string]intakev1.IntakeServiceClient{}, classify: map[string]classifyv1.ClassifyServiceClient{},
		dispatch: map[string]dispatchv1.DispatchServiceClient{}, feedback: map[string]feedbackv1.FeedbackServiceClient{}}
	for _, col := range authzColumns {
		w.intake[col] = intakev1.NewIntakeServiceClient(authzDial(t, s, "intake", col))
		w.classify[col] = classifyv1.NewClassifyServiceClient(authzDial(t, s, "classify", col))
		w.dispatch[col] = dispatchv1.NewDispatchServiceClient(authzDial(t, s, "dispatch", col))
		w.feedback[col] = feedbackv1.NewFeedbackServiceClient(authzDial(t, s, "feedback", col))
	}
	// Webhooks (issue 19).
	w.webhooks = map[string]dispatchv1.WebhookServiceClient{}
	for _, col := range authzColumns {
		w.webhooks[col] = dispatchv1.NewWebhookServiceClient(authzDial(t, s, "dispatch", col))
	}
	hotline, admin := w.intake["hotline"], w.dispatch["admin"]
	squad := w.dispatch["department:"+zhijiang+"-cgzd"]
	fbAdmin := w.feedback["admin"]

	// Seven hotline cases in 芷江西路, each dispatched to the street's squad.
	hot := make([]authzCase, 7)
	for i := range hot {
		resp, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: authzNoise(fmt.Sprintf("AZ-%s-%d", w.run, i), 11+i)})
		if err != nil {
			t.Fatalf("work order %d: %v", i, err)
		}
		hot[i] = authzCase{id: resp.GetSubmission().GetCaseId(), number: resp.GetSubmission().GetCaseNumber()}
	}
	for i := range hot {
		classified(t, s, hot[i].id, hot[i].number, zhijiang, "06022", typesv1.Urgency_URGENCY_NORMAL, true, "")
		task := fbLeadTask(t, ctx, admin, hot[i].id, 0)
		if task.GetDepartmentCode() != zhijiang+"-cgzd" {
			t.Fatalf("case %d went to %s, want %s-cgzd", i, task.GetDepartmentCode(), zhijiang)
		}
		hot[i].task = task.GetTaskId()
	}
	w.home, w.reject, w.complete, w.replied = hot[0], hot[1], hot[2], hot[3]
	w.lever["dispatcher:"+zhijiang], w.lever["district:"+jingan], w.lever["admin"] = hot[4], hot[5], hot[6]
	w.lever["dispatcher:"+linfen], w.lever["district:310101"] = hot[4], hot[5]

	// The squad signs for the task it will complete in the matrix, works
	// the case the callbacks are about until it is replied, and asks for
	// time on each dispatcher's case.
	ack := func(c authzCase, tag string) {
		if _, err := squad.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: tag, TaskId: c.task}); err != nil {
			t.Fatalf("%s: %v", tag, err)
		}
	}
	ack(w.complete, "az-ack-complete")
	fbWork(t, ctx, s, &dispatchv1.Task{TaskId: w.replied.task, DepartmentCode: zhijiang + "-cgzd"}, zhijiang, "az-replied", "已劝离烧烤摊")
	for _, col := range []string{"dispatcher:" + zhijiang, "district:" + jingan, "admin"} {
		c := w.lever[col]
		ack(c, "az-ack-"+c.id)
		due := fbLeadTask0(t, ctx, admin, c.id).GetDeadlines().GetComplete().GetDue().AsTime()
		if _, err := squad.RequestExtension(ctx, &dispatchv1.RequestExtensionRequest{RequestId: "az-ext-" + c.id, TaskId: c.task,
			NewDue: timestamppb.New(due.Add(72 * time.Hour)), Reason: "需联合执法"}); err != nil {
			t.Fatalf("extension on %s: %v", c.id, err)
		}
	}

	// Three patrol reports by w-0031, in three grids of 芷江西路 (one
	// incident each), worked until they await their re-check.
	worker := w.intake["patrol:w-0031"]
	patrol := make([]authzCase, 3)
	for i, at := range [][2]float64{{31.2540, 121.4520}, {31.2540, 121.4600}, {31.2620, 121.4520}} {
		lat, lng := geo.WGS84ToGCJ02(at[0], at[1])
		pr, err := worker.SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: &intakev1.PatrolReport{
			RequestId: fmt.Sprintf("az-%s-p%d", w.run, i), CatalogueCode: "03001", Description: "垃圾箱破损，垃圾散落在人行道上",
			Location: &typesv1.LatLng{Lat: lat, Lng: lng, Datum: typesv1.Datum_DATUM_GCJ02}}})
		if err != nil {
			t.Fatalf("patrol report %d: %v", i, err)
		}
		sub := pr.GetSubmission()
		patrol[i] = authzCase{id: sub.GetCaseId(), number: sub.GetCaseNumber()}
		classified(t, s, sub.GetCaseId(), sub.GetCaseNumber(), zhijiang, "03001", typesv1.Urgency_URGENCY_NORMAL, true, "")
		task := fbLeadTask(t, ctx, admin, sub.GetCaseId(), 0)
		fbWork(t, ctx, s, task, zhijiang, fmt.Sprintf("az-p%d", i), "已更换垃圾箱")
	}
	w.patrol = patrol[0]
	// issue 20 (work tasks): the re-check of a report is the grid's worker's,
	// the reporter's where the grid has none. patrol[0]'s grid has a worker
	// on the e2e stack (ledger_worktasks_test.go), patrol[1]'s none: the
	// reporter re-checks patrol[1], the dispatchers patrol[0].
	w.recheck["patrol:w-0031"], w.recheck["patrol:w-0032"] = patrol[1], patrol[1]
	w.recheck["dispatcher:"+zhijiang], w.recheck["dispatcher:"+linfen], w.recheck["admin"] = patrol[0], patrol[0], patrol[2]

	// The secretary's issue.
	is, err := w.intake["secretary:"+zhijiang+"001"].RaiseIssue(ctx, &intakev1.RaiseIssueRequest{Issue: &intakev1.Issue{
		RequestId: "az-" + w.run + "-issue", SecretaryId: "张书记", Title: "小区门口占道经营", Content: "洪南山宅小区门口长期有流动摊贩占道经营"}})
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	w.issue = authzCase{id: is.GetSubmission().GetCaseId(), number: is.GetSubmission().GetCaseNumber()}

	// Feedback knows every case in the state the matrix needs.
	fbCaseState(t, ctx, fbAdmin, w.replied.id, feedbackv1.CaseState_CASE_STATE_REPLIED)
	for _, p := range patrol {
		fbCaseState(t, ctx, fbAdmin, p.id, feedbackv1.CaseState_CASE_STATE_AWAITING_RECHECK)
	}
	for _, c := range []authzCase{w.home, w.issue} {
		deadline := time.Now().Add(45 * time.Second)
		for {
			if _, err := fbAdmin.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: c.id}); err == nil {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("feedback does not know %s: %v", c.id, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// An incident of 芷江西路 for GetIncident.
	incs, err := w.classify["admin"].ListIncidents(ctx, &classifyv1.ListIncidentsRequest{StreetCode: zhijiang})
	if err != nil || len(incs.GetIncidents()) == 0 {
		t.Fatalf("no incident in %s: %v %v", zhijiang, incs, err)
	}
	w.incident = incs.GetIncidents()[0].GetIncidentId()
	return w
}

// fbLeadTask0 reads the case's round-0 lead task in any state.
func fbLeadTask0(t *testing.T, ctx context.Context, admin dispatchv1.DispatchServiceClient, caseID string) *dispatchv1.Task {
	t.Helper()
	resp, err := admin.ListTasks(ctx, &dispatchv1.ListTasksRequest{CaseId: caseID})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range resp.GetTasks() {
		if tk.GetRole() == eventsv1.TaskRole_TASK_ROLE_LEAD && tk.GetRound() == 0 {
			return tk
		}
	}
	t.Fatalf("case %s has no lead task: %v", caseID, resp.GetTasks())
	return nil
}

// authzHome is the case a column reads: the one its scope covers (its
// wrong-scope twin asks for the same one).
func (w *authzWorld) authzHome(col string) authzCase {
	switch {
	case strings.HasPrefix(col, "secretary:"):
		return w.issue
	case strings.HasPrefix(col, "patrol:"):
		return w.patrol
	case strings.HasPrefix(col, "gridleader:"): // self-disposal (issue 20): the patrol report is in its grid
		return w.patrol
	}
	return w.home
}

func (w *authzWorld) leverCase(col string) authzCase {
	if c, ok := w.lever[col]; ok {
		return c
	}
	return w.lever["dispatcher:"+zhijiang]
}

func (w *authzWorld) recheckCase(col string) authzCase {
	if c, ok := w.recheck[col]; ok {
		return c
	}
	return w.recheck["patrol:w-0031"]
}

// authzStream opens a server stream and reads from it for a moment: a
// refusal arrives at once; an accepted stream either sends or is still
// open when the moment is over.
func authzStream(ctx context.Context, recv func(ctx context.Context) error) error {
	sctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	err := recv(sctx)
	// The window closing on either side is the call allowed: the client's
	// deadline, or the server ending the stream cleanly (io.EOF) when the
	// same deadline reached it first.
	if status.Code(err) == codes.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// rid is a request id of its own per row and column.
func (w *authzWorld) rid(rpc, col string) string {
	return fmt.Sprintf("az-%s-%s-%s", w.run, rpc, col)
}

// authzCalls are the matrix's calls: for each RPC, a valid request as the
// column's principal.
func authzCalls(w *authzWorld) map[string]func(ctx context.Context, col string) error {
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	lat, lng := geo.WGS84ToGCJ02(31.2580, 121.4520)
	march := &feedbackv1.Period{Start: timestamppb.New(time.Now().Add(-30 * 24 * time.Hour)), End: timestamppb.New(time.Now().Add(time.Hour))}
	return map[string]func(ctx context.Context, col string) error{
		// intake
		"IntakeService/SubmitWorkOrder": func(ctx context.Context, col string) error {
			_, err := w.intake[col].SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: authzNoise(w.rid("wo", col), 90+len(col))})
			return err
		},
		"IntakeService/SubmitPatrolReport": func(ctx context.Context, col string) error {
			worker := ""
			if col == "admin" {
				worker = "w-0031"
			}
			_, err := w.intake[col].SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: &intakev1.PatrolReport{
				RequestId: w.rid("pr", col), WorkerId: worker, CatalogueCode: "03001", Description: "井盖缺失",
				Location: &typesv1.LatLng{Lat: lat, Lng: lng, Datum: typesv1.Datum_DATUM_GCJ02}}})
			return err
		},
		"IntakeService/RaiseIssue": func(ctx context.Context, col string) error {
			community := ""
			if col == "admin" {
				community = zhijiang + "001"
			}
			_, err := w.intake[col].RaiseIssue(ctx, &intakev1.RaiseIssueRequest{Issue: &intakev1.Issue{RequestId: w.rid("is", col),
				CommunityCode: community, Title: "楼道堆物", Content: "楼道里长期堆放杂物，存在消防隐患"}})
			return err
		},
		"IntakeService/AddFollowUp": func(ctx context.Context, col string) error {
			_, err := w.intake[col].AddFollowUp(ctx, &intakev1.AddFollowUpRequest{RequestId: w.rid("fu", col),
				Case: &intakev1.AddFollowUpRequest_CaseNumber{CaseNumber: w.home.number}, Kind: intakev1.FollowUpKind_FOLLOW_UP_KIND_SUPPLEMENT,
				Text: "市民补充：凌晨仍在营业"})
			return err
		},
		"IntakeService/GetSubmission": func(ctx context.Context, col string) error {
			resp, err := w.intake[col].GetSubmission(ctx, &intakev1.GetSubmissionRequest{Key: &intakev1.GetSubmissionRequest_CaseNumber{CaseNumber: w.authzHome(col).number}})
			return masked(resp, err)
		},
		"IntakeService/ReadContact": func(ctx context.Context, col string) error {
			resp, err := w.intake[col].ReadContact(ctx, &intakev1.ReadContactRequest{Key: &intakev1.ReadContactRequest_CaseNumber{CaseNumber: w.authzHome(col).number}})
			return inClear(resp, err)
		},
		"IntakeService/ListSubmissions": func(ctx context.Context, col string) error {
			resp, err := w.intake[col].ListSubmissions(ctx, &intakev1.ListSubmissionsRequest{PageSize: 10})
			return masked(resp, err)
		},

		// dispatch: reads, the squad's work, then each dispatcher's levers
		// on its own case, CancelCase last.
		"DispatchService/GetTask": func(ctx context.Context, col string) error {
			resp, err := w.dispatch[col].GetTask(ctx, &dispatchv1.GetTaskRequest{TaskId: w.home.task})
			return masked(resp, err)
		},
		"DispatchService/ListTasks": func(ctx context.Context, col string) error {
			resp, err := w.dispatch[col].ListTasks(ctx, &dispatchv1.ListTasksRequest{PageSize: 10})
			return masked(resp, err)
		},
		"DispatchService/WatchTasks": func(ctx context.Context, col string) error {
			req := &dispatchv1.WatchTasksRequest{Cursor: "0"}
			if col == "admin" {
				req.DepartmentCode = zhijiang + "-cgzd"
			}
			return authzStream(ctx, func(ctx context.Context) error {
				st, err := w.dispatch[col].WatchTasks(ctx, req)
				if err != nil {
					return err
				}
				_, err = st.Recv()
				return err
			})
		},
		"DispatchService/AcknowledgeTask": func(ctx context.Context, col string) error {
			_, err := w.dispatch[col].AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: w.rid("ack", col), TaskId: w.home.task, Note: "已签收"})
			return err
		},
		"DispatchService/ReportProgress": func(ctx context.Context, col string) error {
			_, err := w.dispatch[col].ReportProgress(ctx, &dispatchv1.ReportProgressRequest{RequestId: w.rid("pg", col), TaskId: w.home.task, Text: "已到场劝离"})
			return err
		},
		"DispatchService/RequestExtension": func(ctx context.Context, col string) error {
			_, err := w.dispatch[col].RequestExtension(ctx, &dispatchv1.RequestExtensionRequest{RequestId: w.rid("ext", col), TaskId: w.home.task,
				NewDue: timestamppb.New(time.Now().Add(30 * 24 * time.Hour)), Reason: "需联合执法"})
			return err
		},
		"DispatchService/RejectTask": func(ctx context.Context, col string) error {
			_, err := w.dispatch[col].RejectTask(ctx, &dispatchv1.RejectTaskRequest{RequestId: w.rid("rj", col), TaskId: w.reject.task,
				Reason: eventsv1.RejectReason_REJECT_REASON_OTHER, Note: "非本中队职责"})
			return err
		},
		"DispatchService/ForwardTask": func(ctx context.Context, col string) error {
			_, err := w.dispatch[col].ForwardTask(ctx, &dispatchv1.ForwardTaskRequest{RequestId: w.rid("fw", col), TaskId: w.complete.task,
				DepartmentCode: zhijiang + "-lhsrs"})
			return err
		},
		"DispatchService/CompleteTask": func(ctx context.Context, col string) error {
			_, err := w.dispatch[col].CompleteTask(ctx, &dispatchv1.CompleteTaskRequest{RequestId: w.rid("cp", col), TaskId: w.complete.task,
				Result: "已劝离烧烤摊", Evidence: []string{"s3://evidence/az.jpg"}})
			return err
		},
		"DispatchService/ListDispatchQueue": func(ctx context.Context, col string) error {
			_, err := w.dispatch[col].ListDispatchQueue(ctx, &dispatchv1.ListDispatchQueueRequest{})
			return err
		},
		"DispatchService/ListArbitration": func(ctx context.Context, col string) error {
			_, err := w.dispatch[col].ListArbitration(ctx, &dispatchv1.ListArbitrationRequest{})
			return err
		},
		"DispatchService/SimulateRoute": func(ctx context.Context, col string) error {
			_, err := w.dispatch[col].SimulateRoute(ctx, &dispatchv1.SimulateRouteRequest{Subject: &dispatchv1.SimulateRouteRequest_CaseId{CaseId: w.leverCase(col).id}})
			return err
		},
		"DispatchService/Supervise": func(ctx context.Context, col string) error {
			_, err := w.dispatch[col].Supervise(ctx, &dispatchv1.SuperviseRequest{RequestId: w.rid("sv", col), TaskId: w.leverCase(col).task, Note: "督办"})
			return err
		},
		"DispatchService/DecideExtension": func(ctx context.Context, col string) error {
			_, err := w.dispatch[col].DecideExtension(ctx, &dispatchv1.DecideExtensionRequest{RequestId: w.rid("de", col), TaskId: w.leverCase(col).task,
				Decision: dispatchv1.ExtensionDecision_EXTENSION_DECISION_DENY, Note: "请按期办结"})
			return err
		},
		"DispatchService/ReviewCompletion": func(ctx context.Context, col string) error {
			_, err := w.dispatch[col].ReviewCompletion(ctx, &dispatchv1.ReviewCompletionRequest{RequestId: w.rid("rv", col), TaskId: w.leverCase(col).task,
				Decision: dispatchv1.ReviewDecision_REVIEW_DECISION_APPROVE})
			return err
		},
		"DispatchService/Arbitrate": func(ctx context.Context, col string) error {
			_, err := w.dispatch[col].Arbitrate(ctx, &dispatchv1.ArbitrateRequest{RequestId: w.rid("ar", col), CaseId: w.leverCase(col).id,
				DepartmentCode: jingan + "-cgj", Note: "区城管执法局牵头"})
			return err
		},
		"DispatchService/Reassign": func(ctx context.Context, col string) error {
			_, err := w.dispatch[col].Reassign(ctx, &dispatchv1.ReassignRequest{RequestId: w.rid("ra", col), CaseId: w.leverCase(col).id,
				DepartmentCode: jingan + "-cgj", Note: "改派区城管执法局"})
			return err
		},
		"DispatchService/ParkCase": func(ctx context.Context, col string) error {
			review := time.Now().In(shanghai).AddDate(0, 0, 7).Format(time.DateOnly)
			_, err := w.dispatch[col].ParkCase(ctx, &dispatchv1.ParkCaseRequest{RequestId: w.rid("pk", col), CaseId: w.leverCase(col).id,
				Reason: "待拆违计划", ReviewDate: review})
			return err
		},
		"DispatchService/UnparkCase": func(ctx context.Context, col string) error {
			_, err := w.dispatch[col].UnparkCase(ctx, &dispatchv1.UnparkCaseRequest{RequestId: w.rid("up", col), CaseId: w.leverCase(col).id, Note: "恢复办理"})
			return err
		},
		"DispatchService/ExcludeCase": func(ctx context.Context, col string) error {
			_, err := w.dispatch[col].ExcludeCase(ctx, &dispatchv1.ExcludeCaseRequest{RequestId: w.rid("ex", col), CaseId: w.leverCase(col).id, Reason: "不合理诉求"})
			return err
		},
		"DispatchService/CancelCase": func(ctx context.Context, col string) error {
			_, err := w.dispatch[col].CancelCase(ctx, &dispatchv1.CancelCaseRequest{RequestId: w.rid("cc", col), CaseId: w.leverCase(col).id, Reason: "重复立案"})
			return err
		},
		"IntakeService/ListReferenceReloads": func(ctx context.Context, col string) error {
			_, err := w.intake[col].ListReferenceReloads(ctx, &intakev1.ListReferenceReloadsRequest{})
			return err
		},
		"ClassifyService/ListReferenceReloads": func(ctx context.Context, col string) error {
			_, err := w.classify[col].ListReferenceReloads(ctx, &classifyv1.ListReferenceReloadsRequest{})
			return err
		},
		"FeedbackService/ListReferenceReloads": func(ctx context.Context, col string) error {
			_, err := w.feedback[col].ListReferenceReloads(ctx, &feedbackv1.ListReferenceReloadsRequest{})
			return err
		},
		"DispatchService/ListReferenceReloads": func(ctx context.Context, col string) error {
			_, err := w.dispatch[col].ListReferenceReloads(ctx, &dispatchv1.ListReferenceReloadsRequest{})
			return err
		},

		// feedback
		"FeedbackService/GetCase": func(ctx context.Context, col string) error {
			resp, err := w.feedback[col].GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: w.authzHome(col).id})
			return masked(resp, err)
		},
		"FeedbackService/GetCaseTimeline": func(ctx context.Context, col string) error {
			resp, err := w.feedback[col].GetCaseTimeline(ctx, &feedbackv1.GetCaseTimelineRequest{CaseNumber: w.authzHome(col).number})
			return masked(resp, err)
		},
		"FeedbackService/ListCases": func(ctx context.Context, col string) error {
			resp, err := w.feedback[col].ListCases(ctx, &feedbackv1.ListCasesRequest{PageSize: 10})
			return masked(resp, err)
		},
		"FeedbackService/WatchCaseUpdates": func(ctx context.Context, col string) error {
			return authzStream(ctx, func(ctx context.Context) error {
				st, err := w.feedback[col].WatchCaseUpdates(ctx, &feedbackv1.WatchCaseUpdatesRequest{Cursor: "0"})
				if err != nil {
					return err
				}
				_, err = st.Recv()
				return err
			})
		},
		"FeedbackService/ListReplies": func(ctx context.Context, col string) error {
			_, err := w.feedback[col].ListReplies(ctx, &feedbackv1.ListRepliesRequest{CaseId: w.authzHome(col).id})
			return err
		},
		"FeedbackService/RecordCallback": func(ctx context.Context, col string) error {
			// Not reached: the case stays replied for the next caller.
			_, err := w.feedback[col].RecordCallback(ctx, &feedbackv1.RecordCallbackRequest{RequestId: w.rid("cb", col), CaseId: w.replied.id,
				Reached: false, Note: "无人接听"})
			return err
		},
		"FeedbackService/RecordRecheck": func(ctx context.Context, col string) error {
			_, err := w.feedback[col].RecordRecheck(ctx, &feedbackv1.RecordRecheckRequest{RequestId: w.rid("rc", col), CaseId: w.recheckCase(col).id,
				Passed: true, Photos: []string{"s3://recheck/az.jpg"}})
			return err
		},
		"FeedbackService/GetMetrics": func(ctx context.Context, col string) error {
			req := &feedbackv1.GetMetricsRequest{Scope: feedbackv1.Scope_SCOPE_STREET, Code: zhijiang, Period: march}
			if dept, ok := strings.CutPrefix(col, "department:"); ok {
				req.Scope, req.Code = feedbackv1.Scope_SCOPE_DEPARTMENT, dept
			}
			_, err := w.feedback[col].GetMetrics(ctx, req)
			return err
		},
		"FeedbackService/GetPareto": func(ctx context.Context, col string) error {
			_, err := w.feedback[col].GetPareto(ctx, &feedbackv1.GetParetoRequest{AreaCode: zhijiang, Period: march})
			return err
		},
		"FeedbackService/GetHotspots": func(ctx context.Context, col string) error {
			_, err := w.feedback[col].GetHotspots(ctx, &feedbackv1.GetHotspotsRequest{AreaCode: zhijiang, Period: march})
			return err
		},

		// classify (last: a reclassification would re-route the cases the
		// dispatch rows steer)
		"ClassifyService/ListCatalogue": func(ctx context.Context, col string) error {
			_, err := w.classify[col].ListCatalogue(ctx, &classifyv1.ListCatalogueRequest{PageSize: 5})
			return err
		},
		"ClassifyService/GetCatalogueItem": func(ctx context.Context, col string) error {
			_, err := w.classify[col].GetCatalogueItem(ctx, &classifyv1.GetCatalogueItemRequest{Key: &classifyv1.GetCatalogueItemRequest_Code{Code: "06022"}})
			return err
		},
		"ClassifyService/ListReviewQueue": func(ctx context.Context, col string) error {
			_, err := w.classify[col].ListReviewQueue(ctx, &classifyv1.ListReviewQueueRequest{})
			return err
		},
		"ClassifyService/GetClassification": func(ctx context.Context, col string) error {
			resp, err := w.classify[col].GetClassification(ctx, &classifyv1.GetClassificationRequest{CaseId: w.authzHome(col).id})
			return masked(resp, err)
		},
		"ClassifyService/GetIncident": func(ctx context.Context, col string) error {
			_, err := w.classify[col].GetIncident(ctx, &classifyv1.GetIncidentRequest{IncidentId: w.incident})
			return err
		},
		"ClassifyService/ListIncidents": func(ctx context.Context, col string) error {
			_, err := w.classify[col].ListIncidents(ctx, &classifyv1.ListIncidentsRequest{})
			return err
		},
		"ClassifyService/ResolveReview": func(ctx context.Context, col string) error {
			_, err := w.classify[col].ResolveReview(ctx, &classifyv1.ResolveReviewRequest{RequestId: w.rid("rr", col), CaseId: w.leverCase(col).id, ItemCode: "06022"})
			return err
		},
		"ClassifyService/Reclassify": func(ctx context.Context, col string) error {
			_, err := w.classify[col].Reclassify(ctx, &classifyv1.ReclassifyRequest{RequestId: w.rid("rk", col), CaseId: w.leverCase(col).id, ItemCode: "06022",
				Note: "确认分类"})
			return err
		},
		"ClassifyService/ListCorrections": func(ctx context.Context, col string) error {
			_, err := w.classify[col].ListCorrections(ctx, &classifyv1.ListCorrectionsRequest{})
			return err
		},
		"ClassifyService/ListModels": func(ctx context.Context, col string) error {
			_, err := w.classify[col].ListModels(ctx, &classifyv1.ListModelsRequest{})
			return err
		},
		"ClassifyService/ReloadModel": func(ctx context.Context, col string) error {
			_, err := w.classify[col].ReloadModel(ctx, &classifyv1.ReloadModelRequest{})
			return err
		},
		"ClassifyService/RetrainModel": func(ctx context.Context, col string) error {
			_, err := w.classify[col].RetrainModel(ctx, &classifyv1.RetrainModelRequest{})
			return err
		},
	}
}
