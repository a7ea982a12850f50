package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Self-disposal (issue 20): 自处率 is counted in SQL over patrol_reports,
// narrowed by the caller's scope, and a rebuild of the views from the log
// gives the same figures and list.
func TestSelfDisposalFiguresSurviveRebuild(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	start := e.clock.Now().Add(-time.Hour)
	grids := []string{street + "001001", street + "001001", street + "001002", street + "001001"}
	var ids []string
	for i, grid := range grids {
		n++
		id := uuid.NewString()
		r := &eventsv1.CaseReceived{CaseId: id, CaseNumber: fmt.Sprintf("GF-20260302-%06d", n), Source: typesv1.Source_SOURCE_PATROL,
			ReceivedAt: timestamppb.New(e.clock.Now()), WorkerId: fmt.Sprintf("w-%d", i%2),
			Area: &typesv1.Area{DistrictCode: district, StreetCode: street, CommunityCode: grid[:12], GridCode: grid}}
		if i < 3 {
			r.SelfDisposed, r.SelfDisposalNote = true, "已当场处置"
			r.Attachments = []*typesv1.Attachment{{Uri: "https://photos.example/p.jpg"}}
		}
		e.publish(id, "case.received", r)
		ids = append(ids, id)
	}
	e.receive(typesv1.Source_SOURCE_HOTLINE, false) // not a patrol report: not counted
	if _, err := e.svc.CheckSelfDisposal(ctx, everything, "admin", feedback.CheckInput{RequestID: "c1", CaseID: ids[0],
		Verdict: feedback.VerdictConfirmed}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CheckSelfDisposal(ctx, everything, "admin", feedback.CheckInput{RequestID: "c2", CaseID: ids[2],
		Verdict: feedback.VerdictSentBack, Note: "未处置完"}); err != nil {
		t.Fatal(err)
	}
	reads := feedback.NewSelfDisposals(e.store)
	period := feedback.Period{Start: start, End: e.clock.Now().Add(time.Hour)}
	figures := func(sc policy.Scope, area string) feedback.SelfDisposalFigures {
		t.Helper()
		f, err := reads.Figures(ctx, sc, area, period)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	want := feedback.SelfDisposalFigures{Area: street,
		Total: feedback.SelfDisposalCount{Reports: 4, SelfDisposed: 3, Confirmed: 1, SentBack: 1},
		Grids: []feedback.SelfDisposalCount{{Key: street + "001001", Reports: 3, SelfDisposed: 2, Confirmed: 1},
			{Key: street + "001002", Reports: 1, SelfDisposed: 1, SentBack: 1}},
		Workers: []feedback.SelfDisposalCount{{Key: "w-0", Reports: 2, SelfDisposed: 2, Confirmed: 1, SentBack: 1},
			{Key: "w-1", Reports: 2, SelfDisposed: 1}}}
	before := figures(everything, street)
	if d := cmp.Diff(want, before); d != "" {
		t.Errorf("figures mismatch (-want +got):\n%s", d)
	}
	leader := policy.Scope{Kind: policy.Grid, Code: street + "001002"}
	if got := figures(leader, ""); got.Total != (feedback.SelfDisposalCount{Reports: 1, SelfDisposed: 1, SentBack: 1}) || got.Area != leader.Code {
		t.Errorf("a grid leader's figures: %+v", got)
	}
	pending, _, err := reads.List(ctx, feedback.SelfDisposalFilter{Scope: everything})
	if err != nil || len(pending) != 1 || pending[0].ID != ids[1] {
		t.Fatalf("pending: %v, %v", pending, err)
	}
	if _, err := e.svc.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(before, figures(everything, street)); d != "" {
		t.Errorf("figures after rebuild mismatch (-before +after):\n%s", d)
	}
	again, _, err := reads.List(ctx, feedback.SelfDisposalFilter{Scope: everything})
	if err != nil || len(again) != 1 || again[0].ID != ids[1] || again[0].State != feedback.SelfDisposed {
		t.Errorf("pending after rebuild: %v, %v", again, err)
	}
	// Paging: one at a time, oldest first, the status asked for.
	page, next, err := reads.List(ctx, feedback.SelfDisposalFilter{Scope: everything, Status: feedback.StatusConfirmed, PageSize: 1})
	if err != nil || len(page) != 1 || page[0].ID != ids[0] || next != "" {
		t.Errorf("confirmed: %v %q %v", page, next, err)
	}
}
