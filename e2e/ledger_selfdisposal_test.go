package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/geo"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// The neighbourhood's ledger (issue 20), part "self-disposal" (自行处置).

// TestLedgerSelfDisposal runs the self-disposal part of the story on a
// stack of its own.
func TestLedgerSelfDisposal(t *testing.T) { s := startStack(t); ledgerSelfDisposalStory(t, s) }

// The story's grid and the people in it (pkg/reference's grid register).
const (
	sdGrid   = "310106022001001" // 洪南山宅西网格, 芷江西路街道
	sdWorker = "w-022001001"     // 王芳, its worker
)

// ledgerSelfDisposalStory: a worker of grid 310106022001001 reports two
// problems settled on the spot, each with a photo. Neither is dispatched
// (no task, nothing in the dispatch queue, once classify has classified it).
// The grid's leader lists both, confirms the first (the case closes, through
// gridctl) and sends the second back, which dispatch then routes and
// dispatches like any patrol report. 自处率 for the grid and the worker
// moves by exactly what the story did: it assumes nothing about what else
// the database holds.
func ledgerSelfDisposalStory(t *testing.T, s *stack) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	worker := auth.Principal{Role: auth.RolePatrol, Subject: sdWorker}
	leader := auth.Principal{Role: auth.RoleGridLeader, Subject: sdGrid}
	intake := intakev1.NewIntakeServiceClient(s.dial(t, "intake", worker))
	sd := feedbackv1.NewSelfDisposalServiceClient(s.dial(t, "feedback", leader))
	fbLeader := feedbackv1.NewFeedbackServiceClient(s.dial(t, "feedback", leader))
	// States are awaited as admin: a scoped caller asking for a case feedback
	// has not heard of yet is refused like one outside its scope.
	fbAdmin := feedbackv1.NewFeedbackServiceClient(s.dial(t, "feedback", auth.Principal{Role: auth.RoleAdmin}))
	admin := dispatchClient(t, s, auth.Principal{Role: auth.RoleAdmin})
	run := fmt.Sprint(time.Now().UnixNano() % 1e9)

	// The period counted: a day either side of the story.
	period := &feedbackv1.Period{Start: timestamppb.New(time.Now().Add(-24 * time.Hour)), End: timestamppb.New(time.Now().Add(24 * time.Hour))}
	figures := func() *feedbackv1.GetSelfDisposalFiguresResponse {
		t.Helper()
		r, err := sd.GetSelfDisposalFigures(ctx, &feedbackv1.GetSelfDisposalFiguresRequest{Period: period})
		if err != nil {
			t.Fatalf("GetSelfDisposalFigures: %v", err)
		}
		return r
	}
	before := figures()

	report := func(tag, what, done string) *intakev1.Submission {
		t.Helper()
		lat, lng := geo.WGS84ToGCJ02(31.2540, 121.4520) // inside grid 310106022001001
		r, err := intake.SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: &intakev1.PatrolReport{
			RequestId: "sd-" + tag + "-" + run, CatalogueCode: "03001", Description: what,
			Location:     &typesv1.LatLng{Lat: lat, Lng: lng, Datum: typesv1.Datum_DATUM_GCJ02},
			Photos:       []*typesv1.Attachment{{Uri: "https://photos.example/" + tag + "-" + run + ".jpg", MediaType: "image/jpeg"}},
			SelfDisposed: true, DisposalNote: done,
		}})
		if err != nil {
			t.Fatalf("self-disposed report %s: %v", tag, err)
		}
		sub := r.GetSubmission()
		if sub.GetArea().GetGridCode() != sdGrid || !sub.GetPatrolReport().GetSelfDisposed() {
			t.Fatalf("report %s: grid %s, self-disposed %v", tag, sub.GetArea().GetGridCode(), sub.GetPatrolReport().GetSelfDisposed())
		}
		return sub
	}
	first := report("bin", "垃圾箱倾倒，垃圾散落在人行道上", "已扶正垃圾箱并清扫干净")
	second := report("lid", "垃圾箱盖板缺失", "已临时用盖板遮挡")

	// Classified as usual, never dispatched: no task, nothing in the queue.
	for _, sub := range []*intakev1.Submission{first, second} {
		classified(t, s, sub.GetCaseId(), sub.GetCaseNumber(), zhijiang, "03001", typesv1.Urgency_URGENCY_NORMAL, true, "")
		fbCaseState(t, ctx, fbAdmin, sub.GetCaseId(), feedbackv1.CaseState_CASE_STATE_SELF_DISPOSED)
		// The grid's leader reads it, masked like every read (no caller here).
		if c, err := fbLeader.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: sub.GetCaseId()}); err != nil ||
			c.GetCase().GetState() != feedbackv1.CaseState_CASE_STATE_SELF_DISPOSED {
			t.Fatalf("the leader's GetCase: %v %v", c.GetCase(), err)
		}
	}
	time.Sleep(2 * time.Second) // dispatch has seen both events by now; give a wrong routing the time to show
	for _, sub := range []*intakev1.Submission{first, second} {
		if tasks, err := admin.ListTasks(ctx, &dispatchv1.ListTasksRequest{CaseId: sub.GetCaseId()}); err != nil || len(tasks.GetTasks()) != 0 {
			t.Fatalf("self-disposed case %s has tasks %v (%v)", sub.GetCaseNumber(), tasks.GetTasks(), err)
		}
	}
	queued := map[string]bool{}
	for req := (&dispatchv1.ListDispatchQueueRequest{PageSize: 500}); ; {
		q, err := admin.ListDispatchQueue(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range q.GetEntries() {
			queued[e.GetCaseId()] = true
		}
		if req.PageToken = q.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	if queued[first.GetCaseId()] || queued[second.GetCaseId()] {
		t.Fatal("a self-disposed case waits in the dispatch queue")
	}

	// The grid's leader lists both, with the worker's note and photo.
	pending := map[string]*feedbackv1.SelfDisposal{}
	for req := (&feedbackv1.ListSelfDisposalsRequest{PageSize: 100}); ; {
		l, err := sd.ListSelfDisposals(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range l.GetSelfDisposals() {
			if x.GetArea().GetGridCode() != sdGrid {
				t.Errorf("the leader of %s lists %s of grid %s", sdGrid, x.GetCaseNumber(), x.GetArea().GetGridCode())
			}
			pending[x.GetCaseId()] = x
		}
		if req.PageToken = l.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	for _, sub := range []*intakev1.Submission{first, second} {
		x := pending[sub.GetCaseId()]
		if x == nil || x.GetWorkerId() != sdWorker || len(x.GetPhotos()) != 1 || x.GetNote() == "" {
			t.Fatalf("the leader's list: %s is %v", sub.GetCaseNumber(), x)
		}
	}

	// Confirmed through gridctl: the case closes.
	if out, err := s.gridctl(t, "--addr", s.addrs["feedback"], "selfdisposal", "check", "--as", leader.String(),
		"--case", first.GetCaseNumber(), "--confirm"); err != nil || !strings.Contains(out, "confirmed") {
		t.Fatalf("gridctl selfdisposal check --confirm: %q %v", out, err)
	}
	closed := fbCaseState(t, ctx, fbAdmin, first.GetCaseId(), feedbackv1.CaseState_CASE_STATE_CLOSED)
	if closed.GetStateReason() != "self_disposal_confirmed" {
		t.Errorf("closed for %q", closed.GetStateReason())
	}

	// Sent back: dispatch routes it as any patrol report.
	back, err := sd.CheckSelfDisposal(ctx, &feedbackv1.CheckSelfDisposalRequest{RequestId: "sd-back-" + run, CaseId: second.GetCaseId(),
		Verdict: feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_SENT_BACK, Note: "盖板仍缺，需环卫更换"})
	if err != nil {
		t.Fatal(err)
	}
	if back.GetSelfDisposal().GetStatus() != feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_SENT_BACK {
		t.Errorf("sent back: %v", back.GetSelfDisposal())
	}
	task := fbLeadTask(t, ctx, admin, second.GetCaseId(), 0)
	fbCaseState(t, ctx, fbAdmin, second.GetCaseId(), feedbackv1.CaseState_CASE_STATE_DISPATCHED)
	t.Logf("sent-back case %s dispatched to %s", second.GetCaseNumber(), task.GetDepartmentCode())

	// 自处率: two more reports, both self-disposed, one confirmed, one sent back.
	after := figures()
	count := func(f *feedbackv1.GetSelfDisposalFiguresResponse, by, key string) *feedbackv1.SelfDisposalCount {
		rows := f.GetGrids()
		if by == "worker" {
			rows = f.GetWorkers()
		}
		for _, r := range rows {
			if r.GetKey() == key {
				return r
			}
		}
		return &feedbackv1.SelfDisposalCount{Key: key}
	}
	for _, k := range [][2]string{{"grid", sdGrid}, {"worker", sdWorker}} {
		b, a := count(before, k[0], k[1]), count(after, k[0], k[1])
		got := [4]int32{a.GetReports() - b.GetReports(), a.GetSelfDisposed() - b.GetSelfDisposed(), a.GetConfirmed() - b.GetConfirmed(),
			a.GetSentBack() - b.GetSentBack()}
		if got != [4]int32{2, 2, 1, 1} {
			t.Errorf("%s %s: reports, self-disposed, confirmed, sent back moved by %v, want [2 2 1 1]", k[0], k[1], got)
		}
		if want := float64(a.GetSelfDisposed()) / float64(a.GetReports()); !near(a.GetRate(), want) {
			t.Errorf("%s %s: 自处率 %v, want %v", k[0], k[1], a.GetRate(), want)
		}
	}
	// gridctl reads the same figures.
	out, err := s.gridctl(t, "--addr", s.addrs["feedback"], "--json", "figures", "selfdisposal", "--as", leader.String())
	if err != nil {
		t.Fatalf("gridctl figures selfdisposal: %v", err)
	}
	var viaCLI feedbackv1.GetSelfDisposalFiguresResponse
	if err := protojson.Unmarshal([]byte(out), &viaCLI); err != nil || viaCLI.GetAreaCode() != sdGrid ||
		count(&viaCLI, "worker", sdWorker).GetSelfDisposed() < 2 {
		var raw any
		_ = json.Unmarshal([]byte(out), &raw)
		t.Errorf("gridctl figures selfdisposal: %v (%v)", raw, err)
	}
}
