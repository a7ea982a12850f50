package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
	"github.com/gridflow/gridflow/services/console/internal/accounts"
	"github.com/gridflow/gridflow/services/console/internal/live"
	"github.com/gridflow/gridflow/services/console/internal/postgres"
	"github.com/gridflow/gridflow/services/console/internal/web"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// sseEvent is one server-sent event as a browser's EventSource sees it.
type sseEvent struct {
	name, data string
	at         time.Time
}

// openStream opens path as the session and delivers its events.
func openStream(t *testing.T, ctx context.Context, url, session string) <-chan sseEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: session})
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("open %s: %v %v", url, err, resp)
	}
	out := make(chan sseEvent, 64)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		ev := sseEvent{name: "message"}
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if len(data) > 0 {
					ev.data, ev.at = strings.Join(data, "\n"), time.Now()
					out <- ev
				}
				ev, data = sseEvent{name: "message"}, nil
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			}
		}
	}()
	return out
}

// TestWallMarkersFollowTheLiveFeed is the wall's live map (issue 18): a
// wall screen on /live/events?view=wall is sent, within a second of each
// event on the real JetStream, the marker of an open case its scope may see
// — appearing when the case is dispatched, near its grid's centre, green;
// moving to the place case.received reported; turning red when its
// deadline passes; gone when it is resolved — while another street's wall
// gets nothing of it and the live queue's screen still gets rows, never
// markers.
func TestWallMarkersFollowTheLiveFeed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	pool := testenv.Pool(t, postgres.Schema, 4, postgres.Migrations...)
	acc, err := accounts.NewService(postgres.New(pool), accounts.Policy{MaxFailures: 5, LockoutDuration: time.Minute,
		SessionIdle: time.Hour, SessionMax: time.Hour, Hashing: accounts.Params{Time: 1, MemKiB: 1024, Threads: 1}}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := reference.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	refOf := func() *reference.Set { return ref }
	_, js := testenv.JetStream(t)
	hub := live.NewHub(web.RenderRow, log, live.Options{})
	hub.SetMarkerRenderer(web.MarkerRenderer(refOf))
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx, js) }()
	srv := httptest.NewServer(web.New(acc, nil, nil, nil, log, web.Options{Live: web.LiveOptions{Hub: hub},
		Boards: web.Boards{Reference: refOf}}))
	// The streams end with ctx; only then can the server close.
	defer func() { cancel(); <-done; srv.Close() }()

	session := func(id, principal string) string {
		t.Helper()
		if _, err := acc.Add(ctx, accounts.NewAccount{PersonID: id, Name: "值班", Principal: principal, Password: "wall-password-1"}, "admin"); err != nil {
			t.Fatal(err)
		}
		s, err := acc.SignIn(ctx, id, "wall-password-1")
		if err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	zj, lf := session("zj-wall", "dispatcher:310106022"), session("lf-wall", "dispatcher:310106021")
	zjWall := openStream(t, ctx, srv.URL+"/live/events?view=wall", zj)
	lfWall := openStream(t, ctx, srv.URL+"/live/events?view=wall", lf)
	zjRows := openStream(t, ctx, srv.URL+"/live/events", zj)
	for hub.Screens() < 3 {
		time.Sleep(10 * time.Millisecond)
	}
	for { // the hub's consumer exists before the first event (new ones only)
		if st, err := js.Stream(ctx, "GRID"); err == nil {
			if info, err := st.Info(ctx); err == nil && info.State.Consumers > 0 {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code := func() int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/live/events?view=map", nil)
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: zj})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}(); code != http.StatusBadRequest {
		t.Errorf("view=map: %d, want 400", code)
	}

	const id, grid = "c-wall-1", "310106022001001"
	publish := func(subject string, env *eventsv1.Envelope) time.Time {
		t.Helper()
		env.EventId, env.CaseId, env.OccurredAt = subject+env.GetType(), id, timestamppb.Now()
		data, _ := proto.Marshal(env)
		at := time.Now()
		if _, err := js.Publish(ctx, subject, data, jetstream.WithMsgID(subject+at.String())); err != nil {
			t.Fatal(err)
		}
		return at
	}
	next := func(ch <-chan sseEvent, what string, sent time.Time) sseEvent {
		t.Helper()
		select {
		case ev := <-ch:
			if d := ev.at.Sub(sent); d > time.Second {
				t.Errorf("%s: %s after the event, want within a second", what, d)
			}
			return ev
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: nothing within 5 s", what)
		}
		return sseEvent{}
	}
	marker := func(ev sseEvent, what string) web.WallCase {
		t.Helper()
		var c web.WallCase
		if ev.name != "marker" {
			t.Fatalf("%s: event %q (%s), want a marker", what, ev.name, ev.data)
		}
		if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
			t.Fatalf("%s: %v in %s", what, err, ev.data)
		}
		return c
	}

	// Received: not open yet, so the wall takes nothing off (it has
	// nothing) — a removal — while the live queue gets the row.
	received := &eventsv1.CaseReceived{CaseId: id, CaseNumber: "GF-20261204-000777", Source: typesv1.Source_SOURCE_HOTLINE,
		Title: `<script>alert(1)</script>噪声`, ReceivedAt: timestamppb.Now(),
		Area: &typesv1.Area{DistrictCode: "310106", StreetCode: "310106022", GridCode: grid}}
	sent := publish("grid.case.received.310106.310106022", &eventsv1.Envelope{Type: "case.received",
		Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: received}})
	if ev := next(zjWall, "received, on the wall", sent); ev.name != "remove" || ev.data != "case-"+id {
		t.Errorf("a received case on the wall: %q %q, want its removal (no marker before dispatch)", ev.name, ev.data)
	}
	if ev := next(zjRows, "received, on the live queue", sent); ev.name != "row" || !strings.Contains(ev.data, `data-case="`+id+`"`) {
		t.Errorf("the live queue got %q %q, want the row", ev.name, ev.data)
	}

	// Dispatched with a clock of ten hours, one gone: a green marker near
	// the grid's centre, and no row-shaped HTML on the wall.
	task := func(due time.Time, state eventsv1.TaskState) *eventsv1.TaskRef {
		return &eventsv1.TaskRef{TaskId: "t-wall-1", CaseId: id, DepartmentCode: "310106022-cgzd", Role: eventsv1.TaskRole_TASK_ROLE_LEAD,
			State: state, DistrictCode: "310106", StreetCode: "310106022",
			Deadlines: &eventsv1.Deadlines{StartedAt: timestamppb.New(due.Add(-10 * time.Hour)), Complete: &eventsv1.Deadline{Due: timestamppb.New(due)}}}
	}
	due := time.Now().Add(9 * time.Hour)
	sent = publish("grid.task.dispatched.310106022-cgzd.310106.310106022", &eventsv1.Envelope{Type: "task.dispatched",
		Payload: &eventsv1.Envelope_TaskDispatched{TaskDispatched: &eventsv1.TaskDispatched{Task: task(due, eventsv1.TaskState_TASK_STATE_DISPATCHED)}}})
	ev := next(zjWall, "dispatched, on the wall", sent)
	m := marker(ev, "dispatched")
	g, _ := ref.Grid(grid)
	inBox := func(c web.WallCase) bool {
		var minLat, maxLat, minLng, maxLng = 90.0, -90.0, 180.0, -180.0
		for _, p := range g.Polygon {
			minLat, maxLat, minLng, maxLng = min(minLat, p.Lat), max(maxLat, p.Lat), min(minLng, p.Lng), max(maxLng, p.Lng)
		}
		return c.Lat > minLat && c.Lat < maxLat && c.Lng > minLng && c.Lng < maxLng
	}
	if m.ID != id || m.Number != "GF-20261204-000777" || m.Light != "green" || m.Grid != grid || m.GridName != g.Name || !inBox(m) {
		t.Errorf("the dispatched case's marker: %+v, want green, numbered, within grid %s (%s)", m, grid, g.Name)
	}
	if strings.Contains(ev.data, "<") || strings.Contains(ev.data, "script") {
		t.Errorf("the marker carries citizen text or markup: %s", ev.data)
	}
	if ev := next(zjRows, "dispatched, on the live queue", sent); ev.name != "row" {
		t.Errorf("the live queue got %q, want a row", ev.name)
	}

	// Its deadline moved into the past: the same marker, red.
	sent = publish("grid.task.deadline_changed.310106022-cgzd.310106.310106022", &eventsv1.Envelope{Type: "task.deadline_changed",
		Payload: &eventsv1.Envelope_TaskDeadlineChanged{TaskDeadlineChanged: &eventsv1.TaskDeadlineChanged{
			Task: task(time.Now().Add(-time.Minute), eventsv1.TaskState_TASK_STATE_DISPATCHED)}}})
	if m2 := marker(next(zjWall, "overdue, on the wall", sent), "overdue"); m2.Light != "red" || m2.Lat != m.Lat || m2.Lng != m.Lng {
		t.Errorf("after its deadline passed: %+v, want the same place, red", m2)
	}
	next(zjRows, "overdue, on the live queue", sent)

	// A later page load (or the wall's /wall/data) cannot un-know the
	// reported place; a second case reported with a location stands there.
	const id2 = "c-wall-2"
	located := proto.Clone(received).(*eventsv1.CaseReceived)
	located.CaseId, located.CaseNumber = id2, "GF-20261204-000778"
	located.Location = &typesv1.LatLng{Lat: 31.2701, Lng: 121.4502, Datum: typesv1.Datum_DATUM_WGS84}
	env := &eventsv1.Envelope{Type: "case.received", Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: located}}
	env.EventId, env.CaseId, env.OccurredAt = "r2", id2, timestamppb.Now()
	data, _ := proto.Marshal(env)
	if _, err := js.Publish(ctx, "grid.case.received.310106.310106022", data, jetstream.WithMsgID("r2")); err != nil {
		t.Fatal(err)
	}
	next(zjWall, "the second case received, on the wall", time.Now())
	next(zjRows, "the second case received, on the live queue", time.Now())
	t2 := task(due, eventsv1.TaskState_TASK_STATE_DISPATCHED)
	t2.TaskId, t2.CaseId = "t-wall-2", id2
	env = &eventsv1.Envelope{Type: "task.dispatched", Payload: &eventsv1.Envelope_TaskDispatched{TaskDispatched: &eventsv1.TaskDispatched{Task: t2}}}
	env.EventId, env.CaseId, env.OccurredAt = "d2", id2, timestamppb.Now()
	data, _ = proto.Marshal(env)
	sent = time.Now()
	if _, err := js.Publish(ctx, "grid.task.dispatched.310106022-cgzd.310106.310106022", data, jetstream.WithMsgID("d2")); err != nil {
		t.Fatal(err)
	}
	if m3 := marker(next(zjWall, "a located case", sent), "located"); m3.ID != id2 || m3.Lat != 31.2701 || m3.Lng != 121.4502 {
		t.Errorf("a case reported at a place: %+v, want its marker there", m3)
	}
	next(zjRows, "the second case dispatched, on the live queue", sent)

	// Resolved: off the map.
	sent = publish("grid.case.resolved.310106.310106022", &eventsv1.Envelope{Type: "case.resolved",
		Payload: &eventsv1.Envelope_CaseResolved{CaseResolved: &eventsv1.CaseResolved{}}})
	if ev := next(zjWall, "resolved, on the wall", sent); ev.name != "remove" || ev.data != "case-"+id {
		t.Errorf("a resolved case on the wall: %q %q, want its removal", ev.name, ev.data)
	}

	// The other street's wall saw none of it.
	select {
	case ev := <-lfWall:
		t.Errorf("another street's wall got %q %s", ev.name, ev.data)
	case <-time.After(300 * time.Millisecond):
	}
	if hub.Renders() == 0 {
		t.Errorf("no renderings counted")
	}
}
