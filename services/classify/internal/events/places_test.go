package events_test

// Issue 20, places (以房管人): the place registry and the place history
// against real PostgreSQL and NATS — import idempotence, refusals, finding
// versions, history queries and scopes.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/events"
	"github.com/gridflow/gridflow/services/classify/internal/postgres"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

type placeStack struct {
	*stack
	pool   *pgxpool.Pool
	places *classify.Places
	now    time.Time
	mu     sync.Mutex
}

func (s *placeStack) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *placeStack) advance(d time.Duration) {
	s.mu.Lock()
	s.now = s.now.Add(d)
	s.mu.Unlock()
}

func startPlaces(t *testing.T) *placeStack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pool := testenv.Pool(t, postgres.Schema, 8, postgres.Migrations...)
	ns := testenv.NATS(t)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	nc, js, err := natsjs.Connect(ctx, ns.ClientURL(), "classify-places-test", log)
	if err != nil {
		t.Fatal(err)
	}
	if err := natsjs.EnsureStreams(ctx, js, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	ref, _ := reference.LoadDefault()
	rs, _ := rules.Load("", ref)
	ps := &placeStack{pool: pool, now: time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)}
	relay := outbox.NewRelay(pool, js, log, outbox.RelayOptions{PollInterval: 20 * time.Millisecond})
	store := postgres.New(pool, relay.Notify, ps.clock)
	svc := classify.New(classify.DefaultConfig(), store, classify.Deps{
		Reference: func() *reference.Set { return ref }, Rules: func() *rules.Set { return rs },
		Model: func() classify.Model { return noiseModel{} }, Now: ps.clock,
	})
	ps.stack = &stack{js: js, svc: svc, failOnce: map[string]bool{}, attempts: map[string]int{}}
	ps.places = classify.NewPlaces(store, func() *reference.Set { return ref }, ps.clock)
	runner, err := consumer.New(js, pool, consumer.Config{
		Name: events.ConsumerCases, Subjects: []string{events.SubjectsReceived, events.SubjectsAnswered},
		AckWait: 5 * time.Second, FetchWait: 200 * time.Millisecond, NakDelay: 50 * time.Millisecond, MaxNakDelay: 200 * time.Millisecond,
	}, events.Handler(svc, store.Bind), log)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = relay.Run(ctx) })
	wg.Go(func() { _ = runner.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		nc.Close()
	})
	return ps
}

func as(role auth.Role, subject string) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Role: role, Subject: subject})
}

var admin = as(auth.RoleAdmin, "")

// The demo register: a shop and its building in 芷江西路61弄 (grid
// 310106022002001, worker w-022002001), and an enterprise on 阳曲路 in the
// other street.
const (
	shopKey     = "静安区|芷江西路|61|7|好邻居便利"
	buildingKey = "静安区|芷江西路|61|7|"
	laneKey     = "静安区|芷江西路|61||"
)

func demoRows() []classify.PlaceRow {
	return []classify.PlaceRow{
		{Row: 2, Address: "芷江西路61弄7号", Name: "好邻居便利店", Kind: "shop"},
		{Row: 3, Address: "芷江西路61弄7号", Kind: "residential"},
		{Row: 4, Address: "阳曲路101号", Name: "老王机械厂", Kind: "enterprise"},
	}
}

// upserts reads the place.upserted events on the stream.
func (s *placeStack) upserts(t *testing.T, want int) []*eventsv1.PlaceUpserted {
	t.Helper()
	var out []*eventsv1.PlaceUpserted
	for _, m := range s.read(t, natsjs.StreamGrid, "grid.place.upserted.>", want) {
		var env eventsv1.Envelope
		if err := proto.Unmarshal(m.Data(), &env); err != nil {
			t.Fatal(err)
		}
		if env.GetType() != "place.upserted" || m.Headers().Get("Nats-Msg-Id") != env.GetEventId() {
			t.Fatalf("envelope %s on %s", env.GetType(), m.Subject())
		}
		p := env.GetPlaceUpserted()
		if m.Subject() != "grid.place.upserted."+p.GetDistrict()+"."+p.GetStreet() {
			t.Errorf("%s on %s", p.GetPlaceKey(), m.Subject())
		}
		out = append(out, p)
	}
	return out
}

