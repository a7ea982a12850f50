package grpcapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/auth"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/testing/protocmp"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// asPerson is as, with a token that names the person behind the principal.
func (e *env) asPerson(p auth.Principal) (dispatchv1.DispatchServiceClient, context.Context) {
	e.t.Helper()
	tok, err := e.signer.Issue(p, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 60*time.Second)
	e.t.Cleanup(cancel)
	return dispatchv1.NewDispatchServiceClient(e.conn), metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

// The officer who signs for a task is the actor of task.acknowledged, as
// the audit trail shows it; what dispatch does by itself stays system's.
func TestPersonIsTheActor(t *testing.T) {
	e := setup(t)
	caseID := e.newCase("H04001", zj, true)
	task := e.waitTasks(caseID, 1)[0]
	officer := auth.Principal{Role: auth.RoleDepartment, Subject: zj + "-pcs", Person: auth.Person{ID: "pcs-031", Name: "刘洋"}}
	c, ctx := e.asPerson(officer)
	if _, err := c.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: "ack-p", TaskId: task.GetTaskId()}); err != nil {
		t.Fatal(err)
	}
	ack := e.events("grid.task.acknowledged."+zj+"-pcs."+dis+"."+zj, 1)[0]
	want := &typesv1.Principal{Role: "department", Subject: zj + "-pcs", Person: &typesv1.Person{Id: "pcs-031", Name: "刘洋"}}
	if diff := cmp.Diff(want, ack.GetActor(), protocmp.Transform()); diff != "" {
		t.Errorf("task.acknowledged actor mismatch (-want +got):\n%s", diff)
	}
	dispatched := e.events("grid.task.dispatched."+zj+"-pcs."+dis+"."+zj, 1)[0]
	if a := dispatched.GetActor(); a.GetRole() != "system" || a.GetPerson() != nil {
		t.Errorf("task.dispatched actor = %v, want system without a person", a)
	}
}
