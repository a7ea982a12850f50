package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/geo"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/postgres"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

type fixedModel struct{}

func (fixedModel) Version() string { return "fixed1" }

// Predict is sure of noise, unsure of everything else.
func (fixedModel) Predict(text string) []classify.Choice {
	if strings.Contains(text, "噪声") {
		return []classify.Choice{{Code: "06020", Label: "06020", Confidence: 0.9}, {Code: "H04001", Label: "H04001", Confidence: 0.1}}
	}
	return []classify.Choice{{Code: "H13001", Label: "H13001", Confidence: 0.2}, {Code: "H01002", Label: "H01002", Confidence: 0.1},
		{Code: "06010", Label: "06010", Confidence: 0.1}}
}

type env struct {
	pool  *pgxpool.Pool
	store *postgres.Store
	svc   *classify.Service
	clock *timer.ManualClock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool := testenv.Pool(t, postgres.Schema, 8, postgres.Migrations...)
	ref, err := reference.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Load("", ref)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{pool: pool, clock: timer.NewManualClock(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC))}
	e.store = postgres.New(pool, nil, e.clock.Now)
	e.svc = classify.New(classify.DefaultConfig(), e.store, classify.Deps{
		Reference: func() *reference.Set { return ref }, Rules: func() *rules.Set { return rs },
		Model: func() classify.Model { return fixedModel{} }, Now: e.clock.Now,
	})
	return e
}

var seq int

func (e *env) hotline(content, addr string) classify.Case {
	seq++
	now := e.clock.Now()
	return classify.Case{ID: fmt.Sprintf("00000000-0000-7000-8000-%012d", seq), Number: fmt.Sprintf("GF-20260302-%06d", seq),
		Source: reference.FromHotline, AppealType: "complaint", Content: content, Address: addr,
		Area: reference.AreaCodes{District: "310106", Street: "310106022", Community: "0", Grid: "0"}, ReceivedAt: now, AcceptedAt: now}
}

func (e *env) receive(t *testing.T, c classify.Case) {
	t.Helper()
	if err := e.store.InTx(context.Background(), func(tx classify.Tx) error {
		return e.svc.Receive(context.Background(), tx, c)
	}); err != nil {
		t.Fatalf("receive: %v", err)
	}
}

func admin() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleAdmin})
}

