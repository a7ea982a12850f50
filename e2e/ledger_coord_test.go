package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/geo"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// TestLedgerCoord: issue 20's "a source place becomes one piece of
// coordinated work", on a stack of its own.
// The console is started wired to the stack's services, as
// TestConsoleLevers does, so the story can read the case page.
func TestLedgerCoord(t *testing.T) {
	s := startStack(t, "intake", "classify", "dispatch", "feedback")
	s.env = append(s.env, "FEEDBACK_GRPC_ADDR="+s.addrs["feedback"], "DISPATCH_GRPC_ADDR="+s.addrs["dispatch"],
		"CLASSIFY_GRPC_ADDR="+s.addrs["classify"])
	s.start(t, "console", filepath.Join(s.bin, "console"))
	s.waitReady(t, "console")
	ledgerCoordStory(t, s)
}

// consoleWired reports whether the stack's console talks to the stack's
// services (startStack alone leaves it on the default addresses).
func consoleWired(s *stack) bool {
	return s.addrs["console"] != "" && slices.Contains(s.env, "FEEDBACK_GRPC_ADDR="+s.addrs["feedback"]) &&
		slices.Contains(s.env, "DISPATCH_GRPC_ADDR="+s.addrs["dispatch"]) && slices.Contains(s.env, "CLASSIFY_GRPC_ADDR="+s.addrs["classify"])
}

// ledgerCoordReport is one report of the story: what the worker saw, the
// item it picked, and the unit whose power the item needs (rules.yaml).
type ledgerCoordReport struct {
	item, text, holder string
}