func TestPlaceImportIsIdempotent(t *testing.T) {
	s := startPlaces(t)
	res, err := s.places.ImportPlaces(admin, "imp-1", demoRows())
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 3 || res.Updated != 0 || res.Unchanged != 0 || res.Refused != 0 {
		t.Fatalf("first import = %+v, want 3 created", res)
	}
	ups := s.upserts(t, 3)
	if len(ups) != 3 {
		t.Fatalf("place.upserted = %d, want 3", len(ups))
	}
	byKey := map[string]*eventsv1.PlaceUpserted{}
	for _, u := range ups {
		byKey[u.GetPlaceKey()] = u
	}
	shop := byKey[shopKey]
	if shop == nil || shop.GetLaneKey() != laneKey || shop.GetKind() != "shop" || shop.GetStatus() != "active" ||
		shop.GetInspectionEveryMonths() != 3 || shop.GetGrid() != "310106022002001" || shop.GetVersion() != 1 {
		t.Errorf("shop's event = %v", shop)
	}
	if e := byKey["静安区|阳曲路||101|老王机械厂"]; e == nil || e.GetInspectionEveryMonths() != 1 || e.GetStreet() != "310106021" ||
		e.GetLaneKey() != "静安区|阳曲路||101|" {
		t.Errorf("enterprise's event = %v", e)
	}
	if b := byKey[buildingKey]; b == nil || b.GetInspectionEveryMonths() != 0 || b.GetLaneKey() != laneKey {
		t.Errorf("building's event = %v", b)
	}

	// The same file again, under a new request id: nothing changes and
	// nothing is published.
	res, err = s.places.ImportPlaces(admin, "imp-2", demoRows())
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 0 || res.Updated != 0 || res.Unchanged != 3 {
		t.Fatalf("second import = %+v, want 3 unchanged", res)
	}
	if got := s.upserts(t, 3); len(got) != 3 {
		t.Fatalf("place.upserted after a re-import = %d, want still 3", len(got))
	}
	// The first request repeated answers its first result.
	res, err = s.places.ImportPlaces(admin, "imp-1", demoRows())
	if err != nil || res.Created != 3 {
		t.Fatalf("repeated request = %+v, %v; want the first answer", res, err)
	}
	// The same id with other content is ALREADY_EXISTS.
	if _, err := s.places.ImportPlaces(admin, "imp-1", demoRows()[:1]); fault.KindOf(err) != fault.AlreadyExists {
		t.Fatalf("request id reused: %v, want ALREADY_EXISTS", err)
	}
	// One row changed: one update, one event, version 2.
	rows := demoRows()
	rows[0].Status, rows[0].InspectEvery = "for_rent", new(int)
	res, err = s.places.ImportPlaces(admin, "imp-3", rows)
	if err != nil || res.Updated != 1 || res.Unchanged != 2 {
		t.Fatalf("changed import = %+v, %v", res, err)
	}
	ups = s.upserts(t, 4)
	last := ups[len(ups)-1]
	if last.GetPlaceKey() != shopKey || last.GetVersion() != 2 || last.GetStatus() != "for_rent" || last.GetInspectionEveryMonths() != 0 {
		t.Errorf("update's event = %v", last)
	}
}

func TestPlaceImportRefusals(t *testing.T) {
	s := startPlaces(t)
	rows := []classify.PlaceRow{
		{Row: 2, Address: "芷江西路61弄7号", Name: "好邻居便利店", Kind: "shop"},
		{Row: 3, Address: "芷江西路61弄8号", Name: "张三 13812345678", Kind: "shop"},
		{Row: 4, Address: "芷江西路61弄9号302室", Kind: "residential"},
		{Row: 5, Address: "芷江西路61弄10号", Kind: "nightclub"},
		{Row: 6, Address: "长乐路340号", Name: "某酒吧", Kind: "bar"},
		{Row: 7, Address: "芷江西路61弄7号", Name: "好邻居便利店", Kind: "shop"},
		{Row: 8, Address: "阳曲路101号", Name: "老王机械厂", Kind: "enterprise"},
		{Row: 9, Address: "芷江西路61弄11号", Name: "身份证310106199001011234", Kind: "shop"},
		{Row: 10, Address: "芷江西路61弄12号", Kind: "shop", Status: "haunted"},
		{Row: 11, Address: "芷江西路", Kind: "shop", Name: "x"},
	}
	// The street's dispatcher: 阳曲路 lies in the other street.
	res, err := s.places.ImportPlaces(as(auth.RoleDispatcher, "310106022"), "imp-r", rows)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{3: "name", 4: "address", 5: "kind", 6: "address", 7: "address", 8: "address", 9: "name", 10: "status", 11: "address"}
	if res.Created != 1 || res.Refused != len(want) {
		t.Fatalf("import = %+v", res)
	}
	for _, r := range res.Refusals {
		if want[r.Row] != r.Field || r.Reason == "" {
			t.Errorf("row %d refused on %q (%s), want field %q", r.Row, r.Field, r.Reason, want[r.Row])
		}
	}
	// A department, the hotline and a secretary may not import at all.
	for _, ctx := range []context.Context{as(auth.RoleDepartment, "310106022-cgzd"), as(auth.RoleHotline, ""),
		as(auth.RoleSecretary, "310106022002")} {
		if _, err := s.places.ImportPlaces(ctx, "imp-x", rows[:1]); fault.KindOf(err) != fault.PermissionDenied {
			t.Errorf("import: %v, want PERMISSION_DENIED", err)
		}
	}
	// A request that is wrong as a whole is INVALID_ARGUMENT naming the field.
	for _, tc := range []struct {
		id    string
		rows  []classify.PlaceRow
		field string
	}{{"imp-e", nil, "rows"}, {"", rows[:1], "request_id"}, {"imp-big", make([]classify.PlaceRow, 501), "rows"}} {
		_, err := s.places.ImportPlaces(admin, tc.id, tc.rows)
		var f *fault.Error
		if !errors.As(err, &f) || f.Kind != fault.InvalidArgument || len(f.Violations) == 0 || f.Violations[0].Field != tc.field {
			t.Errorf("import %q: %v, want INVALID_ARGUMENT on %s", tc.id, err, tc.field)
		}
	}
}

