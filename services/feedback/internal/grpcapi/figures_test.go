package grpcapi_test

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// GetMetrics, GetPareto and GetHotspots over a few cases worked through
// the loop, checked against DOMAIN.md's formulas by hand.
func TestFigures(t *testing.T) {
	e := setup(t)
	start := e.clock.Now()
	// Four cases in zj: satisfied; basic; unsatisfied then satisfied
	// after rework; one excluded. One case in lf, left open.
	a, b, r := e.replied(zj), e.replied(zj), e.replied(zj)
	x := e.receive(typesv1.Source_SOURCE_HOTLINE, zj)
	e.classify(x, "")
	e.publish(x.id, "case_excluded", &eventsv1.CaseExcluded{Case: &eventsv1.DispatchCaseRef{CaseId: x.id, CaseNumber: x.number, Area: area(zj)},
		Reason: "不合理诉求"})
	open := e.receive(typesv1.Source_SOURCE_HOTLINE, lf)
	e.classify(open, "")
	for _, cb := range []struct {
		k               kase
		reached, solved bool
		s               eventsv1.Satisfaction
	}{
		{a, true, true, eventsv1.Satisfaction_SATISFACTION_SATISFIED},
		{b, false, false, 0},
		{b, true, true, eventsv1.Satisfaction_SATISFACTION_BASIC},
		{r, true, false, eventsv1.Satisfaction_SATISFACTION_UNSATISFIED},
	} {
		if _, err := e.callback(cb.k, cb.reached, cb.solved, cb.s); err != nil {
			t.Fatal(err)
		}
	}
	e.work(r, 1)
	if _, err := e.callback(r, true, true, eventsv1.Satisfaction_SATISFACTION_SATISFIED); err != nil {
		t.Fatal(err)
	}
	period := &feedbackv1.Period{Start: timestamppb.New(start), End: timestamppb.New(e.clock.Now().Add(time.Hour))}
	c, ctx := e.as("admin")

	got, err := c.GetMetrics(ctx, &feedbackv1.GetMetricsRequest{Scope: feedbackv1.Scope_SCOPE_STREET, Code: zj, Period: period})
	if err != nil {
		t.Fatal(err)
	}
	m := got.GetMetrics()
	// Valid callbacks: a, b's reached, r's two = 4 (b's unreached one is
	// not counted). Every reached callback says contacted: 响应 1;
	// solved 3/4; 满意 (1 + 0.9 + 0 + 1)/4 = 0.725; composite
	// 100(0.1 + 0.5·0.75 + 0.4·0.725) = 76.5.
	// Tasks: a, b, r×2, all completed on time: 4 to handle, 4 handled;
	// closed a, b, r; reworked r: 返工 1/3. Score 30 + 20 + 20(2/3) + 20 +
	// 10 = 93.33: A.
	type figures struct {
		Cases, Excluded, Valid, Unreached    int32
		Response, Resolution, Satisfied, Cmp float64
		ToHandle, Handled, Closed, Reworked  int32
		Score                                float64
		Grade                                string
		SignFor, Complete                    int32
	}
	r2 := func(f float64) float64 { return math.Round(f*100) / 100 }
	want := figures{Cases: 3, Excluded: 1, Valid: 4, Unreached: 1, Response: 1, Resolution: 0.75, Satisfied: 0.73, Cmp: 76.5,
		ToHandle: 4, Handled: 4, Closed: 3, Reworked: 1, Score: 93.33, Grade: "A", SignFor: 4, Complete: 4}
	have := figures{m.GetCases(), m.GetExcludedCases(), m.GetValidCallbacks(), m.GetUnreachedCallbacks(), r2(m.GetResponseRate()),
		r2(m.GetResolutionRate()), r2(m.GetSatisfactionRate()), r2(m.GetComposite()), m.GetToHandle(), m.GetHandled(), m.GetClosed(),
		m.GetReworked(), m.GetScore(), m.GetGrade(), m.GetTimeToSignFor().GetCount(), m.GetTimeToComplete().GetCount()}
	if d := cmp.Diff(want, have); d != "" {
		t.Errorf("street figures mismatch (-want +got):\n%s", d)
	}
	if got.GetScope() != feedbackv1.Scope_SCOPE_STREET || got.GetCode() != zj || got.GetPeriod() == nil {
		t.Errorf("response names %s %s %v", got.GetScope(), got.GetCode(), got.GetPeriod())
	}
	// Each task was signed for a minute after its dispatch.
	if avg := m.GetTimeToSignFor().GetAverage().AsDuration(); avg != time.Minute {
		t.Errorf("average time to sign for %v, want 1m", avg)
	}
	city, err := c.GetMetrics(ctx, &feedbackv1.GetMetricsRequest{Scope: feedbackv1.Scope_SCOPE_CITY, Period: period})
	if err != nil || city.GetMetrics().GetCases() != 4 {
		t.Errorf("city: %v cases, %v; want 4", city.GetMetrics().GetCases(), err)
	}
	dept, err := c.GetMetrics(ctx, &feedbackv1.GetMetricsRequest{Scope: feedbackv1.Scope_SCOPE_DEPARTMENT, Code: cgzd, Period: period})
	if err != nil || dept.GetMetrics().GetToHandle() != 4 || dept.GetMetrics().GetGrade() != "A" {
		t.Errorf("department: %v, %v", dept.GetMetrics(), err)
	}

	pareto, err := c.GetPareto(ctx, &feedbackv1.GetParetoRequest{AreaCode: district, Period: period})
	if err != nil {
		t.Fatal(err)
	}
	// Excluded x is left out: a, b, r, open.
	if pareto.GetTotal() != 4 || len(pareto.GetRows()) != 1 || pareto.GetRows()[0].GetItemCode() != "09006" || pareto.GetRows()[0].GetCount() != 4 ||
		pareto.GetRows()[0].GetCumulative() != 1 || !pareto.GetRows()[0].GetVitalFew() {
		t.Errorf("pareto %v", pareto)
	}

	// Every case is in the current window and none in the four before:
	// the hotline source has 4 non-excluded cases, (4 − 0)/1 = 4.
	hot, err := c.GetHotspots(ctx, &feedbackv1.GetHotspotsRequest{AreaCode: district, Period: period, MinCount: 4, MinScore: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(hot.GetHotspots()) != 1 || hot.GetHotspots()[0].GetKind() != "source" || hot.GetHotspots()[0].GetKey() != "hotline" ||
		hot.GetHotspots()[0].GetCurrent() != 4 || hot.GetHotspots()[0].GetScore() != 4 || len(hot.GetHotspots()[0].GetCaseIds()) != 4 {
		t.Errorf("hotspots %v", hot.GetHotspots())
	}
}

// Bad figure requests are INVALID_ARGUMENT.
func TestFiguresInvalid(t *testing.T) {
	e := setup(t)
	c, ctx := e.as("admin")
	p := march()
	for _, tc := range []struct {
		name string
		call func() error
		want []string
	}{
		{"metrics without a scope", func() error {
			_, err := c.GetMetrics(ctx, &feedbackv1.GetMetricsRequest{Code: zj, Period: p})
			return err
		}, []string{"scope"}},
		{"metrics of a street without its code", func() error {
			_, err := c.GetMetrics(ctx, &feedbackv1.GetMetricsRequest{Scope: feedbackv1.Scope_SCOPE_STREET, Period: p})
			return err
		}, []string{"code"}},
		{"metrics without a period", func() error {
			_, err := c.GetMetrics(ctx, &feedbackv1.GetMetricsRequest{Scope: feedbackv1.Scope_SCOPE_CITY})
			return err
		}, []string{"period.start"}},
		{"metrics over a period that ends before it starts", func() error {
			_, err := c.GetMetrics(ctx, &feedbackv1.GetMetricsRequest{Scope: feedbackv1.Scope_SCOPE_CITY,
				Period: &feedbackv1.Period{Start: p.GetEnd(), End: p.GetStart()}})
			return err
		}, []string{"period.end"}},
		{"pareto without a period", func() error {
			_, err := c.GetPareto(ctx, &feedbackv1.GetParetoRequest{AreaCode: zj})
			return err
		}, []string{"period.start"}},
		{"hotspots without an end", func() error {
			_, err := c.GetHotspots(ctx, &feedbackv1.GetHotspotsRequest{AreaCode: zj, Period: &feedbackv1.Period{Start: p.GetStart()}})
			return err
		}, []string{"period.end"}},
	} {
		if d := cmp.Diff(tc.want, fields(t, tc.call())); d != "" {
			t.Errorf("%s: fields mismatch (-want +got):\n%s", tc.name, d)
		}
	}
}
