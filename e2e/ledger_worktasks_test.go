package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/geo"
	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/notify"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Issue 20, work tasks: re-checks and inspections as grid workers' tasks,
// and their notifications.

const (
	ledgerGrid   = "310106022001001" // 洪南山宅西网格
	ledgerWorker = "w-022001001"     // its worker in the register
	// workerNotifySecret signs the stack's worker notifications.
	workerNotifySecret = "e2e-worker-notify-secret"
	// inspectionMonth is an inspection month on the e2e stack.
	inspectionMonth = 4 * time.Second
)

// noteSink is the stack's receiver for the grid workers' notifications: the
// register's w-022001001 notifies it (workTasksEnv). It keeps what verifies.
type noteSink struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []note
	refd int // refused: bad signatures
}

type note struct {
	eventType string
	body      map[string]any
}

var (
	sinksMu sync.Mutex
	sinks   = map[*stack]*noteSink{}
)

// workTasksEnv is what every stack adds for the worker tasks: a reference
// directory whose grid register points ledgerWorker's notifications at the
// stack's sink, the secret signing them, and a short inspection month.
func workTasksEnv(t *testing.T, s *stack) []string {
	t.Helper()
	sink := &noteSink{}
	sink.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		sink.mu.Lock()
		defer sink.mu.Unlock()
		if err := notify.Verify([]byte(workerNotifySecret), r.Header, b, time.Now(), time.Minute); err != nil {
			sink.refd++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		sink.got = append(sink.got, note{eventType: r.Header.Get(notify.HeaderEventType), body: body})
	}))
	t.Cleanup(sink.srv.Close)
	sinksMu.Lock()
	sinks[s] = sink
	sinksMu.Unlock()

	b, err := fs.ReadFile(reference.DefaultFS(), reference.FileGridWorkers)
	if err != nil {
		t.Fatal(err)
	}
	def := string(b)
	line := `    grids: ["` + ledgerGrid + `"]` + "\n"
	if strings.Count(def, line) != 1 {
		t.Fatalf("the default register has no single line %q", line)
	}
	dir := filepath.Join(s.dir, "reference")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	reg := strings.Replace(def, line, line+`    notify: "`+sink.srv.URL+`/w-022001001"`+"\n", 1)
	reg = onlyLedgerWorker(reg)
	if err := os.WriteFile(filepath.Join(dir, reference.FileGridWorkers), []byte(reg), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"GRIDFLOW_REFERENCE_DIR=" + dir, "DISPATCH_WORKER_NOTIFY_SECRET=" + workerNotifySecret,
		"DISPATCH_INSPECTION_MONTH=" + inspectionMonth.String()}
}

// onlyLedgerWorker keeps, of the register's workers, ledgerWorker and the
// places story's placesWorker alone (the leaders stay): every other grid has
// no worker on the e2e stacks, so the re-check of a report there stays its
// reporter's (RecheckAssignee's fallback) — what the tests written before
// issue 20 have their reporters do.
func onlyLedgerWorker(reg string) string {
	head, rest, _ := strings.Cut(reg, "\n  - id: ")
	entries := strings.Split(rest, "\n  - id: ")
	out := []string{head}
	for _, e := range entries {
		if strings.Contains(e, "role: worker") && !strings.HasPrefix(e, ledgerWorker+"\n") && !strings.HasPrefix(e, placesWorker+"\n") {
			continue
		}
		out = append(out, e)
	}
	return strings.Join(out, "\n  - id: ")
}

