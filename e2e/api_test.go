package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/geo"
	"github.com/gridflow/gridflow/pkg/policy"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The HTTP/JSON door (issue 19) against the whole stack as processes: every
// route of the door — each RPC through grpc-gateway, the uploads, the
// OpenAPI document — answered, refused to a caller the policy or the
// service's scope refuses, and refused for bad input with the field named,
// as the hotline's system, a department's system, a grid worker's and a
// secretary's phone use it. The test records what each route answered and
// fails unless every route of pkg/policy's api door was seen doing all
// three (the OpenAPI document, open and without input, only the first).

// apiDoor drives the console's /api/v1 as one principal or another.
type apiDoor struct {
	t    *testing.T
	s    *stack
	base string
	// seen: route → outcomes ("ok", "denied", "bad", "unauthenticated").
	seen map[string]map[string]bool
}

// apiAnswer is one answer of the door.
type apiAnswer struct {
	status int
	body   []byte
}

// refusal reads the answer as a google.rpc.Status (a stream's refusal is
// wrapped in {"error": …}).
func (a apiAnswer) refusal() (code int, message string, fields []string) {
	var st struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Details []struct {
			FieldViolations []struct {
				Field string `json:"field"`
			} `json:"field_violations"`
		} `json:"details"`
		Error *json.RawMessage `json:"error"`
	}
	_ = json.Unmarshal(a.body, &st)
	if st.Error != nil {
		_ = json.Unmarshal(*st.Error, &st)
	}
	for _, d := range st.Details {
		for _, v := range d.FieldViolations {
			fields = append(fields, v.Field)
		}
	}
	return st.Code, st.Message, fields
}

var routeVar = regexp.MustCompile(`\{([a-z_]+)\}`)

// call sends route ("POST /api/v1/tasks/{task_id}/acknowledge") as p,
// with vars filling the path, query and a body: a proto message (as the
// door's JSON), a string (sent as it is) or nil.
func (d *apiDoor) call(p auth.Principal, route string, vars map[string]string, query url.Values, body any) apiAnswer {
	d.t.Helper()
	method, pattern, _ := strings.Cut(route, " ")
	path := routeVar.ReplaceAllStringFunc(pattern, func(m string) string {
		v, ok := vars[m[1:len(m)-1]]
		if !ok {
			d.t.Fatalf("%s: no value for %s", route, m)
		}
		return url.PathEscape(v)
	})
	var rd io.Reader
	switch b := body.(type) {
	case proto.Message:
		j, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(b)
		if err != nil {
			d.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	case string:
		rd = strings.NewReader(b)
	}
	u := d.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if p.Role != "" {
		req.Header.Set("Authorization", "Bearer "+d.token(p))
	}
	return d.do(route, req)
}

func (d *apiDoor) token(p auth.Principal) string {
	d.t.Helper()
	tok, err := d.s.signer.Issue(p, time.Hour)
	if err != nil {
		d.t.Fatal(err)
	}
	return tok
}

func (d *apiDoor) do(route string, req *http.Request) apiAnswer {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(req.Context(), 30*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		d.t.Fatalf("%s: %v", route, err)
	}
	defer resp.Body.Close()
	var b []byte
	if strings.HasPrefix(req.URL.Path, "/api/v1/task-events") || strings.HasPrefix(req.URL.Path, "/api/v1/case-updates") {
		// A stream: its first line is enough.
		b, _ = bufio.NewReader(resp.Body).ReadBytes('\n')
	} else if b, err = io.ReadAll(resp.Body); err != nil {
		d.t.Fatalf("%s: %v", route, err)
	}
	a := apiAnswer{status: resp.StatusCode, body: b}
	outcome := map[int]string{http.StatusForbidden: "denied", http.StatusBadRequest: "bad", http.StatusUnauthorized: "unauthenticated"}[a.status]
	if a.status >= 200 && a.status < 300 {
		outcome = "ok"
	}
	if d.seen[route] == nil {
		d.seen[route] = map[string]bool{}
	}
	d.seen[route][outcome] = true
	return a
}

// ok fails unless the answer is 200 (201 for an upload), and decodes it
// into into (when set).
func (d *apiDoor) ok(what string, a apiAnswer, into proto.Message) {
	d.t.Helper()
	if a.status != http.StatusOK && a.status != http.StatusCreated {
		d.t.Fatalf("%s: %d %s", what, a.status, a.body)
	}
	if into != nil {
		body := a.body
		var line struct {
			Result json.RawMessage `json:"result"`
		}
		if json.Unmarshal(body, &line) == nil && line.Result != nil {
			body = line.Result // a stream's message
		}
		if err := protojson.Unmarshal(body, into); err != nil {
			d.t.Fatalf("%s: %v in %s", what, err, a.body)
		}
	}
}

// refused fails unless the answer is status with the gRPC code and, for
// INVALID_ARGUMENT, a violation of field.
func (d *apiDoor) refused(what string, a apiAnswer, status, code int, field string) {
	d.t.Helper()
	got, msg, fields := a.refusal()
	if a.status != status || got != code {
		d.t.Errorf("%s: %d code %d (%s), want %d code %d", what, a.status, got, msg, status, code)
		return
	}
	if field != "" && !slices.Contains(fields, field) {
		d.t.Errorf("%s: violations %q (%s), want one of %q", what, fields, msg, field)
	}
}

func (d *apiDoor) denied(what string, a apiAnswer) { d.t.Helper(); d.refused(what, a, 403, 7, "") }
func (d *apiDoor) bad(what string, a apiAnswer, field string) {
	d.t.Helper()
	d.refused(what, a, 400, 3, field)
}

// upload sends content as a multipart form's file named name.
func (d *apiDoor) upload(p auth.Principal, name string, content []byte) apiAnswer {
	d.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, err := mw.CreateFormFile("file", name)
	if err != nil {
		d.t.Fatal(err)
	}
	_, _ = w.Write(content)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", d.base+"/api/v1/uploads", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+d.token(p))
	return d.do(policy.RouteUpload[len(policy.API)+1:], req)
}

type uploaded struct {
	Attachment struct {
		URI       string `json:"uri"`
		MediaType string `json:"media_type"`
		Name      string `json:"name"`
	} `json:"attachment"`
	Key string `json:"key"`
}

func (d *apiDoor) uploaded(what string, a apiAnswer) uploaded {
	d.t.Helper()
	d.ok(what, a, nil)
	var u uploaded
	if err := json.Unmarshal(a.body, &u); err != nil {
		d.t.Fatalf("%s: %v", what, err)
	}
	return u
}

// eventually polls f until it is true or a minute has passed.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after a minute", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var (
	apiJPEG = append([]byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00}, bytes.Repeat([]byte{0x42}, 300)...)
	apiPDF  = []byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")
	apiHTML = []byte("<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>")
)

