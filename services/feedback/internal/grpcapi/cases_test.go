package grpcapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// GetCase and GetCaseTimeline take a case by its id, its case number or
// its hotline order number; an unknown one is NOT_FOUND, a malformed or
// ambiguous one INVALID_ARGUMENT naming the field.
func TestCaseReferences(t *testing.T) {
	e := setup(t)
	k := e.replied(zj)
	e.receive(typesv1.Source_SOURCE_HOTLINE, zj) // another case no lookup may return
	c, ctx := e.as("admin")
	for _, ref := range []struct{ name, id, number, orderNo string }{
		{"case id", k.id, "", ""},
		{"case id in capitals", strings.ToUpper(k.id), "", ""},
		{"case number", "", k.number, ""},
		{"hotline order number", "", "", k.orderNo},
	} {
		got, err := c.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: ref.id, CaseNumber: ref.number, HotlineOrderNo: ref.orderNo})
		if err != nil {
			t.Fatalf("GetCase by %s: %v", ref.name, err)
		}
		cs := got.GetCase()
		if cs.GetCaseId() != k.id || cs.GetCaseNumber() != k.number || cs.GetHotlineOrderNo() != k.orderNo ||
			cs.GetState() != feedbackv1.CaseState_CASE_STATE_REPLIED {
			t.Errorf("GetCase by %s = %s %s %s %s; want %s %s %s replied", ref.name, cs.GetCaseId(), cs.GetCaseNumber(),
				cs.GetHotlineOrderNo(), cs.GetState(), k.id, k.number, k.orderNo)
		}
		tl, err := c.GetCaseTimeline(ctx, &feedbackv1.GetCaseTimelineRequest{CaseId: ref.id, CaseNumber: ref.number, HotlineOrderNo: ref.orderNo})
		if err != nil {
			t.Fatalf("GetCaseTimeline by %s: %v", ref.name, err)
		}
		if tl.GetCaseId() != k.id || tl.GetCaseNumber() != k.number || len(tl.GetEntries()) != 7 {
			t.Errorf("GetCaseTimeline by %s: case %s %s, %d entries; want %s %s, 7", ref.name, tl.GetCaseId(), tl.GetCaseNumber(),
				len(tl.GetEntries()), k.id, k.number)
		}
	}
	for _, miss := range []struct {
		name string
		req  *feedbackv1.GetCaseRequest
	}{
		{"unknown id", &feedbackv1.GetCaseRequest{CaseId: "0190f5a4-8f7e-7c3a-9d51-2c9e1d0b7a11"}},
		{"unknown number", &feedbackv1.GetCaseRequest{CaseNumber: "GF-20260302-999999"}},
		{"unknown order number", &feedbackv1.GetCaseRequest{HotlineOrderNo: "HL-none"}},
	} {
		_, err := c.GetCase(ctx, miss.req)
		code(t, err, codes.NotFound)
		_, err = c.GetCaseTimeline(ctx, &feedbackv1.GetCaseTimelineRequest{CaseId: miss.req.CaseId, CaseNumber: miss.req.CaseNumber,
			HotlineOrderNo: miss.req.HotlineOrderNo})
		code(t, err, codes.NotFound)
	}
	for _, bad := range []struct {
		name string
		req  *feedbackv1.GetCaseRequest
		want []string
	}{
		{"nothing", &feedbackv1.GetCaseRequest{}, []string{"case_id"}},
		{"two references", &feedbackv1.GetCaseRequest{CaseId: k.id, CaseNumber: k.number}, []string{"case_id"}},
		{"a malformed case number", &feedbackv1.GetCaseRequest{CaseNumber: "GF-2026-1"}, []string{"case_number"}},
		{"a case number as the id", &feedbackv1.GetCaseRequest{CaseId: k.number}, []string{"case_id"}},
		{"an order number with a space", &feedbackv1.GetCaseRequest{HotlineOrderNo: "HL 1"}, []string{"hotline_order_no"}},
		{"an order number not UTF-8", &feedbackv1.GetCaseRequest{HotlineOrderNo: "HL-\xff"}, []string{"hotline_order_no"}},
		{"an order number of 65 characters", &feedbackv1.GetCaseRequest{HotlineOrderNo: strings.Repeat("9", 65)}, []string{"hotline_order_no"}},
	} {
		_, err := c.GetCase(ctx, bad.req)
		if d := cmp.Diff(bad.want, fields(t, err)); d != "" {
			t.Errorf("GetCase with %s: fields mismatch (-want +got):\n%s", bad.name, d)
		}
		_, err = c.GetCaseTimeline(ctx, &feedbackv1.GetCaseTimelineRequest{CaseId: bad.req.CaseId, CaseNumber: bad.req.CaseNumber,
			HotlineOrderNo: bad.req.HotlineOrderNo})
		if d := cmp.Diff(bad.want, fields(t, err)); d != "" {
			t.Errorf("GetCaseTimeline with %s: fields mismatch (-want +got):\n%s", bad.name, d)
		}
	}
}

