package grpcapi_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// The reads that take a case — ListTasks' case filter and SimulateRoute —
// find it by its id, its case number and its hotline order number alike
// (dispatch keeps the last two from case.received); an unknown one is
// NotFound naming what was asked, a malformed one InvalidArgument naming the
// field.
func TestReadsTakeAnyCaseReference(t *testing.T) {
	e := setup(t)
	id := uuid.Must(uuid.NewV7()).String()
	const number, orderNo = "GF-20260302-004242", "12345-20260302-0042"
	e.publish("grid.case.received."+dis+"."+zj, id, &eventsv1.CaseReceived{CaseId: id, CaseNumber: number, HotlineOrderNo: orderNo,
		Source: typesv1.Source_SOURCE_HOTLINE, ReceivedAt: timestamppb.New(start), AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT,
		Title: "噪声扰民", Content: "楼下商铺每天音响很吵", Urgency: typesv1.Urgency_URGENCY_NORMAL, Area: area(zj)})
	e.classify(id, number, 1, "H04001", zj, typesv1.Urgency_URGENCY_NORMAL, true)
	other := e.newCase("H04001", zj, true) // a second case no lookup may return
	task := e.waitTasks(id, 1)[0]
	e.waitTasks(other, 1)

	c, ctx := e.as("dispatcher:" + zj)
	for _, tc := range []struct {
		name string
		list *dispatchv1.ListTasksRequest
		sim  *dispatchv1.SimulateRouteRequest
	}{
		{"case id", &dispatchv1.ListTasksRequest{CaseId: id},
			&dispatchv1.SimulateRouteRequest{Subject: &dispatchv1.SimulateRouteRequest_CaseId{CaseId: id}}},
		{"case number", &dispatchv1.ListTasksRequest{CaseNumber: number},
			&dispatchv1.SimulateRouteRequest{Subject: &dispatchv1.SimulateRouteRequest_CaseNumber{CaseNumber: number}}},
		{"hotline order number", &dispatchv1.ListTasksRequest{HotlineOrderNo: orderNo},
			&dispatchv1.SimulateRouteRequest{Subject: &dispatchv1.SimulateRouteRequest_HotlineOrderNo{HotlineOrderNo: orderNo}}},
	} {
		resp, err := c.ListTasks(ctx, tc.list)
		if err != nil {
			t.Fatalf("ListTasks by %s: %v", tc.name, err)
		}
		if got := resp.GetTasks(); len(got) != 1 || got[0].GetTaskId() != task.GetTaskId() || got[0].GetCaseNumber() != number {
			t.Errorf("ListTasks by %s = %v, want only task %s", tc.name, got, task.GetTaskId())
		}
		sim, err := c.SimulateRoute(ctx, tc.sim)
		if err != nil {
			t.Fatalf("SimulateRoute by %s: %v", tc.name, err)
		}
		if sim.GetLead().GetDepartmentCode() != zj+"-pcs" {
			t.Errorf("SimulateRoute by %s: lead %v, want %s-pcs", tc.name, sim.GetLead(), zj)
		}
	}

	// Unknown: ListTasks' filter lists nothing; SimulateRoute names what
	// it did not find to admin, and tells a scoped caller only that the
	// case is not within its scope (as for another street's case).
	ac, actx := e.as("admin")
	if resp, err := c.ListTasks(ctx, &dispatchv1.ListTasksRequest{CaseNumber: "GF-20260302-999999"}); err != nil || len(resp.GetTasks()) != 0 {
		t.Errorf("ListTasks of an unknown case number = %v, %v; want none", resp.GetTasks(), err)
	}
	for _, tc := range []struct {
		sim  *dispatchv1.SimulateRouteRequest
		want string
	}{
		{&dispatchv1.SimulateRouteRequest{Subject: &dispatchv1.SimulateRouteRequest_CaseNumber{CaseNumber: "GF-20260302-999999"}},
			`dispatch knows no case with case number "GF-20260302-999999"`},
		{&dispatchv1.SimulateRouteRequest{Subject: &dispatchv1.SimulateRouteRequest_HotlineOrderNo{HotlineOrderNo: "no-such-order"}},
			`dispatch knows no case with hotline order number "no-such-order"`},
	} {
		_, err := ac.SimulateRoute(actx, tc.sim)
		if code(err).String() != "NotFound" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SimulateRoute(%v) = %v, want NotFound %q", tc.sim, err, tc.want)
		}
		if _, err := c.SimulateRoute(ctx, tc.sim); code(err).String() != "PermissionDenied" || !strings.Contains(err.Error(), "is not within the caller's scope") {
			t.Errorf("SimulateRoute(%v) by a street dispatcher = %v, want PermissionDenied", tc.sim, err)
		}
	}

	// Malformed or ambiguous: InvalidArgument naming the field.
	for _, tc := range []struct {
		list  *dispatchv1.ListTasksRequest
		field string
	}{
		{&dispatchv1.ListTasksRequest{CaseNumber: "GF-1"}, "case_number"},
		{&dispatchv1.ListTasksRequest{CaseId: id, CaseNumber: number}, "case_id"},
		{&dispatchv1.ListTasksRequest{HotlineOrderNo: strings.Repeat("9", 65)}, "hotline_order_no"},
	} {
		_, err := c.ListTasks(ctx, tc.list)
		if got := strings.Join(fields(err), ","); code(err).String() != "InvalidArgument" || !strings.Contains(got, tc.field) {
			t.Errorf("ListTasks(%v) = %v (fields %s), want InvalidArgument on %s", tc.list, err, got, tc.field)
		}
	}
	_, err := c.SimulateRoute(ctx, &dispatchv1.SimulateRouteRequest{Subject: &dispatchv1.SimulateRouteRequest_CaseNumber{CaseNumber: id}})
	if got := strings.Join(fields(err), ","); code(err).String() != "InvalidArgument" || !strings.Contains(got, "case_number") {
		t.Errorf("SimulateRoute with a case id as case_number = %v (fields %s), want InvalidArgument on case_number", err, got)
	}

	// Scope still holds by any reference: another street's dispatcher is
	// refused.
	lfc, lctx := e.as("dispatcher:" + lf)
	if _, err := lfc.SimulateRoute(lctx, &dispatchv1.SimulateRouteRequest{Subject: &dispatchv1.SimulateRouteRequest_CaseNumber{CaseNumber: number}}); code(err).String() != "PermissionDenied" {
		t.Errorf("another street's dispatcher, by case number: %v, want PermissionDenied", err)
	}
}