func TestPlaceFindingVersions(t *testing.T) {
	s := startPlaces(t)
	if _, err := s.places.ImportPlaces(admin, "imp-1", demoRows()); err != nil {
		t.Fatal(err)
	}
	worker := as(auth.RolePatrol, "w-022002001") // the grid of 芷江西路61弄7号
	s.advance(time.Hour)
	f := classify.Finding{RequestID: "f-1", Key: shopKey, Status: "for_rent", Note: "门面招租，下家可能开酒吧"}
	p, changed, err := s.places.RecordFinding(worker, f)
	if err != nil {
		t.Fatal(err)
	}
	if !changed || p.Version != 2 || p.Status != "for_rent" || p.Kind != "shop" {
		t.Fatalf("finding = %+v (changed %v)", p, changed)
	}
	// Repeated: the first answer, no third version.
	p2, _, err := s.places.RecordFinding(worker, f)
	if err != nil || p2.Version != 2 {
		t.Fatalf("repeated finding = %+v, %v", p2, err)
	}
	// A new business that may be a bar, by address.
	s.advance(time.Hour)
	p3, changed, err := s.places.RecordFinding(worker, classify.Finding{RequestID: "f-2", Address: "芷江西路61弄7号好邻居便利店",
		Kind: "bar", Status: "under_renovation", Note: "装修中，招牌为酒吧"})
	if err != nil || !changed || p3.Version != 3 || p3.Kind != "bar" || p3.InspectEvery() != 3 {
		t.Fatalf("second finding = %+v, %v, %v", p3, changed, err)
	}
	// Another grid's worker, a secretary and a department may not.
	for _, ctx := range []context.Context{as(auth.RolePatrol, "w-022001001"), as(auth.RoleSecretary, "310106022002"),
		as(auth.RoleDepartment, "310106022-cgzd"), as(auth.RolePatrol, "nobody")} {
		if _, _, err := s.places.RecordFinding(ctx, classify.Finding{RequestID: "f-x", Key: shopKey, Note: "看看"}); fault.KindOf(err) != fault.PermissionDenied {
			t.Errorf("finding: %v, want PERMISSION_DENIED", err)
		}
	}
	// An unknown place: NOT_FOUND for admin, PERMISSION_DENIED for a worker.
	if _, _, err := s.places.RecordFinding(admin, classify.Finding{RequestID: "f-y", Key: "静安区|芷江西路|61|29|", Note: "x"}); fault.KindOf(err) != fault.NotFound {
		t.Errorf("unknown place for admin: %v", err)
	}
	if _, _, err := s.places.RecordFinding(worker, classify.Finding{RequestID: "f-z", Key: shopKey, Note: "店主电话13812345678"}); fault.KindOf(err) != fault.InvalidArgument {
		t.Errorf("a phone number in the note: %v, want INVALID_ARGUMENT", err)
	}
	ups := s.upserts(t, 5)
	if last := ups[len(ups)-1]; last.GetVersion() != 3 || last.GetKind() != "bar" {
		t.Errorf("last place.upserted = %v", last)
	}
	// The history carries every version with its note.
	h, err := s.places.GetPlaceHistory(worker, classify.HistoryRequest{Key: shopKey})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Changes) != 3 || h.Changes[0].Version != 3 || h.Changes[1].Note != "门面招租，下家可能开酒吧" ||
		h.Changes[1].Actor != "patrol:w-022002001" || h.Changes[2].Origin != classify.OriginImport {
		t.Errorf("changes = %+v", h.Changes)
	}
	if h.Place == nil || h.Place.Version != 3 {
		t.Errorf("history's place = %+v", h.Place)
	}
}

