package grpcapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// coordAs returns a CoordinationService client and a context carrying p's
// token.
func (e *env) coordAs(p string) (dispatchv1.CoordinationServiceClient, context.Context) {
	e.t.Helper()
	pr, err := auth.ParsePrincipal(p)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.signer.Issue(pr, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 60*time.Second)
	e.t.Cleanup(cancel)
	return dispatchv1.NewCoordinationServiceClient(e.conn), metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

// waitCoordination waits until GetCoordination as admin answers n tasks
// under lead (and open).
func (e *env) waitCoordination(place, lead string, open bool, n int) *dispatchv1.GetCoordinationResponse {
	e.t.Helper()
	c, ctx := e.coordAs("admin")
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := c.GetCoordination(ctx, &dispatchv1.GetCoordinationRequest{SourcePlaceId: place})
		if err == nil && len(resp.GetTasks()) == n && resp.GetCoordination().GetLeadDepartmentCode() == lead &&
			resp.GetCoordination().GetOpen() == open {
			return resp
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("coordination of %s: %v, %v; want %d tasks under %q (open %v)", place, resp, err, n, lead, open)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// Source place coordination (issue 20): the tasks of a place's linked
// incidents are linked under it and stay with the units holding the power;
// the lead reads them (GetTask, GetCoordination) and acts on none of them;
// a task dispatched after the link is linked as it is created; a closed
// place lets the lead read nothing more. Events may come in any order: the
// lead event's version decides.
func TestCoordination(t *testing.T) {
	e := setup(t)
	const place = "sp-coord-1"
	noise := e.newCase("06020", zj, true)  // 派出所
	litter := e.newCase("06010", zj, true) // 绿化市容所
	nt := e.waitTasks(noise, 1)[0]
	lt := e.waitTasks(litter, 1)[0]
	if nt.GetDepartmentCode() != zj+"-pcs" || lt.GetDepartmentCode() != zj+"-lhsrs" {
		t.Fatalf("holders %s, %s", nt.GetDepartmentCode(), lt.GetDepartmentCode())
	}
	subject := "." + dis + "." + zj
	incidents := []*eventsv1.SourcePlaceIncident{{IncidentId: "inc-noise", PrimaryCaseId: noise, ItemCode: "06020"},
		{IncidentId: "inc-litter", PrimaryCaseId: litter, ItemCode: "06010"}}
	// The lead event (version 2: the lead changed) before the links, and
	// its older version 1 after it: 310106-sthjj stays the lead.
	e.publish("grid.incident.source_place_lead"+subject, noise, &eventsv1.SourcePlaceLeadChanged{SourcePlaceId: place, Version: 2,
		LeadDepartmentCode: "310106-sthjj", PreviousLeadDepartmentCode: zj + "-cgzd", Open: true, Change: "lead_changed",
		IncidentId: "inc-noise", Incidents: incidents, Area: area(zj), PlaceKey: "静安区|共和新路||1234|兰州拉面"})
	for _, inc := range incidents {
		e.publish("grid.incident.linked"+subject, inc.GetPrimaryCaseId(), &eventsv1.IncidentLinked{SourcePlaceId: place,
			IncidentId: inc.GetIncidentId(), CaseId: inc.GetPrimaryCaseId(), PrimaryCaseId: inc.GetPrimaryCaseId(), ItemCode: inc.GetItemCode(), Area: area(zj)})
	}
	e.publish("grid.incident.source_place_lead"+subject, litter, &eventsv1.SourcePlaceLeadChanged{SourcePlaceId: place, Version: 1,
		LeadDepartmentCode: zj + "-cgzd", Open: true, Change: "lead_set", IncidentId: "inc-litter", Incidents: incidents, Area: area(zj)})
	resp := e.waitCoordination(place, "310106-sthjj", true, 2)
	holders := map[string]string{}
	for _, ct := range resp.GetTasks() {
		holders[ct.GetCaseId()] = ct.GetDepartmentCode()
		if ct.GetState() != eventsv1.TaskState_TASK_STATE_DISPATCHED || ct.GetDeadlines().GetComplete().GetDue() == nil {
			t.Errorf("coordinated task %+v: want dispatched with its clock", ct)
		}
	}
	if holders[noise] != zj+"-pcs" || holders[litter] != zj+"-lhsrs" {
		t.Errorf("holders %v: each task stays with the unit holding the power", holders)
	}

	// The lead reads the linked tasks (the case behind, masked) and acts on none.
	lead, lctx := e.as("department:310106-sthjj")
	got, err := lead.GetTask(lctx, &dispatchv1.GetTaskRequest{TaskId: nt.GetTaskId()})
	if err != nil {
		t.Fatalf("lead reads a linked task: %v", err)
	}
	if co := got.GetTask().GetCoordination(); co.GetSourcePlaceId() != place || co.GetLeadDepartmentCode() != "310106-sthjj" || !co.GetOpen() {
		t.Errorf("task coordination %+v", co)
	}
	if got.GetTask().GetDepartmentCode() != zj+"-pcs" {
		t.Errorf("the linked task moved to %s", got.GetTask().GetDepartmentCode())
	}
	if _, err := lead.AcknowledgeTask(lctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: "ack-1", TaskId: nt.GetTaskId()}); code(err) != codes.PermissionDenied {
		t.Errorf("the lead signs for another unit's task: %v, want PermissionDenied", err)
	}
	// ListTasks shows the coordination to the holder too.
	holder, hctx := e.as("department:" + zj + "-pcs")
	lst, err := holder.ListTasks(hctx, &dispatchv1.ListTasksRequest{CaseId: noise})
	if err != nil || len(lst.GetTasks()) != 1 || lst.GetTasks()[0].GetCoordination().GetSourcePlaceId() != place {
		t.Errorf("holder's ListTasks: %v, %v", lst, err)
	}

	// Who reads the coordination.
	for _, tc := range []struct {
		who  string
		want codes.Code
	}{
		{"department:310106-sthjj", codes.OK}, {"dispatcher:" + zj, codes.OK}, {"district:" + dis, codes.OK},
		{"dispatcher:" + lf, codes.PermissionDenied}, {"department:" + zj + "-cgzd", codes.PermissionDenied},
		{"department:" + zj + "-pcs", codes.PermissionDenied}, {"hotline", codes.PermissionDenied},
	} {
		c, ctx := e.coordAs(tc.who)
		if _, err := c.GetCoordination(ctx, &dispatchv1.GetCoordinationRequest{SourcePlaceId: place}); code(err) != tc.want {
			t.Errorf("GetCoordination as %s: %v, want %s", tc.who, err, tc.want)
		}
	}
	c, ctx := e.coordAs("dispatcher:" + zj)
	if _, err := c.GetCoordination(ctx, &dispatchv1.GetCoordinationRequest{SourcePlaceId: "no-such-place"}); code(err) != codes.PermissionDenied {
		t.Errorf("an unknown place for a scoped caller: %v, want PermissionDenied", err)
	}
	ca, actx := e.coordAs("admin")
	if _, err := ca.GetCoordination(actx, &dispatchv1.GetCoordinationRequest{SourcePlaceId: "no-such-place"}); code(err) != codes.NotFound {
		t.Errorf("an unknown place for admin: %v, want NotFound", err)
	}
	if _, err := ca.GetCoordination(actx, &dispatchv1.GetCoordinationRequest{}); code(err) != codes.InvalidArgument {
		t.Errorf("no place: %v, want InvalidArgument", err)
	}

	// A later report's incident joins: its task is linked as it is created.
	later := e.newCase("09006", zj, false) // not dispatchable yet: linked first
	e.publish("grid.incident.linked"+subject, later, &eventsv1.IncidentLinked{SourcePlaceId: place, IncidentId: "inc-later",
		CaseId: later, PrimaryCaseId: later, ItemCode: "09006", Area: area(zj)})
	e.classify(later, "GF-later", 2, "09006", zj, 0, true)
	resp = e.waitCoordination(place, "310106-sthjj", true, 3)
	if len(resp.GetIncidentIds()) != 3 {
		t.Errorf("incidents %v, want 3", resp.GetIncidentIds())
	}

	// Closed: the lead reads nothing more; the holders keep their tasks.
	e.publish("grid.incident.source_place_lead"+subject, noise, &eventsv1.SourcePlaceLeadChanged{SourcePlaceId: place, Version: 3,
		LeadDepartmentCode: "310106-sthjj", Open: false, Change: "closed", IncidentId: "inc-noise", Incidents: incidents, Area: area(zj)})
	e.waitCoordination(place, "310106-sthjj", false, 3)
	if _, err := lead.GetTask(lctx, &dispatchv1.GetTaskRequest{TaskId: nt.GetTaskId()}); code(err) != codes.PermissionDenied {
		t.Errorf("the lead of a closed place reads a linked task: %v, want PermissionDenied", err)
	}
	lc, lcctx := e.coordAs("department:310106-sthjj")
	if _, err := lc.GetCoordination(lcctx, &dispatchv1.GetCoordinationRequest{SourcePlaceId: place}); code(err) != codes.PermissionDenied {
		t.Errorf("the lead of a closed place reads its coordination: %v, want PermissionDenied", err)
	}
	if _, err := holder.GetTask(hctx, &dispatchv1.GetTaskRequest{TaskId: nt.GetTaskId()}); err != nil {
		t.Errorf("the holder reads its task: %v", err)
	}
}
