package grpcapi_test

import (
	"context"
	"slices"
	"testing"
	"time"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestWatchAndFiguresAreScoped: the hotline's watch carries only the
// updates of hotline cases (a patrol case signed for in the same street is
// not relayed), and its figures count only hotline cases; admin's both.
func TestWatchAndFiguresAreScoped(t *testing.T) {
	e := setup(t)
	hot := e.receive(typesv1.Source_SOURCE_HOTLINE, zj)
	pat := e.receive(typesv1.Source_SOURCE_PATROL, zj)
	for _, k := range []kase{hot, pat} {
		e.classify(k, "")
		task := e.dispatch(k, 0)
		e.publish(k.id, "task_acknowledged", &eventsv1.TaskAcknowledged{Task: e.taskRef(k, task, 0, eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED)})
	}
	e.state(pat) // both are in the log once the later one is
	watched := func(p string) []string {
		c, ctx := e.as(p)
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		s, err := c.WatchCaseUpdates(ctx, &feedbackv1.WatchCaseUpdatesRequest{Cursor: "0"})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for {
			u, err := s.Recv()
			if err != nil {
				break
			}
			if !slices.Contains(ids, u.GetCaseId()) {
				ids = append(ids, u.GetCaseId())
			}
		}
		slices.Sort(ids)
		return ids
	}
	both := []string{hot.id, pat.id}
	slices.Sort(both)
	if got := watched("hotline"); !slices.Equal(got, []string{hot.id}) {
		t.Errorf("the hotline watched updates of %v, want only its case %s", got, hot.id)
	}
	if got := watched("admin"); !slices.Equal(got, both) {
		t.Errorf("admin watched updates of %v, want %v", got, both)
	}
	// A named case outside the scope is refused like GetCase.
	c, ctx := e.as("hotline")
	s, err := c.WatchCaseUpdates(ctx, &feedbackv1.WatchCaseUpdatesRequest{CaseId: pat.id, Cursor: "0"})
	if err == nil {
		_, err = s.Recv()
	}
	code(t, err, codes.PermissionDenied)

	period := &feedbackv1.Period{Start: timestamppb.New(e.clock.Now().Add(-time.Hour)), End: timestamppb.New(e.clock.Now().Add(time.Hour))}
	total := func(p string) int32 {
		c, ctx := e.as(p)
		r, err := c.GetPareto(ctx, &feedbackv1.GetParetoRequest{AreaCode: zj, Period: period})
		if err != nil {
			t.Fatalf("pareto as %s: %v", p, err)
		}
		return r.GetTotal()
	}
	if h, a := total("hotline"), total("admin"); h != 1 || a != 2 {
		t.Errorf("pareto totals: hotline %d, admin %d; want 1 (its own case) and 2", h, a)
	}
	m, mctx := e.as("hotline")
	r, err := m.GetMetrics(mctx, &feedbackv1.GetMetricsRequest{Scope: feedbackv1.Scope_SCOPE_STREET, Code: zj, Period: period})
	if err != nil || r.GetMetrics().GetCases() != 1 {
		t.Errorf("the hotline's metrics: %v cases, %v; want 1", r.GetMetrics().GetCases(), err)
	}
	// A street's dispatcher reads its street's figures and a department's
	// inside it, not a district bureau's nor the city's.
	d, dctx := e.as("dispatcher:" + zj)
	for _, tc := range []struct {
		scope feedbackv1.Scope
		code  string
		want  codes.Code
	}{
		{feedbackv1.Scope_SCOPE_STREET, zj, codes.OK},
		{feedbackv1.Scope_SCOPE_GRID, zj + "001001", codes.OK},
		{feedbackv1.Scope_SCOPE_DEPARTMENT, cgzd, codes.OK},
		{feedbackv1.Scope_SCOPE_DEPARTMENT, "310106-cgj", codes.PermissionDenied},
		{feedbackv1.Scope_SCOPE_DISTRICT, district, codes.PermissionDenied},
		{feedbackv1.Scope_SCOPE_CITY, "", codes.PermissionDenied},
	} {
		_, err := d.GetMetrics(dctx, &feedbackv1.GetMetricsRequest{Scope: tc.scope, Code: tc.code, Period: period})
		if status.Code(err) != tc.want {
			t.Errorf("metrics of %v %s by the street: %v, want %v", tc.scope, tc.code, err, tc.want)
		}
	}
}
