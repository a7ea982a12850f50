package grpcapi_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/auth"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Self-disposal (issue 20).

const (
	sdGrid  = zj + "001001" // area(zj)'s grid
	sdOther = zj + "001002"
)

// selfDisposals returns the service's client and a context for principal p.
func (e *env) selfDisposals(p string) (feedbackv1.SelfDisposalServiceClient, context.Context) {
	e.t.Helper()
	pr, err := auth.ParsePrincipal(p)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.signer.Issue(pr, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return feedbackv1.NewSelfDisposalServiceClient(e.conn), metadata.AppendToOutgoingContext(e.timeout(), "authorization", "Bearer "+tok)
}

// report publishes a patrol case.received by worker in street's first grid,
// settled on the spot when settled, and its classification.
func (e *env) report(worker string, settled bool) kase {
	e.t.Helper()
	n := seq.Add(1)
	k := kase{id: uuid.Must(uuid.NewV7()).String(), number: fmt.Sprintf("GF-20260302-%06d", n), street: zj, source: typesv1.Source_SOURCE_PATROL}
	r := &eventsv1.CaseReceived{CaseId: k.id, CaseNumber: k.number, Source: k.source, ReceivedAt: timestamppb.New(e.clock.Now()),
		Title: "楼道堆物", Area: area(zj), WorkerId: worker}
	if settled {
		r.SelfDisposed, r.SelfDisposalNote = true, "已劝导清理（住户电话13812345678）"
		r.Attachments = []*typesv1.Attachment{{Uri: "gridflow-upload:abc", MediaType: "image/jpeg"}}
	}
	e.publish(k.id, "case_received", r)
	e.classify(k, "")
	return k
}

func TestSelfDisposal(t *testing.T) {
	e := setup(t)
	settled := e.report("w-022001001", true)
	second := e.report("w-022001001", true)
	e.report("w-022001001", false) // a report that goes the normal way
	other := e.report("w-022001009", true)

	if got := e.state(settled); got.GetState() != feedbackv1.CaseState_CASE_STATE_SELF_DISPOSED {
		t.Fatalf("state %s, want SELF_DISPOSED", got.GetState())
	}

	// The grid's leader lists its grid's pending self-disposals, oldest first.
	leader, lctx := e.selfDisposals("gridleader:" + sdGrid)
	list, err := leader.ListSelfDisposals(lctx, &feedbackv1.ListSelfDisposalsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, sd := range list.GetSelfDisposals() {
		ids = append(ids, sd.GetCaseId())
	}
	if diff := cmp.Diff([]string{settled.id, second.id, other.id}, ids); diff != "" {
		t.Errorf("pending list mismatch (-want +got):\n%s", diff)
	}
	first := list.GetSelfDisposals()[0]
	if first.GetNote() != "已劝导清理（住户电话138****5678）" || len(first.GetPhotos()) != 1 || first.GetWorkerId() != "w-022001001" ||
		first.GetStatus() != feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_PENDING {
		t.Errorf("listed %v", first)
	}
	// Another grid's leader sees none of them and checks none; a worker may not check its own.
	stranger, sctx := e.selfDisposals("gridleader:" + sdOther)
	if l, err := stranger.ListSelfDisposals(sctx, &feedbackv1.ListSelfDisposalsRequest{}); err != nil || len(l.GetSelfDisposals()) != 0 {
		t.Errorf("another grid's leader listed %v, %v", l.GetSelfDisposals(), err)
	}
	_, err = stranger.ListSelfDisposals(sctx, &feedbackv1.ListSelfDisposalsRequest{AreaCode: sdGrid})
	code(t, err, codes.PermissionDenied)
	_, err = stranger.CheckSelfDisposal(sctx, &feedbackv1.CheckSelfDisposalRequest{RequestId: "x", CaseId: settled.id,
		Verdict: feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_CONFIRMED})
	code(t, err, codes.PermissionDenied)
	worker, wctx := e.selfDisposals("patrol:w-022001001")
	_, err = worker.CheckSelfDisposal(wctx, &feedbackv1.CheckSelfDisposalRequest{RequestId: "x", CaseId: settled.id,
		Verdict: feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_CONFIRMED})
	code(t, err, codes.PermissionDenied)
	// Bad input names its field.
	_, err = leader.CheckSelfDisposal(lctx, &feedbackv1.CheckSelfDisposalRequest{RequestId: "bad", CaseId: settled.id})
	if got := fields(t, err); !cmp.Equal(got, []string{"verdict"}) {
		t.Errorf("no verdict: %v", got)
	}
	_, err = leader.CheckSelfDisposal(lctx, &feedbackv1.CheckSelfDisposalRequest{RequestId: "bad2", CaseId: settled.id,
		Verdict: feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_SENT_BACK})
	if got := fields(t, err); !cmp.Equal(got, []string{"note"}) {
		t.Errorf("sent back without a note: %v", got)
	}

	// Confirmed: the case closes, with its reason; the same request again answers the same.
	confirm := &feedbackv1.CheckSelfDisposalRequest{RequestId: "ck-1", CaseId: settled.id,
		Verdict: feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_CONFIRMED}
	resp, err := leader.CheckSelfDisposal(lctx, confirm)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetCase().GetState() != feedbackv1.CaseState_CASE_STATE_CLOSED || resp.GetCase().GetStateReason() != "self_disposal_confirmed" ||
		resp.GetSelfDisposal().GetStatus() != feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_CONFIRMED ||
		resp.GetSelfDisposal().GetCheckedBy() != "gridleader:"+sdGrid {
		t.Errorf("confirmed: %v", resp)
	}
	again, err := leader.CheckSelfDisposal(lctx, confirm)
	if err != nil || !cmp.Equal(again.GetCase(), resp.GetCase(), protocmp.Transform()) {
		t.Errorf("repeat: %v", err)
	}
	// A checked case waits for nothing more.
	_, err = leader.CheckSelfDisposal(lctx, &feedbackv1.CheckSelfDisposalRequest{RequestId: "ck-again", CaseId: settled.id,
		Verdict: feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_SENT_BACK, Note: "再看看"})
	code(t, err, codes.FailedPrecondition)

	// Sent back (by the street's dispatcher standing in): the case enters the loop.
	disp, dctx := e.selfDisposals("dispatcher:" + zj)
	sent, err := disp.CheckSelfDisposal(dctx, &feedbackv1.CheckSelfDisposalRequest{RequestId: "ck-2", CaseId: second.id,
		Verdict: feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_SENT_BACK, Note: "堆物仍在，需城管处理"})
	if err != nil {
		t.Fatal(err)
	}
	if sent.GetCase().GetState() != feedbackv1.CaseState_CASE_STATE_CLASSIFIED {
		t.Errorf("sent back: state %s, want CLASSIFIED", sent.GetCase().GetState())
	}
	e.work(second, 0) // dispatch routes it; the unit completes it
	if got := e.state(second).GetState(); got != feedbackv1.CaseState_CASE_STATE_AWAITING_RECHECK {
		t.Errorf("sent back and worked: %s, want AWAITING_RECHECK", got)
	}

	// The lists by status.
	for st, want := range map[feedbackv1.SelfDisposalStatus][]string{
		feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_PENDING:   {other.id},
		feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_CONFIRMED: {settled.id},
		feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_SENT_BACK: {second.id},
	} {
		l, err := leader.ListSelfDisposals(lctx, &feedbackv1.ListSelfDisposalsRequest{Status: st})
		var got []string
		for _, sd := range l.GetSelfDisposals() {
			got = append(got, sd.GetCaseId())
		}
		if err != nil || !cmp.Equal(want, got) {
			t.Errorf("%s: %v, %v", st, got, err)
		}
	}

	// 自处率: four reports in the grid, three self-disposed; per worker.
	fig, err := leader.GetSelfDisposalFigures(lctx, &feedbackv1.GetSelfDisposalFiguresRequest{Period: march()})
	if err != nil {
		t.Fatal(err)
	}
	wantFig := &feedbackv1.GetSelfDisposalFiguresResponse{AreaCode: sdGrid, Period: march(),
		Total: &feedbackv1.SelfDisposalCount{Reports: 4, SelfDisposed: 3, Rate: 0.75, Confirmed: 1, SentBack: 1, Pending: 1},
		Grids: []*feedbackv1.SelfDisposalCount{{Key: sdGrid, Reports: 4, SelfDisposed: 3, Rate: 0.75, Confirmed: 1, SentBack: 1, Pending: 1}},
		Workers: []*feedbackv1.SelfDisposalCount{
			{Key: "w-022001001", Reports: 3, SelfDisposed: 2, Rate: 2.0 / 3, Confirmed: 1, SentBack: 1},
			{Key: "w-022001009", Reports: 1, SelfDisposed: 1, Rate: 1, Pending: 1},
		}}
	if diff := cmp.Diff(wantFig, fig, protocmp.Transform()); diff != "" {
		t.Errorf("figures mismatch (-want +got):\n%s", diff)
	}
	_, err = stranger.GetSelfDisposalFigures(sctx, &feedbackv1.GetSelfDisposalFiguresRequest{AreaCode: zj, Period: march()})
	code(t, err, codes.PermissionDenied)
	_, err = leader.GetSelfDisposalFigures(lctx, &feedbackv1.GetSelfDisposalFiguresRequest{})
	if got := fields(t, err); len(got) == 0 || got[0] != "period.start" {
		t.Errorf("no period: %v", got)
	}

	// The leader reads its grid's cases through GetCase, and no one else's.
	fb, fctx := e.as("gridleader:" + sdGrid)
	if _, err := fb.GetCase(fctx, &feedbackv1.GetCaseRequest{CaseId: settled.id}); err != nil {
		t.Errorf("leader's GetCase: %v", err)
	}
	elsewhere := e.receive(typesv1.Source_SOURCE_HOTLINE, lf)
	_, err = fb.GetCase(fctx, &feedbackv1.GetCaseRequest{CaseId: elsewhere.id})
	code(t, err, codes.PermissionDenied)
	cases, err := fb.ListCases(fctx, &feedbackv1.ListCasesRequest{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases.GetCases() {
		if c.GetArea().GetGridCode() != sdGrid {
			t.Errorf("the leader's list holds case %s of grid %s", c.GetCaseId(), c.GetArea().GetGridCode())
		}
	}
	if len(cases.GetCases()) != 4 {
		t.Errorf("the leader listed %d cases, want its grid's 4", len(cases.GetCases()))
	}
}