// hotlineAt publishes a hotline case at addr received at `at`.
func (s *placeStack) hotlineAt(t *testing.T, addr, content string, at time.Time, private, anonymous bool) string {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	env := &eventsv1.Envelope{
		EventId: "ev-" + id, Type: "case.received", CaseId: id, OccurredAt: timestamppb.New(at), Version: 1,
		Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{
			CaseId: id, CaseNumber: "GF-" + id[:8], Source: typesv1.Source_SOURCE_HOTLINE,
			ReceivedAt: timestamppb.New(at), AcceptedAt: timestamppb.New(at),
			AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT, Content: content, Urgency: typesv1.Urgency_URGENCY_NORMAL,
			Area: &typesv1.Area{DistrictCode: "310106", StreetCode: "310106022", CommunityCode: "310106022002",
				GridCode: "310106022002001"},
			Address: &typesv1.Address{Raw: addr}, PrivateLocation: private,
			Caller: &eventsv1.Caller{Anonymous: anonymous},
		}},
	}
	s.publishEnv(t, env)
	return id
}

func (s *placeStack) waitClassified(t *testing.T, ids ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM cases WHERE case_id = ANY($1)`, ids).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == len(ids) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d cases classified", n, len(ids))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func caseIDs(h *classify.History) []string {
	var out []string
	for _, c := range h.Cases {
		out = append(out, c.CaseID)
	}
	return out
}

func TestPlaceHistory(t *testing.T) {
	s := startPlaces(t)
	if _, err := s.places.ImportPlaces(admin, "imp-1", demoRows()); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC)
	a := s.hotlineAt(t, "芷江西路61弄7号好邻居便利店门口", "便利店门口堆物占道", t0, false, false)
	b := s.hotlineAt(t, "芷江西路61弄7号好邻居便利店", "便利店夜里卸货噪声扰民", t0.Add(time.Hour), false, false)
	// At home, in a flat of the building: private, so at the lane only.
	c := s.hotlineAt(t, "芷江西路61弄7号302室", "楼上漏水", t0.Add(2*time.Hour), true, false)
	// Elsewhere in the lane and outside it.
	d := s.hotlineAt(t, "芷江西路61弄8号", "楼道堆物", t0.Add(3*time.Hour), false, false)
	e := s.hotlineAt(t, "芷江西路101号", "路灯不亮", t0.Add(4*time.Hour), false, false)
	s.waitClassified(t, a, b, c, d, e)

	dispatcher := as(auth.RoleDispatcher, "310106022")
	check := func(name string, ctx context.Context, hr classify.HistoryRequest, want ...string) *classify.History {
		t.Helper()
		h, err := s.places.GetPlaceHistory(ctx, hr)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := caseIDs(h); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: cases %v, want %v (newest first)", name, got, want)
		}
		return h
	}
	// The shop: its two cases. The address: the shop's too (shops are in
	// their building), never the private one. The lane: all four.
	h := check("shop", dispatcher, classify.HistoryRequest{Key: shopKey}, b, a)
	if h.Key != shopKey || h.Level != classify.LevelShop || h.Place == nil || h.Place.Kind != "shop" {
		t.Errorf("shop history = %+v", h)
	}
	check("address", dispatcher, classify.HistoryRequest{Address: "芷江西路61弄7号"}, b, a)
	h = check("lane", dispatcher, classify.HistoryRequest{Key: shopKey, Lane: true}, d, c, b, a)
	if h.Key != laneKey || h.Level != classify.LevelLane {
		t.Errorf("lane history key %q level %v", h.Key, h.Level)
	}
	for _, hc := range h.Cases {
		if (hc.CaseID == c) != hc.Place.Private || (hc.CaseID == c && hc.Place.Key != laneKey) {
			t.Errorf("case %s at %+v", hc.CaseID, hc.Place)
		}
	}
	if len(h.Changes) != 2 { // the shop and the building were imported
		t.Errorf("lane changes = %+v", h.Changes)
	}
	// An incident: b and a are at one place but of different subjects; the
	// noise case's incident is listed.
	if len(h.Incidents) == 0 {
		t.Errorf("lane incidents = %+v", h.Incidents)
	}
	// By case: a's place is the shop; the private case's is its lane.
	check("by case", dispatcher, classify.HistoryRequest{CaseID: a}, b, a)
	if h := check("by private case", dispatcher, classify.HistoryRequest{CaseID: c}, d, c, b, a); h.Key != laneKey {
		t.Errorf("private case's history key %q", h.Key)
	}
	if _, err := s.places.GetPlaceHistory(as(auth.RoleDispatcher, "310106021"), classify.HistoryRequest{CaseID: a}); fault.KindOf(err) != fault.PermissionDenied {
		t.Errorf("another street's case: %v", err)
	}
	// A time range: [t0+30m, t0+2h30m).
	check("range", dispatcher, classify.HistoryRequest{Key: shopKey, Lane: true, From: t0.Add(30 * time.Minute), To: t0.Add(150 * time.Minute)}, c, b)
	// Pages of one.
	var seen []string
	tok := ""
	for i := 0; i < 5; i++ {
		h, err := s.places.GetPlaceHistory(dispatcher, classify.HistoryRequest{Key: laneKey, PageSize: 1, PageToken: tok, Lane: true})
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, caseIDs(h)...)
		if i > 0 && (len(h.Changes) != 0 || len(h.Incidents) != 0) {
			t.Errorf("page %d carries the first page's extras", i)
		}
		if tok = h.Next; tok == "" {
			break
		}
	}
	if fmt.Sprint(seen) != fmt.Sprint([]string{d, c, b, a}) {
		t.Errorf("paged = %v", seen)
	}

	// Scopes: the grid's worker, the community's secretary and the
	// district see it; another street's dispatcher, another grid's worker
	// and a department do not; nor does the hotline.
	check("worker", as(auth.RolePatrol, "w-022002001"), classify.HistoryRequest{Key: shopKey}, b, a)
	check("secretary", as(auth.RoleSecretary, "310106022002"), classify.HistoryRequest{Key: buildingKey}, b, a)
	check("district", as(auth.RoleDistrict, "310106"), classify.HistoryRequest{Key: shopKey}, b, a)
	for name, ctx := range map[string]context.Context{
		"other street": as(auth.RoleDispatcher, "310106021"), "other grid": as(auth.RolePatrol, "w-022001001"),
		"other community": as(auth.RoleSecretary, "310106022001"), "department": as(auth.RoleDepartment, "310106022-cgzd"),
		"hotline": as(auth.RoleHotline, ""),
	} {
		if _, err := s.places.GetPlaceHistory(ctx, classify.HistoryRequest{Key: shopKey}); fault.KindOf(err) != fault.PermissionDenied {
			t.Errorf("%s: %v, want PERMISSION_DENIED", name, err)
		}
	}
	// Bad input names its field.
	for _, hr := range []classify.HistoryRequest{{}, {Key: "nonsense"}, {Key: shopKey, PageSize: -1},
		{Key: shopKey, PageToken: "x"}, {Key: shopKey, From: t0, To: t0}} {
		if _, err := s.places.GetPlaceHistory(admin, hr); fault.KindOf(err) != fault.InvalidArgument {
			t.Errorf("%+v: %v, want INVALID_ARGUMENT", hr, err)
		}
	}
	// ListPlaces, by kind and grid, within reach.
	ps, _, err := s.places.ListPlaces(as(auth.RolePatrol, "w-022002001"), classify.PlaceFilter{})
	if err != nil || len(ps) != 2 {
		t.Errorf("worker's places = %d, %v; want the shop and the building", len(ps), err)
	}
	ps, _, err = s.places.ListPlaces(admin, classify.PlaceFilter{Kind: "enterprise"})
	if err != nil || len(ps) != 1 || ps[0].Area.Street != "310106021" {
		t.Errorf("enterprises = %+v, %v", ps, err)
	}
	if _, _, err := s.places.ListPlaces(dispatcher, classify.PlaceFilter{Grid: "310106021003001"}); fault.KindOf(err) != fault.PermissionDenied {
		t.Errorf("another street's grid: %v", err)
	}
	if _, err := s.places.GetPlace(as(auth.RoleDispatcher, "310106021"), shopKey, ""); fault.KindOf(err) != fault.PermissionDenied {
		t.Errorf("GetPlace outside the street: %v", err)
	}
}
