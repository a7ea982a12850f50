package classify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
)

const dispatcher = "dispatcher:310106022"

func TestReviewTimesOutToTheCatchAll(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.hotline("有点事情想反映一下", "共和新路1234号")
	h.receive(c)
	h.now = h.now.Add(29 * time.Minute)
	h.fireFallbacks()
	if h.current(c.ID) != nil {
		t.Fatal("classified before the timeout")
	}
	h.now = h.now.Add(time.Minute)
	h.fireFallbacks()
	cur := h.current(c.ID)
	if cur == nil || cur.ItemCode != "H02999" || cur.Method != classify.MethodReviewTimeout || !cur.Unreviewed || !cur.Dispatchable || cur.Version != 1 {
		t.Fatalf("after the timeout: %+v", cur)
	}
	// Still in the queue, as unreviewed.
	recs, _, err := h.svc.ListReviewQueue(as(dispatcher), classify.ReviewFilter{})
	if err != nil || len(recs) != 1 || recs[0].Review.State != classify.ReviewTimedOut {
		t.Fatalf("queue = %v, %v; want the case, timed out", recs, err)
	}
	// A patrol report falls back to the urban catch-all.
	p := h.hotline("看不清是什么", "")
	p.Source = reference.FromPatrol
	h.receive(p)
	h.now = h.now.Add(31 * time.Minute)
	h.fireFallbacks()
	if cur := h.current(p.ID); cur == nil || cur.ItemCode != "10999" {
		t.Errorf("patrol fallback: %+v", cur)
	}
}

func TestVersions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.hotline("有点事情想反映一下", "共和新路1234号")
	h.receive(c)
	h.now = h.now.Add(31 * time.Minute)
	h.fireFallbacks() // v1: catch-all, unreviewed
	ctx := as(dispatcher)

	// Resolving the timed-out review: v2, reviewed.
	v2, err := h.svc.ResolveReview(ctx, classify.Decision{RequestID: "r1", CaseID: c.ID, ItemCode: "06020", Note: "夜间噪声"})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || v2.ItemCode != "06020" || v2.Unreviewed || v2.Method != classify.MethodReview || v2.Actor != dispatcher || v2.ModelVersion != "fake01" {
		t.Fatalf("v2 = %+v", v2)
	}
	if _, ok := h.store.Fallback(c.ID); ok {
		t.Error("fallback timer still armed after the review")
	}
	// The same request again: the same answer, nothing new.
	n := len(h.store.Events())
	again, err := h.svc.ResolveReview(ctx, classify.Decision{RequestID: "r1", CaseID: c.ID, ItemCode: "06020", Note: "夜间噪声"})
	if err != nil || again.Version != 2 || len(h.store.Events()) != n {
		t.Fatalf("repeat = %+v, %v (events %d → %d)", again, err, n, len(h.store.Events()))
	}
	// The same id with other content.
	_, err = h.svc.ResolveReview(ctx, classify.Decision{RequestID: "r1", CaseID: c.ID, ItemCode: "06021"})
	if fault.KindOf(err) != fault.AlreadyExists {
		t.Fatalf("reused request id: %v, want ALREADY_EXISTS", err)
	}
	// Resolved reviews are corrected with Reclassify.
	_, err = h.svc.ResolveReview(ctx, classify.Decision{RequestID: "r2", CaseID: c.ID, ItemCode: "06021"})
	if fault.KindOf(err) != fault.FailedPrecondition {
		t.Fatalf("second resolve: %v, want FAILED_PRECONDITION", err)
	}
	v3, err := h.svc.Reclassify(ctx, classify.Decision{RequestID: "r3", CaseID: c.ID, ItemCode: "06021", Urgency: reference.Urgent})
	if err != nil || v3.Version != 3 || v3.Urgency != reference.Urgent || v3.Method != classify.MethodReclassified {
		t.Fatalf("v3 = %+v, %v", v3, err)
	}
	// Nothing to change: no new version.
	same, err := h.svc.Reclassify(ctx, classify.Decision{RequestID: "r4", CaseID: c.ID, ItemCode: "06021", Urgency: reference.Urgent})
	if err != nil || same.Version != 3 {
		t.Fatalf("no-op reclassify = %+v, %v", same, err)
	}
	vs, err := h.store.Versions(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.ItemCode)
	}
	if diff := cmp.Diff([]string{"06021", "06020", "H02999"}, got); diff != "" {
		t.Errorf("history mismatch (-want +got):\n%s", diff)
	}
	var published []int
	for _, e := range eventsOf[classify.Classified](h) {
		if e.CaseID == c.ID {
			published = append(published, e.Version)
		}
	}
	if diff := cmp.Diff([]int{1, 2, 3}, published); diff != "" {
		t.Errorf("published versions mismatch (-want +got):\n%s", diff)
	}
	corr, _, err := h.svc.ListCorrections(as("admin"), classify.CorrectionFilter{})
	if err != nil || len(corr) != 2 || corr[0].ItemCode != "06020" || corr[0].PreviousItem != "H02999" || corr[1].PreviousItem != "06020" {
		t.Errorf("corrections = %+v, %v", corr, err)
	}
}