// GetCase returns the whole view: area, item, lead, tasks, deadlines; a
// merged case carries its primary's state; the timeline lists every event
// in log order with its actor, rule and model.
func TestGetCaseAndTimeline(t *testing.T) {
	e := setup(t)
	primary := e.receive(typesv1.Source_SOURCE_HOTLINE, zj)
	e.classify(primary, "")
	task := e.dispatch(primary, 0)
	dup := e.receive(typesv1.Source_SOURCE_HOTLINE, zj)
	e.classify(dup, primary.id)
	c, ctx := e.as("hotline")

	got, err := c.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: primary.id})
	if err != nil {
		t.Fatal(err)
	}
	p := got.GetCase()
	if p.GetState() != feedbackv1.CaseState_CASE_STATE_DISPATCHED || p.GetItemCode() != "09006" || p.GetLeadDepartmentCode() != cgzd ||
		p.GetArea().GetStreetCode() != zj || p.GetSource() != typesv1.Source_SOURCE_HOTLINE ||
		p.GetAppealType() != typesv1.AppealType_APPEAL_TYPE_COMPLAINT || len(p.GetTasks()) != 1 || p.GetTasks()[0].GetTaskId() != task ||
		p.GetCompleteDue() == nil || p.GetMirroredState() != feedbackv1.CaseState_CASE_STATE_UNSPECIFIED {
		t.Errorf("primary = %v", p)
	}
	got, err = c.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseNumber: dup.number})
	if err != nil {
		t.Fatal(err)
	}
	d := got.GetCase()
	if d.GetState() != feedbackv1.CaseState_CASE_STATE_MERGED || d.GetPrimaryCaseId() != primary.id ||
		d.GetMirroredState() != feedbackv1.CaseState_CASE_STATE_DISPATCHED || len(d.GetTasks()) != 0 {
		t.Errorf("duplicate = state %s primary %s mirrored %s tasks %d; want merged, %s, dispatched, none",
			d.GetState(), d.GetPrimaryCaseId(), d.GetMirroredState(), len(d.GetTasks()), primary.id)
	}

	tl, err := c.GetCaseTimeline(ctx, &feedbackv1.GetCaseTimelineRequest{HotlineOrderNo: primary.orderNo})
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Type, Role, Rule, Model, Task, Dept string
		Version                             uint32
	}
	var entries []entry
	var last int64
	for _, x := range tl.GetEntries() {
		entries = append(entries, entry{x.GetType(), x.GetActor().GetRole(), x.GetRule(), x.GetModelVersion(), x.GetTaskId(),
			x.GetDepartmentCode(), x.GetClassificationVersion()})
		if x.GetSequence() <= last || x.GetEventId() == "" || x.GetOccurredAt() == nil {
			t.Errorf("entry %v: sequence %d after %d, id %q, at %v", x.GetType(), x.GetSequence(), last, x.GetEventId(), x.GetOccurredAt())
		}
		last = x.GetSequence()
	}
	want := []entry{
		{Type: "case.received", Role: "system"},
		{Type: "case.classified", Role: "system", Model: "m1", Version: 1},
		{Type: "task.dispatched", Role: "system", Rule: "street-order", Task: task, Dept: cgzd},
	}
	if diff := cmp.Diff(want, entries); diff != "" {
		t.Errorf("timeline mismatch (-want +got):\n%s", diff)
	}
}

