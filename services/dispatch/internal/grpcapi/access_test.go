package grpcapi_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
)

// TestAccessMatrixOverGRPC is the access table seen from outside: every RPC
// called by every kind of principal with an empty request. A principal the
// table refuses gets PERMISSION_DENIED (before its empty request is judged);
// one it admits gets past authorization (an answer, or the request's own
// faults, never PERMISSION_DENIED or UNAUTHENTICATED).
func TestAccessMatrixOverGRPC(t *testing.T) {
	e := setup(t)
	type call func(c dispatchv1.DispatchServiceClient, ctx context.Context) error
	watch := func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
		s, err := c.WatchTasks(ctx, &dispatchv1.WatchTasksRequest{Cursor: "x"})
		if err != nil {
			return err
		}
		_, err = s.Recv()
		return err
	}
	rpcs := map[string]call{
		"GetTask": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.GetTask(ctx, &dispatchv1.GetTaskRequest{})
			return err
		},
		"ListTasks": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.ListTasks(ctx, &dispatchv1.ListTasksRequest{})
			return err
		},
		"WatchTasks": watch,
		"AcknowledgeTask": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{})
			return err
		},
		"RejectTask": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.RejectTask(ctx, &dispatchv1.RejectTaskRequest{})
			return err
		},
		"ForwardTask": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.ForwardTask(ctx, &dispatchv1.ForwardTaskRequest{})
			return err
		},
		"RequestExtension": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.RequestExtension(ctx, &dispatchv1.RequestExtensionRequest{})
			return err
		},
		"ReportProgress": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.ReportProgress(ctx, &dispatchv1.ReportProgressRequest{})
			return err
		},
		"CompleteTask": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.CompleteTask(ctx, &dispatchv1.CompleteTaskRequest{})
			return err
		},
		"ListDispatchQueue": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.ListDispatchQueue(ctx, &dispatchv1.ListDispatchQueueRequest{})
			return err
		},
		"ListArbitration": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.ListArbitration(ctx, &dispatchv1.ListArbitrationRequest{})
			return err
		},
		"SimulateRoute": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.SimulateRoute(ctx, &dispatchv1.SimulateRouteRequest{})
			return err
		},
		"Reassign": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.Reassign(ctx, &dispatchv1.ReassignRequest{})
			return err
		},
		"DecideExtension": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.DecideExtension(ctx, &dispatchv1.DecideExtensionRequest{Decision: dispatchv1.ExtensionDecision_EXTENSION_DECISION_DENY})
			return err
		},
		"ReviewCompletion": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.ReviewCompletion(ctx, &dispatchv1.ReviewCompletionRequest{Decision: dispatchv1.ReviewDecision_REVIEW_DECISION_APPROVE})
			return err
		},
		"Supervise": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.Supervise(ctx, &dispatchv1.SuperviseRequest{})
			return err
		},
		"Arbitrate": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.Arbitrate(ctx, &dispatchv1.ArbitrateRequest{})
			return err
		},
		"CancelCase": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.CancelCase(ctx, &dispatchv1.CancelCaseRequest{})
			return err
		},
		"ParkCase": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.ParkCase(ctx, &dispatchv1.ParkCaseRequest{})
			return err
		},
		"UnparkCase": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.UnparkCase(ctx, &dispatchv1.UnparkCaseRequest{})
			return err
		},
		"ExcludeCase": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.ExcludeCase(ctx, &dispatchv1.ExcludeCaseRequest{})
			return err
		},
		"ListReferenceReloads": func(c dispatchv1.DispatchServiceClient, ctx context.Context) error {
			_, err := c.ListReferenceReloads(ctx, &dispatchv1.ListReferenceReloadsRequest{})
			return err
		},
	}
	const (
		dept = "department:" + zj + "-pcs"
		disp = "dispatcher:" + zj
		dist = "district:" + dis
	)
	readers := []string{dept, disp, dist, "admin"}
	units := []string{dept}
	dispatchers := []string{disp, dist, "admin"}
	allowed := map[string][]string{
		"GetTask": readers, "WatchTasks": {dept, "admin"},
		// A grid worker lists its own worker tasks (issue 20, work tasks).
		"ListTasks":       append(slices.Clone(readers), "patrol:w1"),
		"AcknowledgeTask": units, "RejectTask": units, "ForwardTask": units, "RequestExtension": units,
		"ReportProgress": units, "CompleteTask": units,
	}
	for name := range rpcs {
		if allowed[name] == nil {
			allowed[name] = dispatchers
		}
	}
	if len(rpcs) != len(dispatchv1.DispatchService_ServiceDesc.Methods)+len(dispatchv1.DispatchService_ServiceDesc.Streams) {
		t.Fatalf("the matrix covers %d RPCs, the service has %d", len(rpcs),
			len(dispatchv1.DispatchService_ServiceDesc.Methods)+len(dispatchv1.DispatchService_ServiceDesc.Streams))
	}
	principals := []string{"hotline", "patrol:w1", "secretary:" + zj + "001", dept, disp, dist, "admin"}
	for name, rpc := range rpcs {
		for _, p := range principals {
			c, ctx := e.as(p)
			err := rpc(c, ctx)
			admitted := false
			for _, a := range allowed[name] {
				admitted = admitted || a == p
			}
			switch got := code(err); {
			case !admitted && got != codes.PermissionDenied:
				t.Errorf("%s by %s: %v, want PermissionDenied", name, p, err)
			case admitted && (got == codes.PermissionDenied || got == codes.Unauthenticated):
				t.Errorf("%s by %s: %v, want past authorization", name, p, err)
			}
		}
		if err := rpc(dispatchv1.NewDispatchServiceClient(e.conn), e.ctx); code(err) != codes.Unauthenticated {
			t.Errorf("%s without a credential: %v, want Unauthenticated", name, err)
		}
	}
}