func TestReclassifyThePrimaryPromotesTheNextReport(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var ids []string
	for range 3 {
		c := h.hotline("噪声扰民", "共和新路1234号")
		h.receive(c)
		ids = append(ids, c.ID)
		h.now = h.now.Add(time.Minute)
	}
	inc := h.current(ids[0]).IncidentID
	if _, err := h.svc.Reclassify(as(dispatcher), classify.Decision{RequestID: "x", CaseID: ids[0], ItemCode: "H01005"}); err != nil {
		t.Fatal(err)
	}
	p := h.current(ids[1])
	if !p.Dispatchable || p.PrimaryCaseID != ids[1] || p.IncidentID != inc || p.Version != 2 || p.IncidentReports != 2 {
		t.Errorf("promoted: %+v", p)
	}
	if d := h.current(ids[2]); d.Dispatchable {
		t.Errorf("remaining duplicate became dispatchable: %+v", d)
	}
	moved := h.current(ids[0])
	if moved.IncidentID == inc || !moved.Dispatchable {
		t.Errorf("reclassified case: %+v, want a new incident of its own, dispatchable", moved)
	}
	// A fourth noise report joins the incident of the new primary.
	c := h.hotline("噪声扰民", "共和新路1234号")
	h.receive(c)
	if cur := h.current(c.ID); cur.IncidentID != inc || cur.PrimaryCaseID != ids[1] {
		t.Errorf("fourth report: %+v", cur)
	}
}

func TestDecisionsNeedTheRightCaller(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.hotline("有点事情想反映一下", "")
	h.receive(c)
	d := classify.Decision{RequestID: "r", CaseID: c.ID, ItemCode: "06020"}
	for _, tt := range []struct {
		who  string
		want fault.Kind
	}{
		{"hotline", fault.PermissionDenied},
		{"dispatcher:310106021", fault.PermissionDenied}, // another street
		{"district:310107", fault.PermissionDenied},
	} {
		if _, err := h.svc.ResolveReview(as(tt.who), d); fault.KindOf(err) != tt.want {
			t.Errorf("%s: %v, want %v", tt.who, err, tt.want)
		}
	}
	if _, err := h.svc.ResolveReview(context.Background(), d); fault.KindOf(err) != fault.Unauthenticated {
		t.Errorf("no credential: %v", err)
	}
	bad := classify.Decision{RequestID: "", CaseID: c.ID, ItemCode: "nope", Note: "\xff"}
	_, err := h.svc.ResolveReview(as("district:310106"), bad)
	var f *fault.Error
	if !errors.As(err, &f) || f.Kind != fault.InvalidArgument || len(f.Violations) != 3 {
		t.Errorf("invalid decision: %v, want three violations", err)
	}
	// An unknown case is NotFound to admin; a district learns only that
	// it is not within its scope, as of another district's case.
	if _, err := h.svc.ResolveReview(as("admin"), classify.Decision{RequestID: "r", CaseID: "missing", ItemCode: "06020"}); fault.KindOf(err) != fault.NotFound {
		t.Errorf("unknown case: %v", err)
	}
	if _, err := h.svc.ResolveReview(as("district:310106"), classify.Decision{RequestID: "r", CaseID: "missing", ItemCode: "06020"}); fault.KindOf(err) != fault.PermissionDenied {
		t.Errorf("unknown case by a district: %v", err)
	}
	if _, err := h.svc.Reclassify(as("admin"), d); fault.KindOf(err) != fault.FailedPrecondition {
		t.Errorf("reclassify while waiting for review: %v", err)
	}
	if _, err := h.svc.ResolveReview(as("district:310106"), d); err != nil {
		t.Errorf("district dispatcher: %v", err)
	}
	// A dispatcher sees only their street's queue.
	if _, _, err := h.svc.ListReviewQueue(as(dispatcher), classify.ReviewFilter{Street: "310106021"}); fault.KindOf(err) != fault.PermissionDenied {
		t.Errorf("listing another street: %v", err)
	}
}
