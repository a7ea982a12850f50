package e2e

import (
	"context"
	"sync"
	"testing"

	"github.com/google/uuid"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
)

// authzWorkTaskCalls are the matrix's calls of dispatch's WorkerTaskService
// (issue 20, work tasks).
func authzWorkTaskCalls(t *testing.T, s *stack) map[string]func(ctx context.Context, col string) error {
	var mu sync.Mutex
	clients := map[string]dispatchv1.WorkerTaskServiceClient{}
	client := func(col string) dispatchv1.WorkerTaskServiceClient {
		mu.Lock()
		defer mu.Unlock()
		if clients[col] == nil { // the public's column too (authzPublicColumn)
			clients[col] = dispatchv1.NewWorkerTaskServiceClient(authzDial(t, s, "dispatch", col))
		}
		return clients[col]
	}
	return map[string]func(ctx context.Context, col string) error{
		"WorkerTaskService/ListWorkerTasks": func(ctx context.Context, col string) error {
			_, err := client(col).ListWorkerTasks(ctx, &dispatchv1.ListWorkerTasksRequest{})
			return err
		},
		"WorkerTaskService/RecordInspection": func(ctx context.Context, col string) error {
			_, err := client(col).RecordInspection(ctx, &dispatchv1.RecordInspectionRequest{RequestId: "authz-inspect-" + col,
				TaskId: uuid.NewString()})
			return err
		},
	}
}
