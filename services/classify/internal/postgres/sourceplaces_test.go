package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
)

func dispatcherOf(street string) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleDispatcher, Subject: street})
}

// reportAs receives a report at addr and files it under item (the model is
// unsure of everything but noise), returning its incident.
func (e *env) reportAs(t *testing.T, content, addr, item string) *classify.Incident {
	t.Helper()
	c := e.hotline(content, addr)
	e.receive(t, c)
	if item != "" {
		if _, err := e.svc.ResolveReview(admin(), classify.Decision{RequestID: "r-" + c.ID, CaseID: c.ID, ItemCode: item}); err != nil {
			t.Fatalf("resolve %s as %s: %v", c.Number, item, err)
		}
	}
	rec, err := e.store.GetRecord(context.Background(), c.ID)
	if err != nil || rec.Current == nil || rec.Current.IncidentID == "" {
		t.Fatalf("case %s: %+v, %v; want an incident", c.Number, rec, err)
	}
	inc, _, err := e.svc.GetIncident(admin(), rec.Current.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func (e *env) leadEvents(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM outbox WHERE subject LIKE 'grid.incident.source_place_lead.310106.310106022%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A source place becomes one piece of coordinated work (issue 20): the
// street's dispatcher names a lead that serves the street (another street's
// unit is INVALID_ARGUMENT on department_code), changes it (recorded), a
// report at the place after the link window joins it while it is open, and
// a closed place is joined by nothing. Every change publishes the lead event
// once per incident.
func TestSourcePlaceCoordination(t *testing.T) {
	e := newEnv(t)
	const shop = "共和新路1234号兰州拉面"
	noise := e.reportAs(t, "晚上噪声扰民", shop, "")
	litter := e.reportAs(t, "门口垃圾", shop, "06010")
	if litter.SourcePlaceID == "" {
		t.Fatalf("litter incident %+v: want linked to the noise one", litter)
	}
	spID := litter.SourcePlaceID
	d := dispatcherOf("310106022")

	sps, _, err := e.svc.ListSourcePlaces(d, classify.SourcePlaceFilter{OpenOnly: true})
	if err != nil || len(sps) != 1 || sps[0].ID != spID {
		t.Fatalf("ListSourcePlaces as the street's dispatcher: %+v, %v", sps, err)
	}
	other := dispatcherOf("310106021")
	if sps, _, err := e.svc.ListSourcePlaces(other, classify.SourcePlaceFilter{}); err != nil || len(sps) != 0 {
		t.Errorf("another street's dispatcher lists %+v, %v; want nothing", sps, err)
	}
	if _, _, err := e.svc.GetSourcePlace(other, spID); fault.KindOf(err) != fault.PermissionDenied {
		t.Errorf("another street's dispatcher reads the place: %v, want PermissionDenied", err)
	}
	if _, err := e.svc.SetSourcePlaceLead(other, classify.PlaceCommand{RequestID: "x", SourcePlaceID: spID, Department: "310106021-cgzd"}); fault.KindOf(err) != fault.PermissionDenied {
		t.Errorf("another street's dispatcher names a lead: %v, want PermissionDenied", err)
	}

	for _, bad := range []struct{ dept, field string }{{"310106021-cgzd", "department_code"}, {"nope", "department_code"}, {"", "department_code"}} {
		_, err := e.svc.SetSourcePlaceLead(d, classify.PlaceCommand{RequestID: "bad-" + bad.dept, SourcePlaceID: spID, Department: bad.dept})
		var f *fault.Error
		if !errors.As(err, &f) || f.Kind != fault.InvalidArgument || len(f.Violations) == 0 || f.Violations[0].Field != bad.field {
			t.Errorf("lead %q: %v, want InvalidArgument on %s", bad.dept, err, bad.field)
		}
	}
	if _, err := e.svc.SetSourcePlaceLead(d, classify.PlaceCommand{RequestID: "r0", SourcePlaceID: "", Department: "310106022-cgzd"}); fault.KindOf(err) != fault.InvalidArgument {
		t.Errorf("no place: %v, want InvalidArgument", err)
	}

	sp, err := e.svc.SetSourcePlaceLead(d, classify.PlaceCommand{RequestID: "r1", SourcePlaceID: spID, Department: "310106022-cgzd", Reason: "城管牵头"})
	if err != nil || sp.Lead != "310106022-cgzd" || len(sp.History) != 1 || sp.History[0].Change != classify.ChangeLeadSet ||
		sp.History[0].Actor != "dispatcher:310106022" || sp.History[0].Reason != "城管牵头" {
		t.Fatalf("lead set: %+v, %v", sp, err)
	}
	if got := e.leadEvents(t); got != 2 {
		t.Errorf("lead events = %d, want one per incident (2)", got)
	}
	// A repeat answers the place and changes nothing.
	if sp, err := e.svc.SetSourcePlaceLead(d, classify.PlaceCommand{RequestID: "r1", SourcePlaceID: spID, Department: "310106022-cgzd", Reason: "城管牵头"}); err != nil || len(sp.History) != 1 {
		t.Errorf("repeat: %+v, %v", sp, err)
	}
	// A district bureau over the street may lead too; the change is recorded.
	sp, err = e.svc.SetSourcePlaceLead(d, classify.PlaceCommand{RequestID: "r2", SourcePlaceID: spID, Department: "310106-sthjj", Reason: "油烟为主"})
	if err != nil || sp.Lead != "310106-sthjj" || len(sp.History) != 2 || sp.History[1].Change != classify.ChangeLeadChanged ||
		sp.History[1].PreviousLead != "310106022-cgzd" || sp.Version != 2 {
		t.Fatalf("lead changed: %+v, %v", sp, err)
	}

	// Three days on, past the link window: a report of another subject at
	// the shop joins the open place.
	e.clock.Advance(72 * time.Hour)
	later := e.reportAs(t, "占道经营", shop, "06040")
	if later.SourcePlaceID != spID {
		t.Fatalf("a later report's incident %+v: want it to join open place %s", later, spID)
	}
	sp, incs, err := e.svc.GetSourcePlace(d, spID)
	if err != nil || len(sp.IncidentIDs) != 3 || len(incs) != 3 || incs[2].ID != later.ID || incs[2].PrimaryCaseID == "" {
		t.Fatalf("place after the later report: %+v %+v, %v", sp, incs, err)
	}
	_ = noise

	// Closed: no change of lead, and a new report is not joined.
	if sp, err = e.svc.CloseSourcePlace(d, classify.PlaceCommand{RequestID: "r3", SourcePlaceID: spID, Reason: "已整治"}); err != nil || sp.Open() {
		t.Fatalf("close: %+v, %v", sp, err)
	}
	if _, err := e.svc.SetSourcePlaceLead(d, classify.PlaceCommand{RequestID: "r4", SourcePlaceID: spID, Department: "310106022-cgzd"}); fault.KindOf(err) != fault.FailedPrecondition {
		t.Errorf("lead of a closed place: %v, want FailedPrecondition", err)
	}
	e.clock.Advance(time.Hour)
	after := e.reportAs(t, "违章搭建", shop, "06042")
	if after.SourcePlaceID == spID {
		t.Errorf("a report after closing joined the closed place: %+v", after)
	}
	if sps, _, err := e.svc.ListSourcePlaces(d, classify.SourcePlaceFilter{OpenOnly: true}); err != nil || len(sps) != 0 {
		t.Errorf("open places after closing: %+v, %v", sps, err)
	}
	if sp, err = e.svc.ReopenSourcePlace(d, classify.PlaceCommand{RequestID: "r5", SourcePlaceID: spID}); err != nil || !sp.Open() ||
		sp.Lead != "310106-sthjj" || len(sp.History) != 4 || sp.History[3].Change != classify.ChangeReopened {
		t.Errorf("reopen: %+v, %v", sp, err)
	}
	// 2 (set) + 2 (changed) + 3 (closed) + 3 (reopened).
	if got := e.leadEvents(t); got != 10 {
		t.Errorf("lead events = %d, want 10", got)
	}
}

// The lookup of a place's source places reads the incidents of open ones
// only: a place a dispatcher closed is not read (a busy road gathers years
// of them), and it is read again once reopened.
func TestLinkedLookupReadsOpenPlacesOnly(t *testing.T) {
	e := newEnv(t)
	const shop = "共和新路1234号兰州拉面"
	e.reportAs(t, "晚上噪声扰民", shop, "")
	litter := e.reportAs(t, "门口垃圾", shop, "06010")
	if litter.SourcePlaceID == "" {
		t.Fatalf("litter incident %+v: want linked to the noise one", litter)
	}
	p := litter.Place
	linked := func() int {
		t.Helper()
		var n int
		err := e.store.InTx(context.Background(), func(tx classify.Tx) error {
			found, err := tx.FindIncidents(context.Background(), classify.IncidentQuery{Site: p.Site, Number: p.Number,
				Keyed: p.Key != "", Linked: true, To: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)})
			n = len(found)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := linked(); n != 2 {
		t.Fatalf("linked incidents of the open place: %d, want 2", n)
	}
	d := dispatcherOf("310106022")
	if _, err := e.svc.CloseSourcePlace(d, classify.PlaceCommand{RequestID: "c1", SourcePlaceID: litter.SourcePlaceID, Reason: "已整治"}); err != nil {
		t.Fatal(err)
	}
	if n := linked(); n != 0 {
		t.Errorf("linked incidents once the place closed: %d, want none", n)
	}
	if _, err := e.svc.ReopenSourcePlace(d, classify.PlaceCommand{RequestID: "c2", SourcePlaceID: litter.SourcePlaceID, Reason: "又有投诉"}); err != nil {
		t.Fatal(err)
	}
	if n := linked(); n != 2 {
		t.Errorf("linked incidents once reopened: %d, want 2", n)
	}
}