// ListCases pages newest first with page tokens until every case was
// listed once; filters narrow it; a token it did not give out is refused.
func TestListCasesPaging(t *testing.T) {
	e := setup(t)
	var want []string
	for i := range 5 {
		src := typesv1.Source_SOURCE_HOTLINE
		if i == 2 {
			src = typesv1.Source_SOURCE_PATROL
		}
		k := e.receive(src, zj)
		e.classify(k, "")
		want = append([]string{k.id}, want...) // newest first
		e.clock.Advance(time.Hour)
	}
	other := e.receive(typesv1.Source_SOURCE_HOTLINE, lf)
	c, ctx := e.as("admin")

	list := func(req *feedbackv1.ListCasesRequest) []string {
		t.Helper()
		var ids []string
		for page := 0; ; page++ {
			resp, err := c.ListCases(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if req.GetPageSize() > 0 && len(resp.GetCases()) > int(req.GetPageSize()) {
				t.Errorf("page %d has %d cases, more than %d", page, len(resp.GetCases()), req.GetPageSize())
			}
			for _, x := range resp.GetCases() {
				ids = append(ids, x.GetCaseId())
			}
			if resp.GetNextPageToken() == "" {
				return ids
			}
			if page > 10 {
				t.Fatal("paging does not end")
			}
			req.PageToken = resp.GetNextPageToken()
		}
	}
	if d := cmp.Diff(want, list(&feedbackv1.ListCasesRequest{AreaCode: zj, PageSize: 2})); d != "" {
		t.Errorf("pages of 2 mismatch (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, list(&feedbackv1.ListCasesRequest{AreaCode: zj, PageSize: 5})); d != "" {
		t.Errorf("one full page mismatch (-want +got):\n%s", d)
	}
	if d := cmp.Diff(append([]string{other.id}, want...), list(&feedbackv1.ListCasesRequest{AreaCode: district})); d != "" {
		t.Errorf("the district mismatch (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{want[2]}, list(&feedbackv1.ListCasesRequest{Source: typesv1.Source_SOURCE_PATROL})); d != "" {
		t.Errorf("patrol cases mismatch (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{other.id}, list(&feedbackv1.ListCasesRequest{States: []feedbackv1.CaseState{feedbackv1.CaseState_CASE_STATE_RECEIVED}})); d != "" {
		t.Errorf("received cases mismatch (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, list(&feedbackv1.ListCasesRequest{ItemCode: "09006", PageSize: 3})); d != "" {
		t.Errorf("item 09006 mismatch (-want +got):\n%s", d)
	}
	// A class matches its items, asked for as its two digits (DOMAIN.md's
	// code) or as the "<class>000" form; another class matches none.
	for _, class := range []string{"09", "09000"} {
		if d := cmp.Diff(want, list(&feedbackv1.ListCasesRequest{ItemCode: class})); d != "" {
			t.Errorf("class %s mismatch (-want +got):\n%s", class, d)
		}
	}
	if ids := list(&feedbackv1.ListCasesRequest{ItemCode: "06"}); len(ids) != 0 {
		t.Errorf("class 06 lists %v", ids)
	}
	// Received in the second and third hour (the cases are an hour apart).
	from := timestamppb.New(e.clock.Now().Add(-5*time.Hour - 4*time.Minute))
	to := timestamppb.New(e.clock.Now().Add(-3*time.Hour - 4*time.Minute))
	if d := cmp.Diff(want[2:4], list(&feedbackv1.ListCasesRequest{ReceivedFrom: from, ReceivedTo: to})); d != "" {
		t.Errorf("received between mismatch (-want +got):\n%s", d)
	}
	_, err := c.ListCases(ctx, &feedbackv1.ListCasesRequest{PageToken: "not-a-token"})
	code(t, err, codes.InvalidArgument)
}

// A dispatcher lists its street (or a part of it), a district its
// district, a department the cases it has tasks in; asking for more is
// PERMISSION_DENIED, never a silently narrowed answer.
func TestListCasesScope(t *testing.T) {
	e := setup(t)
	inZJ := e.receive(typesv1.Source_SOURCE_HOTLINE, zj)
	e.classify(inZJ, "")
	e.dispatch(inZJ, 0)
	inLF := e.receive(typesv1.Source_SOURCE_HOTLINE, lf)
	patrolLF := e.receive(typesv1.Source_SOURCE_PATROL, lf) // w-0017's report
	unknown := e.receive(typesv1.Source_SOURCE_HOTLINE, "0")
	e.state(unknown)
	ids := func(resp *feedbackv1.ListCasesResponse, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range resp.GetCases() {
			out = append(out, x.GetCaseId())
		}
		return out
	}
	for _, tc := range []struct {
		principal string
		req       *feedbackv1.ListCasesRequest
		want      []string
		code      codes.Code
	}{
		{"dispatcher:" + zj, &feedbackv1.ListCasesRequest{}, []string{inZJ.id}, codes.OK},
		{"dispatcher:" + zj, &feedbackv1.ListCasesRequest{AreaCode: zj + "001"}, []string{inZJ.id}, codes.OK},
		{"dispatcher:" + lf, &feedbackv1.ListCasesRequest{}, []string{patrolLF.id, inLF.id}, codes.OK},
		{"dispatcher:" + zj, &feedbackv1.ListCasesRequest{AreaCode: lf}, nil, codes.PermissionDenied},
		{"dispatcher:" + zj, &feedbackv1.ListCasesRequest{AreaCode: district}, nil, codes.PermissionDenied},
		// The district desk's scope holds the case whose street is unknown.
		{"district:" + district, &feedbackv1.ListCasesRequest{}, []string{unknown.id, patrolLF.id, inLF.id, inZJ.id}, codes.OK},
		{"district:" + district, &feedbackv1.ListCasesRequest{AreaCode: lf}, []string{patrolLF.id, inLF.id}, codes.OK},
		{"hotline", &feedbackv1.ListCasesRequest{}, []string{unknown.id, inLF.id, inZJ.id}, codes.OK},
		{"patrol:w-0017", &feedbackv1.ListCasesRequest{}, []string{patrolLF.id}, codes.OK},
		{"patrol:w-0018", &feedbackv1.ListCasesRequest{}, nil, codes.OK},
		{"secretary:" + zj + "001", &feedbackv1.ListCasesRequest{}, []string{inZJ.id}, codes.OK},
		{"secretary:" + lf + "002", &feedbackv1.ListCasesRequest{}, nil, codes.OK},
		{"district:310107", &feedbackv1.ListCasesRequest{AreaCode: zj}, nil, codes.PermissionDenied},
		{"department:" + cgzd, &feedbackv1.ListCasesRequest{}, []string{inZJ.id}, codes.OK},
		{"department:" + scjg, &feedbackv1.ListCasesRequest{}, nil, codes.OK},
		{"department:" + scjg, &feedbackv1.ListCasesRequest{DepartmentCode: cgzd}, nil, codes.PermissionDenied},
	} {
		c, ctx := e.as(tc.principal)
		resp, err := c.ListCases(ctx, tc.req)
		if status := err; tc.code != codes.OK {
			code(t, status, tc.code)
			continue
		}
		if d := cmp.Diff(tc.want, ids(resp, err)); d != "" {
			t.Errorf("%s lists %v: mismatch (-want +got):\n%s", tc.principal, tc.req, d)
		}
	}
}

// Bad filters are INVALID_ARGUMENT.
func TestListCasesInvalid(t *testing.T) {
	e := setup(t)
	c, ctx := e.as("admin")
	for _, tc := range []struct {
		req  *feedbackv1.ListCasesRequest
		want []string
	}{
		{&feedbackv1.ListCasesRequest{States: []feedbackv1.CaseState{feedbackv1.CaseState_CASE_STATE_UNSPECIFIED}}, []string{"states[0]"}},
		{&feedbackv1.ListCasesRequest{States: []feedbackv1.CaseState{feedbackv1.CaseState_CASE_STATE_CLOSED, 99}}, []string{"states[1]"}},
		{&feedbackv1.ListCasesRequest{PageSize: -1}, []string{"page_size"}},
	} {
		_, err := c.ListCases(ctx, tc.req)
		if d := cmp.Diff(tc.want, fields(t, err)); d != "" {
			t.Errorf("ListCases(%v): fields mismatch (-want +got):\n%s", tc.req, d)
		}
	}
}

// A case the task events name before its classification shows as
// dispatched with the facts that came.
func TestTaskBeforeClassification(t *testing.T) {
	e := setup(t)
	k := e.receive(typesv1.Source_SOURCE_HOTLINE, zj)
	e.dispatch(k, 0)
	c, ctx := e.as("admin")
	got, err := c.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: k.id})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetCase().GetState() != feedbackv1.CaseState_CASE_STATE_DISPATCHED || got.GetCase().GetItemCode() != "" {
		t.Errorf("task before classification: %s item %q", got.GetCase().GetState(), got.GetCase().GetItemCode())
	}
	e.publish(k.id, "case_classified", &eventsv1.CaseClassified{CaseId: k.id, CaseNumber: k.number, ClassificationVersion: 2,
		ItemCode: "06022", ItemName: "露天烧烤", Dispatchable: true, Source: k.source, Area: area(zj)})
	e.classify(k, "") // version 1, late
	got, err = c.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: k.id})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetCase().GetState() != feedbackv1.CaseState_CASE_STATE_DISPATCHED || got.GetCase().GetItemCode() != "06022" {
		t.Errorf("after a late version 1: %s item %q; want dispatched 06022 (version 2)", got.GetCase().GetState(), got.GetCase().GetItemCode())
	}
}

// A repeated report merged into an incident has no task of its own; staff
// reading it (GetCase, ListCases) see its primary's lead, as its reporter
// does (TestPublicCases): a merged case mirrors its primary (DESIGN.md).
func TestAMergedCaseNamesItsPrimarysLead(t *testing.T) {
	e := setup(t)
	primary := e.receive(typesv1.Source_SOURCE_HOTLINE, zj)
	e.classify(primary, "")
	repeat := e.receive(typesv1.Source_SOURCE_HOTLINE, zj)
	e.classify(repeat, primary.id)
	c, ctx := e.as("dispatcher:" + zj)
	leads := func() (got, listed string) {
		t.Helper()
		resp, err := c.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: repeat.id})
		if err != nil {
			t.Fatal(err)
		}
		if s := resp.GetCase().GetState(); s != feedbackv1.CaseState_CASE_STATE_MERGED {
			t.Fatalf("the repeat is %s, not merged", s)
		}
		list, err := c.ListCases(ctx, &feedbackv1.ListCasesRequest{AreaCode: zj})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range list.GetCases() {
			if x.GetCaseId() == repeat.id {
				listed = x.GetLeadDepartmentCode()
			}
		}
		return resp.GetCase().GetLeadDepartmentCode(), listed
	}
	if got, listed := leads(); got != "" || listed != "" {
		t.Errorf("before the primary's dispatch: got %q, listed %q", got, listed)
	}
	e.dispatch(primary, 0)
	if got, listed := leads(); got != cgzd || listed != cgzd {
		t.Errorf("after the primary's dispatch: got %q, listed %q; want %s", got, listed, cgzd)
	}
}