func TestHTTPDoor(t *testing.T) {
	s := startStack(t, "intake", "classify", "dispatch", "feedback")
	s.env = append(s.env, "FEEDBACK_GRPC_ADDR="+s.addrs["feedback"], "INTAKE_GRPC_ADDR="+s.addrs["intake"],
		"CLASSIFY_GRPC_ADDR="+s.addrs["classify"], "DISPATCH_GRPC_ADDR="+s.addrs["dispatch"])
	s.start(t, "console", filepath.Join(s.bin, "console"))
	s.waitReady(t, "console")
	d := &apiDoor{t: t, s: s, base: "http://" + s.addrs["console"], seen: map[string]map[string]bool{}}
	run := fmt.Sprint(time.Now().UnixNano() % 1e9)

	var (
		hotline     = auth.Principal{Role: auth.RoleHotline}
		worker      = auth.Principal{Role: auth.RolePatrol, Subject: "w-0017"}
		otherWorker = auth.Principal{Role: auth.RolePatrol, Subject: "w-0031"}
		secretary   = auth.Principal{Role: auth.RoleSecretary, Subject: zhijiang + "001"}
		dispatcher  = auth.Principal{Role: auth.RoleDispatcher, Subject: zhijiang}
		otherStreet = auth.Principal{Role: auth.RoleDispatcher, Subject: linfen}
		squad       = auth.Principal{Role: auth.RoleDepartment, Subject: zhijiang + "-cgzd"}
		otherSquad  = auth.Principal{Role: auth.RoleDepartment, Subject: linfen + "-cgzd"}
		admin       = auth.Principal{Role: auth.RoleAdmin}
		system      = auth.Principal{Role: auth.RoleSystem, Subject: "intake"}
	)
	const (
		rWorkOrders  = "POST /api/v1/work-orders"
		rPatrol      = "POST /api/v1/patrol-reports"
		rIssues      = "POST /api/v1/issues"
		rFollowUps   = "POST /api/v1/follow-ups"
		rSubmissions = "GET /api/v1/submissions"
		rSubmission  = "GET /api/v1/submissions/{case_number}"
		rContact     = "GET /api/v1/submissions/{case_number}/contact"
		rCatalogue   = "GET /api/v1/catalogue"
		rItem        = "GET /api/v1/catalogue/{code}"
		rTasks       = "GET /api/v1/tasks"
		rTaskEvents  = "GET /api/v1/task-events"
		rTask        = "GET /api/v1/tasks/{task_id}"
		rAck         = "POST /api/v1/tasks/{task_id}/acknowledge"
		rReject      = "POST /api/v1/tasks/{task_id}/reject"
		rForward     = "POST /api/v1/tasks/{task_id}/forward"
		rExtension   = "POST /api/v1/tasks/{task_id}/extension"
		rProgress    = "POST /api/v1/tasks/{task_id}/progress"
		rComplete    = "POST /api/v1/tasks/{task_id}/complete"
		rCases       = "GET /api/v1/cases"
		rCase        = "GET /api/v1/cases/{case_number}"
		rTimeline    = "GET /api/v1/cases/{case_number}/timeline"
		rCaseUpdates = "GET /api/v1/case-updates"
		rReplies     = "GET /api/v1/replies"
		rCallbacks   = "POST /api/v1/callbacks"
		rRechecks    = "POST /api/v1/rechecks"
		rUpload      = "POST /api/v1/uploads"
		rOwnUpload   = "GET /api/v1/uploads/{key}"
		rAttachment  = "GET /api/v1/cases/{case_number}/attachments/{key}"
		rOpenAPI     = "GET /api/v1/openapi.json"
	)
	q := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	cn := func(n string) map[string]string { return map[string]string{"case_number": n} }
	task := func(id string) map[string]string { return map[string]string{"task_id": id} }

	// The OpenAPI document, open to anyone.
	doc := d.call(auth.Principal{}, rOpenAPI, nil, nil, nil)
	var openapi struct {
		Paths map[string]any `json:"paths"`
	}
	if doc.status != 200 || json.Unmarshal(doc.body, &openapi) != nil || openapi.Paths["/api/v1/work-orders"] == nil {
		t.Fatalf("openapi.json: %d %.200s", doc.status, doc.body)
	}

	// --- A grid worker's phone: a photo, then the report that shows it. ---
	d.bad("HTML named .jpg", d.upload(worker, "photo.jpg", apiHTML), "file")
	d.denied("a secretary uploading", d.upload(secretary, "photo.jpg", apiJPEG))
	photo := d.uploaded("the worker's photo", d.upload(worker, "fire-lane.jpg", apiJPEG))
	if photo.Attachment.MediaType != "image/jpeg" || !strings.HasPrefix(photo.Attachment.URI, "gridflow-upload:") {
		t.Fatalf("photo = %+v", photo)
	}
	d.ok("the worker reads back its photo", d.call(worker, rOwnUpload, map[string]string{"key": photo.Key}, nil, nil), nil)
	d.denied("another worker reads it by key", d.call(otherWorker, rOwnUpload, map[string]string{"key": photo.Key}, nil, nil))
	d.bad("a malformed key", d.call(worker, rOwnUpload, map[string]string{"key": "nope"}, nil, nil), "key")

	lat, lng := geo.WGS84ToGCJ02(31.2580, 121.4600)
	report := &intakev1.SubmitPatrolReportRequest{Report: &intakev1.PatrolReport{
		RequestId: "api-patrol-" + run, CatalogueCode: "03001", Description: "普善路垃圾箱破损，垃圾散落在人行道上",
		Location: &typesv1.LatLng{Lat: lat, Lng: lng, Datum: typesv1.Datum_DATUM_GCJ02},
		Photos:   []*typesv1.Attachment{{Uri: photo.Attachment.URI, MediaType: photo.Attachment.MediaType, Name: photo.Attachment.Name}},
	}}
	var patrolResp intakev1.SubmitPatrolReportResponse
	d.ok("patrol report", d.call(worker, rPatrol, nil, nil, report), &patrolResp)
	patrolCase := patrolResp.GetSubmission().GetCaseNumber()
	if g := patrolResp.GetSubmission().GetArea().GetGridCode(); g != "310106022002002" {
		t.Errorf("patrol report's grid %s", g)
	}
	d.denied("the hotline files a patrol report", d.call(hotline, rPatrol, nil, nil, report))
	d.bad("a patrol report without a place", d.call(worker, rPatrol, nil, nil,
		&intakev1.SubmitPatrolReportRequest{Report: &intakev1.PatrolReport{RequestId: "api-patrol-bad-" + run, Description: "x"}}), "report.location")
	d.bad("an unknown JSON field", d.call(worker, rPatrol, nil, nil, `{"report": {"request_id": "x"}, "colour": "red"}`), "colour")

	// The photo, through the case, to whoever's read shows it.
	att := map[string]string{"case_number": patrolCase, "key": photo.Key}
	for _, p := range []auth.Principal{worker, dispatcher, admin} {
		a := d.call(p, rAttachment, att, nil, nil)
		d.ok(p.String()+" reads the case's photo", a, nil)
		if !bytes.Equal(a.body, apiJPEG) {
			t.Errorf("%s read %d bytes, not the photo", p, len(a.body))
		}
	}
	d.denied("another worker reads the photo", d.call(otherWorker, rAttachment, att, nil, nil))
	d.denied("another street's dispatcher reads the photo", d.call(otherStreet, rAttachment, att, nil, nil))
	d.bad("a malformed attachment key", d.call(worker, rAttachment, map[string]string{"case_number": patrolCase, "key": "x"}, nil, nil), "key")

	// Re-check: refused before the case is resolved (below, the worker
	// re-checks it once its department has done it).
	d.bad("a re-check without a request id", d.call(worker, rRechecks, nil, nil, &feedbackv1.RecordRecheckRequest{CaseId: patrolResp.GetSubmission().GetCaseId(), Passed: true}), "request_id")
	d.denied("a department records a re-check", d.call(squad, rRechecks, nil, nil, &feedbackv1.RecordRecheckRequest{RequestId: "r", CaseId: patrolResp.GetSubmission().GetCaseId()}))

	// --- The catalogue, for the phone's item picker. ---
	d.ok("the catalogue", d.call(worker, rCatalogue, nil, q("page_size", "5"), nil), nil)
	d.bad("a negative page size", d.call(worker, rCatalogue, nil, q("page_size", "-1"), nil), "page_size")
	d.denied("system reads the catalogue", d.call(system, rCatalogue, nil, nil, nil))
	var item struct {
		Item struct {
			Name string `json:"name"`
		} `json:"item"`
	}
	a := d.call(worker, rItem, map[string]string{"code": "06022"}, nil, nil)
	d.ok("catalogue item 06022", a, nil)
	if _ = json.Unmarshal(a.body, &item); item.Item.Name != "露天烧烤" {
		t.Errorf("catalogue item 06022: %s", a.body)
	}
	d.bad("a malformed catalogue code", d.call(worker, rItem, map[string]string{"code": "06 022"}, nil, nil), "code")
	d.denied("system reads an item", d.call(system, rItem, map[string]string{"code": "06022"}, nil, nil))

	// --- A secretary's phone: an issue, and what she reads. ---
	issue := &intakev1.RaiseIssueRequest{Issue: &intakev1.Issue{RequestId: "api-issue-" + run, CommunityCode: zhijiang + "001",
		Title: "楼道堆物", Content: "3号楼楼道堆放大量纸箱杂物，存在消防隐患。"}}
	d.ok("an issue", d.call(secretary, rIssues, nil, nil, issue), nil)
	d.denied("a worker raises an issue", d.call(worker, rIssues, nil, nil, issue))
	d.bad("an issue without content", d.call(secretary, rIssues, nil, nil,
		&intakev1.RaiseIssueRequest{Issue: &intakev1.Issue{RequestId: "api-issue-bad-" + run, Title: "x"}}), "issue.content")
	d.ok("the secretary's submissions", d.call(secretary, rSubmissions, nil, q("page_size", "10"), nil), nil)
	d.bad("submissions with a page size that is no number", d.call(secretary, rSubmissions, nil, q("page_size", "ten"), nil), "page_size")
	d.denied("a department lists submissions", d.call(squad, rSubmissions, nil, nil, nil))
	d.ok("the secretary's cases", d.call(secretary, rCases, nil, nil, nil), nil)
	d.bad("cases with a negative page size", d.call(secretary, rCases, nil, q("page_size", "-1"), nil), "page_size")
	d.denied("system lists cases", d.call(system, rCases, nil, nil, nil))

	// --- The hotline's system: a work order, its follow-up, its state. ---
	no := "API-" + run
	wo := authzNoise(no, 61)
	var submitted intakev1.SubmitWorkOrderResponse
	d.ok("work order", d.call(hotline, rWorkOrders, nil, nil, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo}), &submitted)
	number, caseID := submitted.GetSubmission().GetCaseNumber(), submitted.GetSubmission().GetCaseId()
	// A second one, which the squad will return (退单).
	var second intakev1.SubmitWorkOrderResponse
	d.ok("a second work order", d.call(hotline, rWorkOrders, nil, nil, &intakev1.SubmitWorkOrderRequest{WorkOrder: authzNoise(no+"-2", 62)}), &second)
	d.denied("a worker submits a work order", d.call(worker, rWorkOrders, nil, nil, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo}))
	emptied := proto.Clone(wo).(*intakev1.WorkOrder)
	emptied.HotlineOrderNo, emptied.Content = no+"-bad", ""
	d.bad("a work order without content", d.call(hotline, rWorkOrders, nil, nil, &intakev1.SubmitWorkOrderRequest{WorkOrder: emptied}), "work_order.content")
	if got := d.call(auth.Principal{}, rWorkOrders, nil, nil, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo}); got.status != 401 {
		t.Errorf("a work order without a credential: %d %s", got.status, got.body)
	}

	d.ok("a supplement", d.call(hotline, rFollowUps, nil, nil, &intakev1.AddFollowUpRequest{RequestId: "api-fu-" + run,
		Case: &intakev1.AddFollowUpRequest_CaseNumber{CaseNumber: number}, Kind: intakev1.FollowUpKind_FOLLOW_UP_KIND_SUPPLEMENT, Text: "市民补充：烧烤摊在小区东门。"}), nil)
	d.bad("a follow-up of no kind", d.call(hotline, rFollowUps, nil, nil, &intakev1.AddFollowUpRequest{RequestId: "api-fu-bad-" + run,
		Case: &intakev1.AddFollowUpRequest_CaseNumber{CaseNumber: number}, Text: "x"}), "kind")
	d.denied("a secretary follows up a hotline case", d.call(secretary, rFollowUps, nil, nil, &intakev1.AddFollowUpRequest{RequestId: "x",
		Case: &intakev1.AddFollowUpRequest_CaseNumber{CaseNumber: number}, Kind: intakev1.FollowUpKind_FOLLOW_UP_KIND_URGE}))

	// The submission masks the caller for everyone; the contact is the
	// audited read, for those DESIGN.md names.
	var sub intakev1.GetSubmissionResponse
	d.ok("the submission", d.call(hotline, rSubmission, cn(number), nil, nil), &sub)
	if p := sub.GetSubmission().GetWorkOrder().GetCallerPhone(); p != "138****5678" {
		t.Errorf("the submission's caller phone %q, want it masked", p)
	}
	d.bad("a malformed case number", d.call(hotline, rSubmission, cn("GF 2026"), nil, nil), "case_number")
	d.denied("another street's dispatcher reads the submission", d.call(otherStreet, rSubmission, cn(number), nil, nil))
	var contact intakev1.ReadContactResponse
	d.ok("the hotline reads the contact", d.call(hotline, rContact, cn(number), nil, nil), &contact)
	if contact.GetContact().GetPhone() != authzPhone {
		t.Errorf("the contact's phone %q", contact.GetContact().GetPhone())
	}
	d.denied("a secretary reads the contact", d.call(secretary, rContact, cn(number), nil, nil))
	d.bad("a contact of a malformed case number", d.call(hotline, rContact, cn("GF-1"), nil, nil), "case_number")

	// The hotline's stream of updates: refusals answer at once (a stream
	// with nothing to send yet sends no headers either; it is read below,
	// once the case has updates).
	d.bad("updates from a cursor never given out", d.call(hotline, rCaseUpdates, nil, q("cursor", "yesterday"), nil), "cursor")
	d.denied("a department watches the hotline's updates", d.call(squad, rCaseUpdates, nil, q("case_id", caseID), nil))

	// --- A department's system: its task, from list to completion. ---
	var lead *dispatchv1.Task
	eventually(t, "the squad's task", func() bool {
		var list dispatchv1.ListTasksResponse
		d.ok("the squad's tasks", d.call(squad, rTasks, nil, q("case_number", number), nil), &list)
		for _, tk := range list.GetTasks() {
			if tk.GetRole() == eventsv1.TaskRole_TASK_ROLE_LEAD {
				lead = tk
			}
		}
		return lead != nil
	})
	id := lead.GetTaskId()
	d.bad("tasks with a negative page size", d.call(squad, rTasks, nil, q("page_size", "-1"), nil), "page_size")
	d.bad("tasks in a state that does not exist", d.call(squad, rTasks, nil, q("states", "TASK_STATE_BOGUS"), nil), "states")
	d.denied("the hotline lists tasks", d.call(hotline, rTasks, nil, nil, nil))
	var got dispatchv1.GetTaskResponse
	d.ok("the task", d.call(squad, rTask, task(id), nil, nil), &got)
	if got.GetTask().GetCaseNumber() != number {
		t.Errorf("the task's case %s", got.GetTask().GetCaseNumber())
	}
	d.denied("another street's squad reads the task", d.call(otherSquad, rTask, task(id), nil, nil))
	d.bad("a malformed task id", d.call(squad, rTask, task("not a task"), nil, nil), "task_id")

	var watched dispatchv1.WatchTasksResponse
	d.ok("the squad's task events from the beginning", d.call(squad, rTaskEvents, nil, q("cursor", "0"), nil), &watched)
	if watched.GetCursor() == "" || watched.GetEvent() == nil {
		t.Errorf("the first task event: %v", &watched)
	}
	d.bad("task events from a malformed cursor", d.call(squad, rTaskEvents, nil, q("cursor", "yesterday"), nil), "cursor")
	d.denied("the hotline watches tasks", d.call(hotline, rTaskEvents, nil, q("cursor", "0"), nil))

	d.bad("sign for without a request id", d.call(squad, rAck, task(id), nil, &dispatchv1.AcknowledgeTaskRequest{}), "request_id")
	d.denied("another squad signs for it", d.call(otherSquad, rAck, task(id), nil, &dispatchv1.AcknowledgeTaskRequest{RequestId: "api-ack-x-" + run}))
	var acked dispatchv1.AcknowledgeTaskResponse
	d.ok("sign for", d.call(squad, rAck, task(id), nil, &dispatchv1.AcknowledgeTaskRequest{RequestId: "api-ack-" + run}), &acked)
	if acked.GetTask().GetState() != eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED {
		t.Errorf("after sign for: %v", acked.GetTask().GetState())
	}
	d.ok("progress", d.call(squad, rProgress, task(id), nil, &dispatchv1.ReportProgressRequest{RequestId: "api-prog-" + run, Text: "已到现场，正在劝离。", OnSite: true}), nil)
	d.bad("progress without text", d.call(squad, rProgress, task(id), nil, &dispatchv1.ReportProgressRequest{RequestId: "api-prog-bad-" + run}), "text")
	d.denied("a dispatcher reports progress", d.call(dispatcher, rProgress, task(id), nil, &dispatchv1.ReportProgressRequest{RequestId: "x", Text: "x"}))
	var asked dispatchv1.RequestExtensionResponse
	d.ok("an extension", d.call(squad, rExtension, task(id), nil, &dispatchv1.RequestExtensionRequest{RequestId: "api-ext-" + run,
		NewDue: timestamppb.New(acked.GetTask().GetDeadlines().GetComplete().GetDue().AsTime().Add(48 * time.Hour)), Reason: "需协调物业共同处置"}), &asked)
	if asked.GetTask().GetState() != eventsv1.TaskState_TASK_STATE_EXTENSION_REQUESTED {
		t.Errorf("after asking for time: %v", asked.GetTask().GetState())
	}
	// The street's dispatcher grants it over gRPC (a dispatcher's lever,
	// not the door's), and the task is the squad's to complete again.
	if _, err := dispatchv1.NewDispatchServiceClient(s.dial(t, "dispatch", dispatcher)).DecideExtension(context.Background(), &dispatchv1.DecideExtensionRequest{
		RequestId: "api-decide-" + run, TaskId: id, Decision: dispatchv1.ExtensionDecision_EXTENSION_DECISION_GRANT}); err != nil {
		t.Fatalf("grant the extension: %v", err)
	}
	d.bad("an extension without a due time", d.call(squad, rExtension, task(id), nil, &dispatchv1.RequestExtensionRequest{RequestId: "api-ext-bad-" + run, Reason: "需协调"}), "new_due")
	d.denied("the hotline asks for time", d.call(hotline, rExtension, task(id), nil, &dispatchv1.RequestExtensionRequest{RequestId: "x"}))
	d.bad("a return without a reason", d.call(squad, rReject, task(id), nil, &dispatchv1.RejectTaskRequest{RequestId: "api-rej-bad-" + run, Note: "x"}), "reason")
	d.denied("a dispatcher returns the task", d.call(dispatcher, rReject, task(id), nil, &dispatchv1.RejectTaskRequest{RequestId: "x", Reason: eventsv1.RejectReason_REJECT_REASON_NOT_MY_DUTY}))
	d.bad("a forward to nobody", d.call(squad, rForward, task(id), nil, &dispatchv1.ForwardTaskRequest{RequestId: "api-fwd-bad-" + run}), "department_code")
	d.denied("admin forwards the task", d.call(admin, rForward, task(id), nil, &dispatchv1.ForwardTaskRequest{RequestId: "x", DepartmentCode: "x"}))

	// Evidence: a PDF uploaded by the squad, referred to by the completion.
	d.bad("evidence that is a page", d.upload(squad, "办结.pdf", apiHTML), "file")
	evidence := d.uploaded("the squad's evidence", d.upload(squad, "办结报告.pdf", apiPDF))
	if evidence.Attachment.MediaType != "application/pdf" {
		t.Errorf("evidence = %+v", evidence)
	}
	d.bad("completion without a result", d.call(squad, rComplete, task(id), nil, &dispatchv1.CompleteTaskRequest{RequestId: "api-done-bad-" + run}), "result")
	d.denied("the hotline completes the task", d.call(hotline, rComplete, task(id), nil, &dispatchv1.CompleteTaskRequest{RequestId: "x", Result: "x"}))
	var done dispatchv1.CompleteTaskResponse
	d.ok("completion", d.call(squad, rComplete, task(id), nil, &dispatchv1.CompleteTaskRequest{RequestId: "api-done-" + run,
		Result: "已劝离烧烤摊，夜间加强巡查", Evidence: []string{evidence.Attachment.URI}}), &done)
	if done.GetTask().GetState() != eventsv1.TaskState_TASK_STATE_COMPLETED {
		t.Errorf("after completion: %v", done.GetTask().GetState())
	}
	ev := map[string]string{"case_number": number, "key": evidence.Key}
	for _, p := range []auth.Principal{squad, dispatcher} {
		a := d.call(p, rAttachment, ev, nil, nil)
		d.ok(p.String()+" reads the evidence", a, nil)
		if !bytes.Equal(a.body, apiPDF) {
			t.Errorf("%s read %d bytes, not the evidence", p, len(a.body))
		}
	}
	d.denied("another street's squad reads the evidence", d.call(otherSquad, rAttachment, ev, nil, nil))
	// Hotline evidence (issue 19): the hotline lists no task, but the
	// reply it reads (composed when the lead's completion resolves the
	// case) shows the evidence, so it reads it once the reply is there.
	eventually(t, "the hotline reads the evidence of the reply", func() bool {
		a := d.call(hotline, rAttachment, ev, nil, nil)
		if a.status != 200 && a.status != 404 {
			t.Fatalf("the hotline reads the evidence: %d %s, want 404 before the reply, then 200", a.status, a.body)
		}
		return a.status == 200 && bytes.Equal(a.body, apiPDF)
	})
	d.denied("the photo is not this case's", d.call(otherWorker, rAttachment, map[string]string{"case_number": number, "key": photo.Key}, nil, nil))

	// The second case's task, returned as not the squad's duty.
	var second0 *dispatchv1.Task
	eventually(t, "the squad's second task", func() bool {
		var list dispatchv1.ListTasksResponse
		d.ok("the squad's tasks", d.call(squad, rTasks, nil, q("case_number", second.GetSubmission().GetCaseNumber()), nil), &list)
		if len(list.GetTasks()) > 0 {
			second0 = list.GetTasks()[0]
		}
		return second0 != nil
	})
	var rejected dispatchv1.RejectTaskResponse
	d.ok("a return", d.call(squad, rReject, task(second0.GetTaskId()), nil, &dispatchv1.RejectTaskRequest{RequestId: "api-rej-" + run,
		Reason: eventsv1.RejectReason_REJECT_REASON_NOT_MY_DUTY, Note: "非本单位职责，请转市场监管"}), &rejected)
	if rejected.GetTask().GetState() != eventsv1.TaskState_TASK_STATE_REJECTED {
		t.Errorf("after the return: %v", rejected.GetTask().GetState())
	}

	// The street's dispatcher gives the returned case to the district's
	// city-management bureau (a gRPC lever), which signs for it and
	// forwards it to its street squad (转派) through the door.
	bureau := auth.Principal{Role: auth.RoleDepartment, Subject: jingan + "-cgj"}
	if _, err := dispatchv1.NewDispatchServiceClient(s.dial(t, "dispatch", dispatcher)).Reassign(context.Background(), &dispatchv1.ReassignRequest{
		RequestId: "api-reassign-" + run, CaseId: second.GetSubmission().GetCaseId(), DepartmentCode: bureau.Subject, Note: "请区城管局处置"}); err != nil {
		t.Fatalf("reassign to the bureau: %v", err)
	}
	var bureauTask *dispatchv1.Task
	eventually(t, "the bureau's task", func() bool {
		var list dispatchv1.ListTasksResponse
		d.ok("the bureau's tasks", d.call(bureau, rTasks, nil, q("case_number", second.GetSubmission().GetCaseNumber()), nil), &list)
		for _, tk := range list.GetTasks() {
			if tk.GetState() == eventsv1.TaskState_TASK_STATE_DISPATCHED {
				bureauTask = tk
			}
		}
		return bureauTask != nil
	})
	d.ok("the bureau signs for it", d.call(bureau, rAck, task(bureauTask.GetTaskId()), nil, &dispatchv1.AcknowledgeTaskRequest{RequestId: "api-ack-bureau-" + run}), nil)
	var forwarded dispatchv1.ForwardTaskResponse
	d.ok("the bureau forwards it", d.call(bureau, rForward, task(bureauTask.GetTaskId()), nil, &dispatchv1.ForwardTaskRequest{RequestId: "api-fwd-" + run,
		DepartmentCode: squad.Subject, Note: "请芷江西路中队处置"}), &forwarded)
	if forwarded.GetTask().GetState() != eventsv1.TaskState_TASK_STATE_FORWARDED || forwarded.GetNewTask().GetDepartmentCode() != squad.Subject {
		t.Errorf("after the forward: %v, new task for %s", forwarded.GetTask().GetState(), forwarded.GetNewTask().GetDepartmentCode())
	}

	// The patrol case's department does its work through the door, and the
	// worker re-checks it (核查) with a second photo.
	var patrolTask *dispatchv1.Task
	eventually(t, "the patrol case's task", func() bool {
		var list dispatchv1.ListTasksResponse
		d.ok("the patrol case's tasks", d.call(admin, rTasks, nil, q("case_number", patrolCase), nil), &list)
		for _, tk := range list.GetTasks() {
			if tk.GetRole() == eventsv1.TaskRole_TASK_ROLE_LEAD {
				patrolTask = tk
			}
		}
		return patrolTask != nil
	})
	unit := auth.Principal{Role: auth.RoleDepartment, Subject: patrolTask.GetDepartmentCode()}
	d.ok("the unit signs for the patrol case", d.call(unit, rAck, task(patrolTask.GetTaskId()), nil, &dispatchv1.AcknowledgeTaskRequest{RequestId: "api-ack-patrol-" + run}), nil)
	d.ok("the unit completes it", d.call(unit, rComplete, task(patrolTask.GetTaskId()), nil, &dispatchv1.CompleteTaskRequest{RequestId: "api-done-patrol-" + run, Result: "已更换垃圾箱并清理"}), nil)
	eventually(t, "the patrol case awaiting its re-check", func() bool {
		var c feedbackv1.GetCaseResponse
		d.ok("the patrol case", d.call(worker, rCase, cn(patrolCase), nil, nil), &c)
		return c.GetCase().GetState() == feedbackv1.CaseState_CASE_STATE_AWAITING_RECHECK
	})
	after := d.uploaded("the re-check's photo", d.upload(worker, "after.jpg", apiJPEG))
	var rechecked feedbackv1.RecordRecheckResponse
	d.ok("the re-check", d.call(worker, rRechecks, nil, nil, &feedbackv1.RecordRecheckRequest{RequestId: "api-recheck-" + run,
		CaseId: patrolResp.GetSubmission().GetCaseId(), Passed: true, Photos: []string{after.Attachment.URI}, Note: "垃圾箱已更换，地面已清理"}), &rechecked)
	if rechecked.GetCase().GetState() != feedbackv1.CaseState_CASE_STATE_CLOSED {
		t.Errorf("after a passed re-check: %v", rechecked.GetCase().GetState())
	}

	// --- The hotline again: the case replied, the callback closes it. ---
	eventually(t, "the case replied", func() bool {
		var c feedbackv1.GetCaseResponse
		d.ok("the case", d.call(hotline, rCase, cn(number), nil, nil), &c)
		return c.GetCase().GetState() == feedbackv1.CaseState_CASE_STATE_REPLIED
	})
	d.denied("another street's dispatcher reads the case", d.call(otherStreet, rCase, cn(number), nil, nil))
	d.bad("a case of a malformed number", d.call(hotline, rCase, cn("GF-x"), nil, nil), "case_number")
	var tl feedbackv1.GetCaseTimelineResponse
	d.ok("the timeline", d.call(hotline, rTimeline, cn(number), nil, nil), &tl)
	if len(tl.GetEntries()) == 0 {
		t.Error("an empty timeline")
	}
	d.denied("another street's squad reads the timeline", d.call(otherSquad, rTimeline, cn(number), nil, nil))
	d.bad("a timeline of a malformed number", d.call(hotline, rTimeline, cn("GF-x"), nil, nil), "case_number")
	var replies feedbackv1.ListRepliesResponse
	d.ok("the replies", d.call(hotline, rReplies, nil, q("case_id", caseID), nil), &replies)
	if len(replies.GetReplies()) == 0 {
		t.Error("no reply listed for a replied case")
	}
	d.bad("replies of a malformed case id", d.call(hotline, rReplies, nil, q("case_id", "GF-x"), nil), "case_id")
	d.denied("a department lists replies", d.call(squad, rReplies, nil, q("case_id", caseID), nil))
	var upd feedbackv1.WatchCaseUpdatesResponse
	d.ok("the hotline's updates from the beginning", d.call(hotline, rCaseUpdates, nil, q("case_id", caseID, "cursor", "0"), nil), &upd)

	d.bad("a callback without a request id", d.call(hotline, rCallbacks, nil, nil, &feedbackv1.RecordCallbackRequest{CaseId: caseID, Reached: true}), "request_id")
	d.denied("a department records the callback", d.call(squad, rCallbacks, nil, nil, &feedbackv1.RecordCallbackRequest{RequestId: "x", CaseId: caseID}))
	var cb feedbackv1.RecordCallbackResponse
	d.ok("the callback", d.call(hotline, rCallbacks, nil, nil, &feedbackv1.RecordCallbackRequest{RequestId: "api-cb-" + run, CaseId: caseID,
		Reached: true, ContactedByUnit: true, Solved: true, Satisfaction: eventsv1.Satisfaction_SATISFACTION_SATISFIED}), &cb)
	if cb.GetCase().GetState() != feedbackv1.CaseState_CASE_STATE_CLOSED {
		t.Errorf("after a satisfied callback: %v", cb.GetCase().GetState())
	}

	// Every route refuses a request without a credential, before anything.
	for _, route := range policy.Routes(policy.API) {
		r := strings.TrimPrefix(route, policy.API+" ")
		if policy.RouteOpen(route) {
			continue
		}
		vars := map[string]string{"case_number": number, "task_id": id, "key": photo.Key, "code": "06022"}
		if a := d.call(auth.Principal{}, r, vars, nil, "{}"); a.status != 401 {
			t.Errorf("%s without a credential: %d %s", r, a.status, a.body)
		}
	}

	// What every route was seen doing.
	for _, route := range policy.Routes(policy.API) {
		r := strings.TrimPrefix(route, policy.API+" ")
		want := []string{"ok", "denied", "bad", "unauthenticated"}
		if r == rOpenAPI {
			want = []string{"ok"}
		}
		for _, w := range want {
			if !d.seen[r][w] {
				t.Errorf("%s was never seen %s (seen: %v)", r, w, d.seen[r])
			}
		}
	}
}