// noted waits until the stack's sink took a notification of eventType whose
// envelope names caseID.
func (s *stack) noted(t *testing.T, eventType, caseID string) {
	t.Helper()
	sinksMu.Lock()
	sink := sinks[s]
	sinksMu.Unlock()
	if sink == nil {
		t.Fatal("the stack has no notification sink (workTasksEnv)")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		sink.mu.Lock()
		for _, n := range sink.got {
			if n.eventType == eventType && n.body["case_id"] == caseID {
				sink.mu.Unlock()
				return
			}
		}
		refused := sink.refd
		sink.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no %s notification for case %s reached the worker's receiver (%d refused)", eventType, caseID, refused)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestLedgerWorkTasks(t *testing.T) { s := startStack(t); ledgerWorkTasksStory(t, s) }

// ledgerWorkTasksStory: a patrol report in grid 310106022001001 is
// dispatched, completed and resolved; its re-check is a task of the grid's
// worker w-022001001 (not the reporter), with a due time, notified to the
// worker; the worker lists it and records the re-check on time; the task
// closes. A place with a monthly inspection comes due (a test month is a
// few seconds), shows in the worker's list and is recorded with gridctl;
// the next passes unrecorded and is counted missed once.
func ledgerWorkTasksStory(t *testing.T, s *stack) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	run := fmt.Sprint(time.Now().UnixNano())
	reporter := auth.Principal{Role: auth.RolePatrol, Subject: "w-ledger-reporter"}
	worker := auth.Principal{Role: auth.RolePatrol, Subject: ledgerWorker}
	patrol := intakev1.NewIntakeServiceClient(s.dial(t, "intake", reporter))
	work := dispatchv1.NewWorkerTaskServiceClient(s.dial(t, "dispatch", worker))
	fbWorker := feedbackv1.NewFeedbackServiceClient(s.dial(t, "feedback", worker))
	fbReporter := feedbackv1.NewFeedbackServiceClient(s.dial(t, "feedback", reporter))
	admin := dispatchClient(t, s, auth.Principal{Role: auth.RoleAdmin})
	s.pointGridctl(t)

	// The report, dispatched, completed, resolved: awaiting its re-check.
	lat, lng := geo.WGS84ToGCJ02(31.2540, 121.4520) // inside grid 310106022001001
	pr, err := patrol.SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: &intakev1.PatrolReport{
		RequestId: "ledger-wt-" + run, CatalogueCode: "03001", Description: "洪南山宅路边垃圾箱破损，垃圾散落",
		Location: &typesv1.LatLng{Lat: lat, Lng: lng, Datum: typesv1.Datum_DATUM_GCJ02},
		Photos:   []*typesv1.Attachment{{Uri: "s3://patrol/ledger/before-" + run + ".jpg", MediaType: "image/jpeg"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	sub := pr.GetSubmission()
	caseID := sub.GetCaseId()
	if g := sub.GetArea().GetGridCode(); g != ledgerGrid {
		t.Fatalf("the report resolved to grid %q, want %s", g, ledgerGrid)
	}
	classified(t, s, caseID, sub.GetCaseNumber(), zhijiang, "03001", typesv1.Urgency_URGENCY_NORMAL, true, "")
	fbWork(t, ctx, s, fbLeadTask(t, ctx, admin, caseID, 0), zhijiang, "ledger-wt-"+run, "已更换垃圾箱")
	fbCaseState(t, ctx, fbWorker, caseID, feedbackv1.CaseState_CASE_STATE_AWAITING_RECHECK) // the assigned worker reads it

	// The re-check is the grid worker's task, due on the working clock.
	recheck := waitWorkerTask(t, ctx, work, func(w *dispatchv1.WorkerTask) bool { return w.GetCaseId() == caseID })
	if recheck.GetKind() != dispatchv1.WorkerTaskKind_WORKER_TASK_KIND_RECHECK || recheck.GetWorkerId() != ledgerWorker ||
		!recheck.GetDueAt().AsTime().After(time.Now()) || recheck.GetSlaLight() != dispatchv1.SlaLight_SLA_LIGHT_GREEN {
		t.Fatalf("re-check task %v: want %s's, due ahead, green", recheck, ledgerWorker)
	}
	// gridctl shows the worker its list.
	var listed dispatchv1.ListWorkerTasksResponse
	s.gridctlJSON(t, &listed, "worktasks", "list", "--as", "patrol:"+ledgerWorker)
	if !containsTask(listed.GetTasks(), recheck.GetTaskId()) {
		t.Errorf("gridctl worktasks list lacks the re-check %s", recheck.GetTaskId())
	}
	mustEvent(t, s, "grid.task.dispatched.worker.>", func(e *eventsv1.Envelope) bool {
		r := e.GetTaskDispatched().GetTask()
		return r.GetTaskId() == recheck.GetTaskId() && r.GetWorkerId() == ledgerWorker && r.GetKind() == "recheck"
	})
	s.noted(t, "task.dispatched", caseID)

	// The reporter may no longer re-check it; the worker does, on time.
	if _, err := fbReporter.RecordRecheck(ctx, &feedbackv1.RecordRecheckRequest{RequestId: "ledger-wt-rc-r-" + run, CaseId: caseID,
		Passed: true}); err == nil {
		t.Error("the reporter re-checked a case assigned to the grid's worker")
	}
	rc, err := fbWorker.RecordRecheck(ctx, &feedbackv1.RecordRecheckRequest{RequestId: "ledger-wt-rc-" + run, CaseId: caseID, Passed: true,
		Photos: []string{"s3://patrol/ledger/after-" + run + ".jpg"}, Note: "已整改到位"})
	if err != nil {
		t.Fatal(err)
	}
	if rc.GetCase().GetState() != feedbackv1.CaseState_CASE_STATE_CLOSED {
		t.Fatalf("after the re-check: %s", rc.GetCase().GetState())
	}
	mustEvent(t, s, "grid.task.completed.worker.>", func(e *eventsv1.Envelope) bool {
		return e.GetTaskCompleted().GetTask().GetTaskId() == recheck.GetTaskId()
	})
	done := waitWorkerTask(t, ctx, work, func(w *dispatchv1.WorkerTask) bool {
		return w.GetTaskId() == recheck.GetTaskId() && w.GetState() == dispatchv1.WorkerTaskState_WORKER_TASK_STATE_DONE
	}, true)
	if !done.GetOnTime() {
		t.Errorf("the re-check recorded before its due time is not on time: %v", done)
	}

	// An inspection: classify registers a restaurant with a monthly schedule.
	key := "310106022|洪南山宅|ledger-" + run
	placeUpserted(t, s, key, 1, false)
	first := waitWorkerTask(t, ctx, work, func(w *dispatchv1.WorkerTask) bool {
		return w.GetPlaceKey() == key && w.GetState() == dispatchv1.WorkerTaskState_WORKER_TASK_STATE_OPEN
	})
	out, err := s.gridctl(t, "worktasks", "inspect", first.GetTaskId(), "--outcome", "ok", "--as", "patrol:"+ledgerWorker)
	if err != nil || !strings.Contains(out, "recorded: ok, on time") {
		t.Fatalf("gridctl worktasks inspect: %v\n%s", err, out)
	}
	mustEvent(t, s, "grid.task.inspection_recorded.worker.>", func(e *eventsv1.Envelope) bool {
		r := e.GetTaskInspectionRecorded()
		return r.GetInspectionId() == first.GetTaskId() && r.GetOnTime() && r.GetOutcome() == "ok" && r.GetWorkerId() == ledgerWorker
	})
	// The second comes due and passes with nothing recorded: missed once.
	second := waitWorkerTask(t, ctx, work, func(w *dispatchv1.WorkerTask) bool {
		return w.GetPlaceKey() == key && w.GetState() == dispatchv1.WorkerTaskState_WORKER_TASK_STATE_OPEN && w.GetTaskId() != first.GetTaskId()
	})
	mustEvent(t, s, "grid.task.inspection_missed.worker.>", func(e *eventsv1.Envelope) bool {
		return e.GetTaskInspectionMissed().GetInspectionId() == second.GetTaskId()
	})
	// Retired, the place's schedule stops (and stops filling the list).
	placeUpserted(t, s, key, 2, true)
	waitWorkerTask(t, ctx, work, func(w *dispatchv1.WorkerTask) bool {
		return w.GetPlaceKey() == key && w.GetState() == dispatchv1.WorkerTaskState_WORKER_TASK_STATE_WITHDRAWN
	}, true)
	missed := 0
	for _, m := range s.events(t, "grid.task.inspection_missed.worker.>", 1, 10*time.Second) {
		var env eventsv1.Envelope
		if proto.Unmarshal(m.Data(), &env) == nil && env.GetTaskInspectionMissed().GetPlaceKey() == key {
			missed++
		}
	}
	if missed != 1 {
		t.Errorf("%d inspection_missed events for %s, want 1", missed, key)
	}
}

// placeUpserted publishes the place as classify's registry does, as the
// classify NATS user.
func placeUpserted(t *testing.T, s *stack, key string, version uint64, retired bool) {
	t.Helper()
	env := &eventsv1.Envelope{EventId: fmt.Sprintf("ledger-place-%s-%d", key, version), Type: "place.upserted",
		OccurredAt: timestamppb.Now(), Version: 1, Payload: &eventsv1.Envelope_PlaceUpserted{PlaceUpserted: &eventsv1.PlaceUpserted{
			PlaceKey: key, LaneKey: key, Address: "洪南山宅", Name: "好再来饭店", Kind: "restaurant", Status: "active",
			District: jingan, Street: zhijiang, Community: ledgerGrid[:12], Grid: ledgerGrid, InspectionEveryMonths: 1,
			Version: version, Retired: retired, UpdatedAt: timestamppb.Now()}}}
	b, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.jetStreamAs(t, natsauth.Classify).Publish(ctx, "grid.place.upserted."+jingan+"."+zhijiang, b,
		jetstream.WithMsgID(env.GetEventId())); err != nil {
		t.Fatal(err)
	}
}

// waitWorkerTask waits until the worker's list (with closed ones when
// closed is given) has a task that matches.
func waitWorkerTask(t *testing.T, ctx context.Context, c dispatchv1.WorkerTaskServiceClient, match func(*dispatchv1.WorkerTask) bool,
	closed ...bool) *dispatchv1.WorkerTask {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		token := ""
		for {
			r, err := c.ListWorkerTasks(ctx, &dispatchv1.ListWorkerTasksRequest{IncludeClosed: len(closed) > 0, PageSize: 500, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range r.GetTasks() {
				if match(w) {
					return w
				}
			}
			if token = r.GetNextPageToken(); token == "" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no matching task in the worker's list")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func containsTask(ts []*dispatchv1.WorkerTask, id string) bool {
	for _, w := range ts {
		if w.GetTaskId() == id {
			return true
		}
	}
	return false
}