// ledgerCoordStory: a shop front at the north-east corner of 中华新村东网格
// (a point no other story reports at) draws five reports of different
// subjects three days ago; classify links their incidents to one source
// place; the street's dispatcher names the street's 城管 squad the lead (after
// another street's squad is refused); every linked task stays with the unit
// holding the power; the lead lists them all (GetCoordination), reads one
// it does not hold and may not sign for it; a sixth report today — past the
// link window — joins the open place and its task is linked as it is
// created. gridctl shows the place with its holders.
func ledgerCoordStory(t *testing.T, s *stack) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const worker = "w-022003002" // the grid's worker (gridworkers.yaml)
	zj := zhijiang
	run := fmt.Sprint(time.Now().UnixNano() % 1e9)
	patrol := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RolePatrol, Subject: worker}))
	places := classifyv1.NewSourcePlaceServiceClient(s.dial(t, "classify", auth.Principal{Role: auth.RoleDispatcher, Subject: zj}))
	clAdmin := classifyv1.NewClassifyServiceClient(s.dial(t, "classify", auth.Principal{Role: auth.RoleAdmin}))
	dAdmin := dispatchv1.NewDispatchServiceClient(s.dial(t, "dispatch", auth.Principal{Role: auth.RoleAdmin}))
	leadPrincipal := auth.Principal{Role: auth.RoleDepartment, Subject: zj + "-cgzd"}
	lead := dispatchv1.NewCoordinationServiceClient(s.dial(t, "dispatch", leadPrincipal))
	leadTasks := dispatchv1.NewDispatchServiceClient(s.dial(t, "dispatch", leadPrincipal))
	lat, lng := geo.WGS84ToGCJ02(31.2632, 121.4628)

	report := func(i int, r ledgerCoordReport, at time.Time) (caseID, incident string) {
		t.Helper()
		pr, err := patrol.SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: &intakev1.PatrolReport{
			RequestId: fmt.Sprintf("coord-%s-%d", run, i), WorkerId: worker, CatalogueCode: r.item, Description: r.text,
			Location: &typesv1.LatLng{Lat: lat, Lng: lng, Datum: typesv1.Datum_DATUM_GCJ02}, ObservedAt: timestamppb.New(at)}})
		if err != nil {
			t.Fatalf("report %s: %v", r.item, err)
		}
		sub := pr.GetSubmission()
		cl := classified(t, s, sub.GetCaseId(), sub.GetCaseNumber(), zj, r.item, typesv1.Urgency_URGENCY_NORMAL, true, "")
		if cl.GetItemCode() != r.item || cl.GetIncidentId() == "" {
			t.Fatalf("report %s classified %+v: want its own item in an incident", r.item, cl)
		}
		return sub.GetCaseId(), cl.GetIncidentId()
	}
	// placeOf waits for the incident's source place (the link comes in the
	// classification's transaction, so it is there already).
	placeOf := func(incident string) string {
		t.Helper()
		resp, err := clAdmin.GetIncident(ctx, &classifyv1.GetIncidentRequest{IncidentId: incident})
		if err != nil {
			t.Fatalf("incident %s: %v", incident, err)
		}
		return resp.GetIncident().GetSourcePlaceId()
	}

	five := []ledgerCoordReport{
		{"06020", "兰州拉面馆夜里鼓风机噪声扰民", zj + "-pcs"},
		{"06021", "兰州拉面馆油烟直排，楼上住户窗户发黑", "310106-sthjj"},
		{"09006", "兰州拉面馆门口摆桌占道经营", zj + "-cgzd"},
		{"06010", "兰州拉面馆后门垃圾堆放", zj + "-lhsrs"},
		{"09014", "兰州拉面馆旁无证早餐摊", zj + "-scjgs"},
	}
	threeDaysAgo := time.Now().Add(-72 * time.Hour)
	holders := map[string]string{} // case → the unit holding the power
	caseOf := map[string]string{}  // item → case
	var place string
	for i, r := range five {
		caseID, incident := report(i, r, threeDaysAgo.Add(time.Duration(i)*time.Minute))
		holders[caseID], caseOf[r.item] = r.holder, caseID
		if i == 0 {
			continue
		}
		sp := placeOf(incident)
		switch {
		case sp == "":
			t.Fatalf("report %d (%s) linked to no source place", i, r.item)
		case place == "":
			place = sp
		case sp != place:
			t.Fatalf("report %d (%s) linked to %s, the others to %s", i, r.item, sp, place)
		}
	}

	// The lead: another street's squad does not serve the place.
	_, err := places.SetSourcePlaceLead(ctx, &classifyv1.SetSourcePlaceLeadRequest{RequestId: "coord-bad-" + run, SourcePlaceId: place,
		DepartmentCode: linfen + "-cgzd"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(fmt.Sprint(status.Convert(err).Details()), "department_code") {
		t.Fatalf("another street's squad as lead: %v, want InvalidArgument on department_code", err)
	}
	sp, err := places.SetSourcePlaceLead(ctx, &classifyv1.SetSourcePlaceLeadRequest{RequestId: "coord-lead-" + run, SourcePlaceId: place,
		DepartmentCode: zj + "-cgzd", Reason: "占道与噪声为主，城管牵头联勤"})
	if err != nil {
		t.Fatalf("SetSourcePlaceLead: %v", err)
	}
	if sp.GetSourcePlace().GetLeadDepartmentCode() != zj+"-cgzd" || !sp.GetSourcePlace().GetOpen() || len(sp.GetSourcePlace().GetHistory()) != 1 ||
		sp.GetSourcePlace().GetHistory()[0].GetActor() != "dispatcher:"+zj {
		t.Fatalf("the place after naming its lead: %+v", sp.GetSourcePlace())
	}

	// The lead lists every linked task, each held by its power holder.
	coordinated := func(want map[string]string) *dispatchv1.GetCoordinationResponse {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			resp, err := lead.GetCoordination(ctx, &dispatchv1.GetCoordinationRequest{SourcePlaceId: place})
			held := map[string][]string{}
			for _, ct := range resp.GetTasks() {
				held[ct.GetCaseId()] = append(held[ct.GetCaseId()], ct.GetDepartmentCode())
			}
			missing := 0
			for c, dept := range want {
				if !slices.Contains(held[c], dept) {
					missing++
				}
			}
			if err == nil && missing == 0 && resp.GetCoordination().GetLeadDepartmentCode() == zj+"-cgzd" {
				return resp
			}
			if time.Now().After(deadline) {
				t.Fatalf("GetCoordination as the lead: %v (%v); want the tasks %v", resp, err, want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	resp := coordinated(holders)
	var notMine *dispatchv1.CoordinatedTask
	for _, ct := range resp.GetTasks() {
		if ct.GetDeadlines().GetComplete().GetDue() == nil {
			t.Errorf("linked task %s has no clock", ct.GetTaskId())
		}
		if ct.GetCaseId() != "" && holders[ct.GetCaseId()] == zj+"-pcs" {
			notMine = ct
		}
	}
	if notMine == nil {
		t.Fatalf("no linked task of the police station in %v", resp.GetTasks())
	}
	// The lead reads a task it does not hold, with its coordination, and
	// may not act on it: the station keeps it.
	got, err := leadTasks.GetTask(ctx, &dispatchv1.GetTaskRequest{TaskId: notMine.GetTaskId()})
	if err != nil || got.GetTask().GetDepartmentCode() != zj+"-pcs" || got.GetTask().GetCoordination().GetSourcePlaceId() != place {
		t.Fatalf("the lead reads the station's task: %v, %v", got, err)
	}
	if _, err := leadTasks.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: "coord-ack-" + run, TaskId: notMine.GetTaskId()}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("the lead signs for the station's task: %v, want PermissionDenied", err)
	}
	other := dispatchv1.NewCoordinationServiceClient(s.dial(t, "dispatch", auth.Principal{Role: auth.RoleDepartment, Subject: zj + "-lhsrs"}))
	if _, err := other.GetCoordination(ctx, &dispatchv1.GetCoordinationRequest{SourcePlaceId: place}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a holder that does not lead reads the coordination: %v, want PermissionDenied", err)
	}

	// A sixth report today, past the link window: it joins the open place,
	// and its task is linked as it is created.
	sixth := ledgerCoordReport{"06001", "兰州拉面馆在后院违章搭建彩钢板棚", zj + "-cgzd"}
	caseID, incident := report(len(five), sixth, time.Now())
	if sp := placeOf(incident); sp != place {
		t.Fatalf("the sixth report's incident joined %q, want the open place %s", sp, place)
	}
	holders[caseID] = sixth.holder
	coordinated(holders)
	if tk := fbLeadTask(t, ctx, dAdmin, caseID, 0); tk.GetDepartmentCode() != sixth.holder || tk.GetCoordination().GetSourcePlaceId() != place {
		t.Errorf("the sixth report's task %+v: want held by %s under %s", tk, sixth.holder, place)
	}

	// The console's case page shows the block to the street's dispatcher on
	// the noise case, with the lead's history (the case page is not a
	// department's: units read through dispatch and the HTTP/JSON door).
	if consoleWired(s) {
		for _, v := range []struct{ principal, item string }{{"dispatcher:" + zj, "06020"}} {
			u := addConsoleUser(t, s, fmt.Sprintf("coord-%s-%d", run, len(v.principal)), v.principal)
			var page string
			for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(300 * time.Millisecond) {
				code, p := u.get("/cases/" + caseOf[v.item])
				page = p
				if code == 200 && strings.Contains(page, "承办单位") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("case page of %s as %s: %d\n%s", v.item, v.principal, code, page)
				}
			}
			for _, want := range []string{"源头点位联勤", place, "牵头单位 <b>" + zj + "-cgzd</b>", zj + "-pcs", "310106-sthjj", zj + "-lhsrs", zj + "-scjgs"} {
				if !strings.Contains(page, want) {
					t.Errorf("case page of %s as %s lacks %q", v.item, v.principal, want)
				}
			}
			if !strings.Contains(page, "城管牵头联勤") {
				t.Errorf("the dispatcher's case page lacks the lead's history")
			}
		}
	}

	// gridctl shows the place: its lead, and every task with its holder.
	s.pointGridctl(t)
	out, err := s.gridctl(t, "sourceplace", "show", place, "--as", "dispatcher:"+zj)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"lead " + zj + "-cgzd", "held by " + zj + "-pcs", "held by 310106-sthjj", "held by " + zj + "-lhsrs",
		"held by " + zj + "-scjgs", "lead_set"} {
		if !strings.Contains(out, want) {
			t.Errorf("gridctl sourceplace show lacks %q:\n%s", want, out)
		}
	}
}