// TestScopeBeforeAnything: a scoped caller asking for another's case or
// task and one asking for one that does not exist get the same
// PERMISSION_DENIED; admin hears NOT_FOUND. A street dispatcher gives a
// case only to units serving its own street: another street's unit is the
// district's to name.
func TestScopeBeforeAnything(t *testing.T) {
	e := setup(t)
	caseID := e.newCase("H04001", zj, true)
	task := e.waitTasks(caseID, 1)[0]
	lfd, lctx := e.as("dispatcher:" + lf)
	zjd, zctx := e.as("dispatcher:" + zj)
	admin, actx := e.as("admin")
	missingCase, missingTask := uuid.NewString(), uuid.NewString()
	for _, tc := range []struct {
		name string
		call func(c dispatchv1.DispatchServiceClient, ctx context.Context, caseID, taskID string) error
	}{
		{"GetTask", func(c dispatchv1.DispatchServiceClient, ctx context.Context, _, taskID string) error {
			_, err := c.GetTask(ctx, &dispatchv1.GetTaskRequest{TaskId: taskID})
			return err
		}},
		{"Supervise", func(c dispatchv1.DispatchServiceClient, ctx context.Context, _, taskID string) error {
			_, err := c.Supervise(ctx, &dispatchv1.SuperviseRequest{RequestId: "s-" + taskID, TaskId: taskID, Note: "督办"})
			return err
		}},
		{"CancelCase", func(c dispatchv1.DispatchServiceClient, ctx context.Context, caseID, _ string) error {
			_, err := c.CancelCase(ctx, &dispatchv1.CancelCaseRequest{RequestId: "c-" + caseID, CaseId: caseID, Reason: "无效"})
			return err
		}},
	} {
		other := tc.call(lfd, lctx, caseID, task.GetTaskId())
		missing := tc.call(lfd, lctx, missingCase, missingTask)
		if code(other) != codes.PermissionDenied || code(missing) != codes.PermissionDenied {
			t.Errorf("%s by another street: %v; of nothing: %v; want PermissionDenied for both", tc.name, other, missing)
		}
		norm := func(err error) string {
			m := status.Convert(err).Message()
			for _, id := range []string{caseID, task.GetTaskId(), missingCase, missingTask} {
				m = strings.ReplaceAll(m, id, "<id>")
			}
			return m
		}
		if a, b := norm(other), norm(missing); a != b {
			t.Errorf("%s: another's says %q, a missing one %q: they must read alike", tc.name, a, b)
		}
		if err := tc.call(admin, actx, missingCase, missingTask); code(err) != codes.NotFound {
			t.Errorf("%s of nothing by admin: %v, want NotFound", tc.name, err)
		}
	}
	// 芷江西路's dispatcher may not hand its case to 临汾路's police station …
	_, err := zjd.Reassign(zctx, &dispatchv1.ReassignRequest{RequestId: "x1", CaseId: caseID, DepartmentCode: lf + "-pcs"})
	if code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "the district's") {
		t.Fatalf("reassign across streets by the street: %v, want PermissionDenied naming the district", err)
	}
	// … but to a district bureau over its street, and the district may.
	if _, err := zjd.Reassign(zctx, &dispatchv1.ReassignRequest{RequestId: "x2", CaseId: caseID, DepartmentCode: "310106-gafj"}); err != nil {
		t.Fatalf("reassign to the district's police bureau: %v", err)
	}
	dd, dctx := e.as("district:" + dis)
	if _, err := dd.Reassign(dctx, &dispatchv1.ReassignRequest{RequestId: "x3", CaseId: caseID, DepartmentCode: lf + "-pcs"}); err != nil {
		t.Fatalf("reassign across streets by the district: %v", err)
	}
}