// Concurrent reports of one problem become one incident: the grouping lock
// serialises the decisions across handlers and replicas.
func TestConcurrentReportsOneIncident(t *testing.T) {
	e := newEnv(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		c := e.hotline("晚上噪声扰民", "共和新路1234号")
		wg.Go(func() {
			errs <- e.store.InTx(context.Background(), func(tx classify.Tx) error {
				return e.svc.Receive(context.Background(), tx, c)
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	incs, _, err := e.store.ListIncidents(context.Background(), classify.IncidentFilter{PageSize: 10, Scope: policy.Scope{Kind: policy.All}})
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != 1 || incs[0].Reports() != n || !incs[0].UrgencyRaised || incs[0].Urgency != reference.Urgent {
		t.Fatalf("incidents = %+v, want one of %d reports, urgency raised", incs, n)
	}
	// One case.classified per report, plus the primary's second version, and
	// one incident.grouped per duplicate.
	if got, err := outbox.Pending(context.Background(), e.pool); err != nil || got != int64(n+1+n-1) {
		t.Errorf("outbox rows = %d, %v; want %d", got, err, n+1+n-1)
	}
}

func TestReviewTimerAndDecisions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.hotline("有点事情反映一下", "共和新路1234号")
	e.receive(t, c)
	tm, err := timer.Lookup(ctx, e.pool, postgres.TimerReviewFallback, c.ID)
	if err != nil || !tm.DueAt.Equal(e.clock.Now().Add(30*time.Minute)) {
		t.Fatalf("fallback timer = %+v, %v", tm, err)
	}

	// The timer worker fires it once the clock passes the due time.
	w := timer.NewWorker(e.pool, map[string]timer.Handler{
		postgres.TimerReviewFallback: func(ctx context.Context, tx pgx.Tx, tm timer.Timer) error {
			return e.svc.ReviewTimedOut(ctx, e.store.Bind(tx), tm.Key)
		},
	}, timer.Options{Clock: e.clock}, nil)
	if n, err := w.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("early RunOnce = %d, %v", n, err)
	}
	e.clock.Advance(30 * time.Minute)
	if n, err := w.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v; want one timer fired", n, err)
	}
	rec, err := e.store.GetRecord(ctx, c.ID)
	if err != nil || rec.Current == nil || rec.Current.ItemCode != "H02999" || !rec.Current.Unreviewed || rec.Review.State != classify.ReviewTimedOut {
		t.Fatalf("after timeout: %+v, %v", rec, err)
	}
	// Still listed, as unreviewed; page through one at a time.
	other := e.hotline("还有一件事", "")
	e.receive(t, other)
	page1, next, err := e.svc.ListReviewQueue(admin(), classify.ReviewFilter{PageSize: 1})
	if err != nil || len(page1) != 1 || page1[0].Case.ID != c.ID || next == "" {
		t.Fatalf("page 1 = %v, %q, %v", page1, next, err)
	}
	page2, next, err := e.svc.ListReviewQueue(admin(), classify.ReviewFilter{PageSize: 1, PageToken: next})
	if err != nil || len(page2) != 1 || page2[0].Case.ID != other.ID || next != "" {
		t.Fatalf("page 2 = %v, %q, %v", page2, next, err)
	}
	if _, _, err := e.svc.ListReviewQueue(admin(), classify.ReviewFilter{PageToken: "garbage!"}); fault.KindOf(err) != fault.InvalidArgument {
		t.Errorf("bad token: %v", err)
	}

	d := classify.Decision{RequestID: "req-1", CaseID: c.ID, ItemCode: "06020", Note: "噪声"}
	v2, err := e.svc.ResolveReview(admin(), d)
	if err != nil || v2.Version != 2 || v2.ItemCode != "06020" {
		t.Fatalf("resolve = %+v, %v", v2, err)
	}
	again, err := e.svc.ResolveReview(admin(), d)
	if err != nil || again.Version != 2 {
		t.Fatalf("repeat = %+v, %v", again, err)
	}
	d.ItemCode = "06021"
	if _, err := e.svc.ResolveReview(admin(), d); fault.KindOf(err) != fault.AlreadyExists {
		t.Fatalf("reused id: %v", err)
	}
	// Resolving the other case cancels its timer.
	if _, err := e.svc.ResolveReview(admin(), classify.Decision{RequestID: "req-2", CaseID: other.ID, ItemCode: "H13001"}); err != nil {
		t.Fatal(err)
	}
	if _, err := timer.Lookup(ctx, e.pool, postgres.TimerReviewFallback, other.ID); err == nil {
		t.Error("timer still pending after the review was resolved")
	}
	rec, vs, err := e.svc.GetClassification(admin(), c.ID, "", "")
	if err != nil || len(vs) != 2 || vs[0].Version != 2 || vs[1].Version != 1 || rec.Review.State != classify.ReviewResolved {
		t.Fatalf("history = %+v, %+v, %v", rec, vs, err)
	}
	corr, next, err := e.svc.ListCorrections(admin(), classify.CorrectionFilter{PageSize: 1})
	if err != nil || len(corr) != 1 || corr[0].ItemCode != "06020" || corr[0].PreviousItem != "H02999" || next == "" {
		t.Fatalf("corrections = %+v, %q, %v", corr, next, err)
	}
	corr, next, err = e.svc.ListCorrections(admin(), classify.CorrectionFilter{PageSize: 1, PageToken: next})
	if err != nil || len(corr) != 1 || corr[0].ItemCode != "H13001" || next != "" {
		t.Fatalf("corrections page 2 = %+v, %q, %v", corr, next, err)
	}
	// A keyset token is not a corrections token, nor the other way round.
	if _, _, err := e.svc.ListCorrections(admin(), classify.CorrectionFilter{PageToken: pagetoken.Encode(time.Unix(0, 0), c.ID)}); fault.KindOf(err) != fault.InvalidArgument {
		t.Errorf("keyset token for corrections: %v", err)
	}
	if _, _, err := e.svc.ListReviewQueue(admin(), classify.ReviewFilter{PageToken: pagetoken.EncodeSeq(1)}); fault.KindOf(err) != fault.InvalidArgument {
		t.Errorf("serial token for the review queue: %v", err)
	}
}

// Two dispatchers sending the same request at once get one decision.
func TestConcurrentSameRequest(t *testing.T) {
	e := newEnv(t)
	c := e.hotline("有点事情反映一下", "")
	e.receive(t, c)
	d := classify.Decision{RequestID: "same", CaseID: c.ID, ItemCode: "06020"}
	var wg sync.WaitGroup
	res := make([]*classify.Classification, 4)
	errs := make([]error, 4)
	for i := range 4 {
		wg.Go(func() { res[i], errs[i] = e.svc.ResolveReview(admin(), d) })
	}
	wg.Wait()
	for i := range 4 {
		if errs[i] != nil || res[i].Version != 1 {
			t.Errorf("call %d: %+v, %v", i, res[i], errs[i])
		}
	}
}

func TestIncidentReadAndLinks(t *testing.T) {
	e := newEnv(t)
	a := e.hotline("晚上噪声扰民", "共和新路1234号")
	e.receive(t, a)
	b := e.hotline("门口垃圾", "共和新路1234号")
	e.receive(t, b)
	if _, err := e.svc.ResolveReview(admin(), classify.Decision{RequestID: "r", CaseID: b.ID, ItemCode: "06010"}); err != nil {
		t.Fatal(err)
	}
	rec, err := e.store.GetRecord(context.Background(), b.ID)
	if err != nil || rec.Current.IncidentID == "" {
		t.Fatalf("litter case: %+v, %v", rec, err)
	}
	inc, sp, err := e.svc.GetIncident(admin(), rec.Current.IncidentID)
	if err != nil || sp == nil || len(sp.IncidentIDs) != 2 || inc.ItemCode != "06010" {
		t.Fatalf("incident %+v, place %+v, %v; want linked to the noise incident", inc, sp, err)
	}
	if _, _, err := e.svc.GetIncident(admin(), "nope"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("unknown incident: %v", err)
	}
}

// GetClassification finds a case by its id, its case number and its hotline
// order number alike (classify keeps the last two from case.received), and
// a case it does not know is NotFound naming what was asked.
func TestGetClassificationByAnyReference(t *testing.T) {
	e := newEnv(t)
	c := e.hotline("晚上噪声扰民", "共和新路1234号")
	c.HotlineOrderNo = "12345-20260302-0042"
	e.receive(t, c)
	e.receive(t, e.hotline("另一件噪声的事", "")) // another case, which no lookup may return
	for _, tc := range []struct{ name, id, number, orderNo string }{
		{"id", c.ID, "", ""}, {"case number", "", c.Number, ""}, {"hotline order number", "", "", c.HotlineOrderNo},
	} {
		rec, vs, err := e.svc.GetClassification(admin(), tc.id, tc.number, tc.orderNo)
		if err != nil {
			t.Fatalf("by %s: %v", tc.name, err)
		}
		if rec.Case.ID != c.ID || rec.Case.HotlineOrderNo != c.HotlineOrderNo || len(vs) != 1 || vs[0].CaseID != c.ID || vs[0].ItemCode != "06020" {
			t.Errorf("by %s: record %+v, versions %+v", tc.name, rec.Case, vs)
		}
	}
	_, _, err := e.svc.GetClassification(admin(), "", "GF-20260302-999999", "")
	var f *fault.Error
	if !errors.As(err, &f) || f.Kind != fault.NotFound || !strings.Contains(f.Message, `case number "GF-20260302-999999"`) {
		t.Errorf("unknown case number: %v, want NotFound naming it", err)
	}
	if _, _, err := e.svc.GetClassification(admin(), "", "", "no-such-order"); fault.KindOf(err) != fault.NotFound ||
		!strings.Contains(err.Error(), `hotline order number "no-such-order"`) {
		t.Errorf("unknown order number: %v, want NotFound naming it", err)
	}
	for _, bad := range [][3]string{{c.Number, "", ""}, {c.ID, c.Number, ""}, {"", "GF-1", ""}, {"", "", ""}} {
		_, _, err := e.svc.GetClassification(admin(), bad[0], bad[1], bad[2])
		if !errors.As(err, &f) || f.Kind != fault.InvalidArgument || len(f.Violations) == 0 {
			t.Errorf("GetClassification%q: %v, want InvalidArgument with a field", bad, err)
		}
	}
}

// race runs fn for each case at once, each in its own transaction, and
// fails on any error.
func (e *env) race(t *testing.T, cases []classify.Case) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(cases))
	for _, c := range cases {
		wg.Go(func() {
			errs <- e.store.InTx(context.Background(), func(tx classify.Tx) error {
				return e.svc.Receive(context.Background(), tx, c)
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) incidents(t *testing.T) []*classify.Incident {
	t.Helper()
	incs, _, err := e.store.ListIncidents(context.Background(), classify.IncidentFilter{PageSize: 50, Scope: policy.Scope{Kind: policy.All}})
	if err != nil {
		t.Fatal(err)
	}
	return incs
}

// Reports that carry only coordinates, racing from points in neighbouring
// cells, still become one incident: the place locks cover the cells around
// each point, so two points SamePlace can match share one.
func TestConcurrentPointReportsOneIncident(t *testing.T) {
	e := newEnv(t)
	var cases []classify.Case
	for i := range 6 {
		c := e.hotline("晚上噪声扰民", "")
		// About 20 m apart, across a cell boundary or two.
		c.Location = &geo.Point{Lat: 31.2304 + float64(i)*0.0002, Lng: 121.4737}
		cases = append(cases, c)
	}
	e.race(t, cases)
	if incs := e.incidents(t); len(incs) != 1 || incs[0].Reports() != len(cases) {
		t.Fatalf("incidents = %+v, want one of %d reports", incs, len(cases))
	}
}

// Different subjects at one place, racing, still link to one source place:
// the place locks do not depend on the subject.
func TestConcurrentSubjectsAtOnePlaceLink(t *testing.T) {
	e := newEnv(t)
	var cases []classify.Case
	for range 3 {
		cases = append(cases, e.hotline("晚上噪声扰民", "长乐路340号"), e.hotline("门口露天烧烤", "长乐路340号"))
	}
	e.race(t, cases)
	incs := e.incidents(t)
	if len(incs) != 2 {
		t.Fatalf("incidents = %+v, want two (noise, barbecue)", incs)
	}
	if incs[0].Subject == incs[1].Subject || incs[0].SourcePlaceID == "" || incs[0].SourcePlaceID != incs[1].SourcePlaceID {
		t.Fatalf("incidents %s (%s, source %q) and %s (%s, source %q): want two subjects linked to one source place",
			incs[0].ID, incs[0].Subject, incs[0].SourcePlaceID, incs[1].ID, incs[1].Subject, incs[1].SourcePlaceID)
	}
}

// The grouping lock is not city-wide: while a report at one place holds its
// place's locks, a report elsewhere is grouped at once; another report at the
// same place waits for the first to commit. A dispatcher's refiling
// (LockGrouping) waits for both.
func TestPlaceLocksAreLocal(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// A report at one place, grouped but not yet committed, holds its
	// place's locks.
	here := e.hotline("晚上噪声扰民", "共和新路1234号")
	held := make(chan struct{})
	release := make(chan struct{})
	var releaseOnce sync.Once
	done := func() { releaseOnce.Do(func() { close(release) }) }
	defer done()
	holder := make(chan error, 1)
	go func() {
		holder <- e.store.InTx(ctx, func(tx classify.Tx) error {
			if err := e.svc.Receive(ctx, tx, here); err != nil {
				return err
			}
			close(held)
			<-release
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-holder:
		t.Fatalf("the first report: %v", err)
	}

	within := func(c classify.Case, d time.Duration) error {
		cctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return e.store.InTx(cctx, func(tx classify.Tx) error { return e.svc.Receive(cctx, tx, c) })
	}
	if err := within(e.hotline("晚上噪声扰民", "延安中路1000号"), 5*time.Second); err != nil {
		t.Fatalf("a report elsewhere waited for another place's lock: %v", err)
	}
	if err := within(e.hotline("晚上噪声扰民", "共和新路1234号"), 300*time.Millisecond); err == nil {
		t.Fatal("a report at the same place did not wait for the place's lock")
	}
	refile := make(chan error, 1)
	go func() {
		refile <- e.store.InTx(ctx, func(tx classify.Tx) error { return tx.LockGrouping(ctx) })
	}()
	select {
	case err := <-refile:
		t.Fatalf("LockGrouping did not wait for a place's lock: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	done()
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
	if err := <-refile; err != nil {
		t.Fatal(err)
	}
	if err := within(e.hotline("晚上噪声扰民", "共和新路1234号"), 5*time.Second); err != nil {
		t.Fatalf("a report at the place after the lock was released: %v", err)
	}
}

// Issue 17: grouping reads a report's incidents by its site and house
// number (and those without a number), not every incident on the road, and
// still finds every incident SamePlace matches: the same number, a shop at
// that number, the shop given without the number.
func TestIncidentLookupReadsOnlyThePlace(t *testing.T) {
	e := newEnv(t)
	first := e.hotline("晚上噪声扰民", "长乐路340号")
	e.receive(t, first)
	e.receive(t, e.hotline("晚上噪声扰民", "长乐路342号"))
	for _, addr := range []string{"长乐路340号", "长乐路340号兰州拉面", "长乐路兰州拉面"} {
		e.receive(t, e.hotline("晚上噪声扰民", addr))
	}
	incs := e.incidents(t)
	reports := map[string]int{}
	for _, inc := range incs {
		reports[inc.Place.Number] = inc.Reports()
	}
	if len(incs) != 2 || reports["340"] != 4 || reports["342"] != 1 {
		t.Fatalf("incidents by number = %v, want 340: 4 reports (the number, its shop, the shop alone) and 342: 1", reports)
	}

	place := classify.PlaceOf(&first, "静安区", classify.DefaultCellSize)
	err := e.store.InTx(context.Background(), func(tx classify.Tx) error {
		found, err := tx.FindIncidents(context.Background(), classify.IncidentQuery{Site: place.Site, Number: place.Number,
			Keyed: true, To: e.clock.Now().Add(time.Hour)})
		if err != nil {
			return err
		}
		if len(found) != 1 || found[0].Place.Number != "340" {
			t.Errorf("lookup at %s read %d incidents, want only the one at 340号", place.Key, len(found))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Issue 17: one read finds a report's duplicates (its own subject, within
// the duplicate window) and its link candidates (every other subject,
// within the link window), each subject by its own window.
func TestIncidentLookupFindsOtherSubjectsInTheirWindow(t *testing.T) {
	e := newEnv(t)
	noise := e.hotline("晚上噪声扰民", "长乐路340号")
	e.receive(t, noise)
	e.receive(t, e.hotline("门口露天烧烤", "长乐路340号"))
	incs := e.incidents(t)
	if len(incs) != 2 || incs[0].Subject == incs[1].Subject {
		t.Fatalf("%d incidents, want two of two subjects", len(incs))
	}
	own, other := incs[0], incs[1]
	if !slices.Contains(own.CaseIDs, noise.ID) {
		own, other = other, own
	}
	place := classify.PlaceOf(&noise, "静安区", classify.DefaultCellSize)
	at := own.LastAt
	around := [2]time.Time{at.Add(-time.Hour), at.Add(time.Hour)}
	before := [2]time.Time{at.Add(-3 * time.Hour), at.Add(-2 * time.Hour)}
	for _, tc := range []struct {
		name          string
		window, links [2]time.Time
		want          []string
	}{
		{"both windows hold the reports", around, around, []string{own.ID, other.ID}},
		{"the duplicate window ends before them", before, around, []string{other.ID}},
		{"the link window ends before them", around, before, []string{own.ID}},
		{"neither window holds them", before, before, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.store.InTx(context.Background(), func(tx classify.Tx) error {
				found, err := tx.FindIncidents(context.Background(), classify.IncidentQuery{Site: place.Site, Number: place.Number,
					Keyed: true, Subject: own.Subject, From: tc.window[0], To: tc.window[1],
					Others: true, OthersFrom: tc.links[0], OthersTo: tc.links[1]})
				if err != nil {
					return err
				}
				var got []string
				for _, inc := range found {
					got = append(got, inc.ID)
				}
				slices.Sort(got)
				want := slices.Sorted(slices.Values(tc.want))
				if !slices.Equal(got, want) {
					t.Errorf("found %v, want %v", got, want)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Issue 17: the place locks are a house number's, not a road's. Racing
// reports at one number, with and without its shop, are one incident;
// different subjects there link; reports at another number of the same
// road are grouped meanwhile.
func TestConcurrentReportsAtOneNumber(t *testing.T) {
	e := newEnv(t)
	var cases []classify.Case
	for range 2 {
		cases = append(cases, e.hotline("晚上噪声扰民", "长乐路340号"), e.hotline("晚上噪声扰民", "长乐路340号兰州拉面"),
			e.hotline("门口露天烧烤", "长乐路340号"), e.hotline("晚上噪声扰民", "长乐路342号"))
	}
	e.race(t, cases)
	bySubject := map[string][]*classify.Incident{}
	for _, inc := range e.incidents(t) {
		key := inc.Subject + "@" + inc.Place.Number
		bySubject[key] = append(bySubject[key], inc)
	}
	var noise, bbq *classify.Incident
	for k, incs := range bySubject {
		if len(incs) != 1 {
			t.Fatalf("%s: %d incidents, want one", k, len(incs))
		}
		switch inc := incs[0]; {
		case inc.Place.Number == "340" && inc.Reports() == 4:
			noise = inc
		case inc.Place.Number == "340" && inc.Reports() == 2:
			bbq = inc
		case inc.Place.Number == "342" && inc.Reports() == 2:
		default:
			t.Fatalf("%s: %d reports", k, inc.Reports())
		}
	}
	if noise == nil || bbq == nil || noise.SourcePlaceID == "" || noise.SourcePlaceID != bbq.SourcePlaceID {
		t.Fatalf("incidents %v: want noise (4 reports) and barbecue (2) at 340号 linked to one source place", bySubject)
	}
}

// A report holding 长乐路340号's locks does not hold up 长乐路342号, but a
// report of a shop without a number on that road (the same place as the
// shop at any number) waits for it.
func TestPlaceLocksAreByNumber(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	held, release := make(chan struct{}), make(chan struct{})
	holder := make(chan error, 1)
	go func() {
		holder <- e.store.InTx(ctx, func(tx classify.Tx) error {
			if err := e.svc.Receive(ctx, tx, e.hotline("晚上噪声扰民", "长乐路340号")); err != nil {
				return err
			}
			close(held)
			<-release
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-holder:
		t.Fatalf("the first report: %v", err)
	}
	within := func(c classify.Case, d time.Duration) error {
		cctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return e.store.InTx(cctx, func(tx classify.Tx) error { return e.svc.Receive(cctx, tx, c) })
	}
	if err := within(e.hotline("晚上噪声扰民", "长乐路342号"), 5*time.Second); err != nil {
		close(release)
		t.Fatalf("a report at another number waited: %v", err)
	}
	if err := within(e.hotline("晚上噪声扰民", "长乐路兰州拉面"), 300*time.Millisecond); err == nil {
		close(release)
		t.Fatal("a shop without a number did not wait for a report on its road")
	}
	close(release)
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
}

// Every way of naming a place on one road, two subjects, racing: the
// numbers' locks are taken shared on the road, so this is where two
// handlers could read one incident or source place and both write it. No
// report is lost from the incident it is filed in, and every incident
// attached to a source place is listed by it.
func TestConcurrentReportsOnOneRoadLoseNoMember(t *testing.T) {
	e := newEnv(t)
	var cases []classify.Case
	for range 2 {
		for _, addr := range []string{"长乐路兰州拉面", "长乐路340号", "长乐路340号兰州拉面", "长乐路342号", "长乐路344号", "长乐路"} {
			cases = append(cases, e.hotline("晚上噪声扰民", addr), e.hotline("门口露天烧烤", addr))
		}
	}
	e.race(t, cases)
	ctx := context.Background()
	members := map[string]string{}
	incs := e.incidents(t)
	for _, inc := range incs {
		for _, id := range inc.CaseIDs {
			if other, dup := members[id]; dup {
				t.Errorf("case %s is listed in incidents %s and %s", id, other, inc.ID)
			}
			members[id] = inc.ID
		}
	}
	for _, c := range cases {
		rec, err := e.store.GetRecord(ctx, c.ID)
		if err != nil || rec.Current == nil {
			t.Fatalf("case %s: %+v, %v", c.ID, rec, err)
		}
		// A road without a number or shop is no place to group at.
		if inc := rec.Current.IncidentID; members[c.ID] != inc || (inc == "") != (c.Address == "长乐路") {
			t.Errorf("case %s (%s) is filed in incident %q but listed in %q", c.ID, c.Address, inc, members[c.ID])
		}
	}
	linked := 0
	for _, inc := range incs {
		if inc.SourcePlaceID == "" {
			continue
		}
		linked++
		err := e.store.InTx(ctx, func(tx classify.Tx) error {
			sp, err := tx.GetSourcePlace(ctx, inc.SourcePlaceID)
			if err != nil {
				return err
			}
			if !slices.Contains(sp.IncidentIDs, inc.ID) {
				t.Errorf("incident %s names source place %s, which lists %v", inc.ID, sp.ID, sp.IncidentIDs)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d reports: %d incidents, %d of them linked", len(cases), len(incs), linked)
}
