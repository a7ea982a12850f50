package live_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/testenv"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
	"github.com/gridflow/gridflow/services/console/internal/live"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const (
	district = "310106"
	zhijiang = "310106022"
	linfen   = "310106021"
	cgzd     = "310106022-cgzd"
)

// renderer renders a row as "<scope>|<case number>|<state>" and counts
// the calls per scope.
type renderer struct {
	mu    sync.Mutex
	calls map[policy.Scope]int
}

func (r *renderer) render(s policy.Scope, row *live.Row) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[s]++
	return fmt.Appendf(nil, "%s|%s|%s", s, row.CaseNumber, row.State), nil
}

func (r *renderer) count() map[policy.Scope]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[policy.Scope]int{}
	for k, v := range r.calls {
		out[k] = v
	}
	return out
}

func received(caseID, number, street string, src typesv1.Source) (string, *eventsv1.Envelope) {
	return "grid.case.received." + district + "." + street, &eventsv1.Envelope{EventId: "ev-" + caseID, Type: "case.received", CaseId: caseID,
		OccurredAt: timestamppb.Now(), Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{
			CaseId: caseID, CaseNumber: number, Source: src, Title: "夜间烧烤", ReceivedAt: timestamppb.Now(),
			Area: &typesv1.Area{DistrictCode: district, StreetCode: street, CommunityCode: street + "001", GridCode: street + "001001"}}}}
}

func dispatched(caseID, number, street, dept string) (string, *eventsv1.Envelope) {
	now := time.Now()
	return "grid.task.dispatched." + dept + "." + district + "." + street, &eventsv1.Envelope{EventId: "ev-d-" + caseID, Type: "task.dispatched",
		CaseId: caseID, OccurredAt: timestamppb.Now(), Payload: &eventsv1.Envelope_TaskDispatched{TaskDispatched: &eventsv1.TaskDispatched{
			Task: &eventsv1.TaskRef{TaskId: "t-" + caseID, CaseId: caseID, CaseNumber: number, DepartmentCode: dept,
				Role: eventsv1.TaskRole_TASK_ROLE_LEAD, State: eventsv1.TaskState_TASK_STATE_DISPATCHED, DistrictCode: district, StreetCode: street,
				Deadlines: &eventsv1.Deadlines{StartedAt: timestamppb.New(now.Add(-time.Hour)),
					Complete: &eventsv1.Deadline{Due: timestamppb.New(now.Add(3 * time.Hour))}}},
			Summary: &eventsv1.CaseSummary{CaseNumber: number, ItemCode: "06022", ItemName: "露天烧烤"}}}}
}

func publish(t *testing.T, js jetstream.JetStream, subject string, env *eventsv1.Envelope) {
	t.Helper()
	b, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(context.Background(), subject, b, jetstream.WithMsgID(env.GetEventId())); err != nil {
		t.Fatal(err)
	}
}

// next waits for a screen's next message.
func next(t *testing.T, s *live.Screen, what string) live.Message {
	t.Helper()
	select {
	case m, ok := <-s.C:
		if !ok {
			t.Fatalf("%s: screen closed", what)
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: nothing arrived", what)
	}
	return live.Message{}
}

func none(t *testing.T, s *live.Screen, what string) {
	t.Helper()
	select {
	case m := <-s.C:
		t.Errorf("%s: got %q, want nothing", what, m.HTML)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestHubSendsEachScopeWhatItMaySee runs the hub on a real JetStream: one
// ordered consumer on grid.>, events published as the relays publish them
// (a duplicate publish dropped by the stream), and screens of several
// scopes. Each screen gets the rows its scope covers — and nothing else —
// rendered once per scope however many screens share it; a street filter
// narrows a district screen; a state filter takes a row off when the case
// leaves the state.
func TestHubSendsEachScopeWhatItMaySee(t *testing.T) {
	t.Parallel()
	_, js := testenv.JetStream(t)
	r := &renderer{calls: map[policy.Scope]int{}}
	hub := live.NewHub(r.render, slog.New(slog.DiscardHandler), live.Options{})

	zjScope := policy.Scope{Kind: policy.Street, Code: zhijiang}
	zj1, zj2 := hub.Open(zjScope, live.ScreenFilter{}), hub.Open(zjScope, live.ScreenFilter{})
	lf := hub.Open(policy.Scope{Kind: policy.Street, Code: linfen}, live.ScreenFilter{})
	dist := hub.Open(policy.Scope{Kind: policy.District, Code: district}, live.ScreenFilter{Street: linfen})
	hot := hub.Open(policy.Scope{Kind: policy.Hotline}, live.ScreenFilter{})
	dept := hub.Open(policy.Scope{Kind: policy.Department, Code: cgzd}, live.ScreenFilter{})
	other := hub.Open(policy.Scope{Kind: policy.Department, Code: "310106022-fgs"}, live.ScreenFilter{})
	onlyReceived := hub.Open(zjScope, live.ScreenFilter{States: []feedbackv1.CaseState{feedbackv1.CaseState_CASE_STATE_RECEIVED}})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx, js) }()
	t.Cleanup(func() { cancel(); <-done })
	// The consumer delivers new messages only: wait until it exists.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st, err := js.Stream(context.Background(), "GRID")
		if err == nil {
			if info, err := st.Info(context.Background()); err == nil && info.State.Consumers > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the hub's consumer never appeared")
		}
	}

	subj, env := received("c1", "GF-20261203-000001", zhijiang, typesv1.Source_SOURCE_HOTLINE)
	publish(t, js, subj, env)
	publish(t, js, subj, env) // the relay's retry: the stream drops it
	for _, s := range []*live.Screen{zj1, zj2, onlyReceived} {
		if m := next(t, s, "zhijiang screen"); string(m.HTML) != "street 310106022|GF-20261203-000001|CASE_STATE_RECEIVED" || m.CaseID != "c1" {
			t.Errorf("zhijiang screen got %q", m.HTML)
		}
	}
	if m := next(t, hot, "hotline screen"); string(m.HTML) != "hotline cases|GF-20261203-000001|CASE_STATE_RECEIVED" {
		t.Errorf("hotline screen got %q", m.HTML)
	}
	none(t, lf, "linfen's screen, a zhijiang case")
	none(t, dist, "the district screen filtered to linfen, a zhijiang case")
	none(t, dept, "a department with no task on the case")

	// Dispatched to the squad: its screen gets the task; another unit not.
	subj, env = dispatched("c1", "GF-20261203-000001", zhijiang, cgzd)
	publish(t, js, subj, env)
	if m := next(t, dept, "the squad's screen"); string(m.HTML) != "department 310106022-cgzd|GF-20261203-000001|CASE_STATE_DISPATCHED" {
		t.Errorf("the squad's screen got %q", m.HTML)
	}
	if m := next(t, zj1, "zhijiang screen"); string(m.HTML) != "street 310106022|GF-20261203-000001|CASE_STATE_DISPATCHED" {
		t.Errorf("zhijiang screen got %q", m.HTML)
	}
	next(t, zj2, "second zhijiang screen")
	if m := next(t, onlyReceived, "the screen of received cases"); !m.Remove || m.CaseID != "c1" {
		t.Errorf("the screen of received cases got %+v, want the row removed", m)
	}
	none(t, other, "another unit's screen")
	next(t, hot, "hotline screen")

	// A patrol case in linfen: linfen and the district see it, the
	// hotline does not.
	subj, env = received("c2", "GF-20261203-000002", linfen, typesv1.Source_SOURCE_PATROL)
	publish(t, js, subj, env)
	next(t, lf, "linfen's screen")
	next(t, dist, "the district screen")
	none(t, hot, "the hotline, a patrol case")
	none(t, zj1, "zhijiang, a linfen case")

	// Rendered once per scope that may see each event and has a screen
	// showing it, never per screen: two zhijiang screens, one rendering
	// each; the district screen filtered to linfen only for linfen's case.
	want := map[policy.Scope]int{
		zjScope: 2, {Kind: policy.Hotline}: 2, {Kind: policy.Department, Code: cgzd}: 1,
		{Kind: policy.Street, Code: linfen}: 1, {Kind: policy.District, Code: district}: 1,
	}
	if diff := cmp.Diff(want, r.count()); diff != "" {
		t.Errorf("renders per scope mismatch (-want +got):\n%s", diff)
	}
}

// TestScreenFallingBehindIsClosed: a screen whose buffer is full is closed
// (its browser reconnects and reloads) and the others go on.
func TestScreenFallingBehindIsClosed(t *testing.T) {
	t.Parallel()
	hub := live.NewHub(func(policy.Scope, *live.Row) ([]byte, error) { return []byte("row"), nil },
		slog.New(slog.DiscardHandler), live.Options{Buffer: 2})
	scope := policy.Scope{Kind: policy.All}
	slow, fast := hub.Open(scope, live.ScreenFilter{}), hub.Open(scope, live.ScreenFilter{})
	var got int
	for i := range 3 {
		subj, env := received(fmt.Sprint("c", i), fmt.Sprint("GF-20261203-00000", i), zhijiang, typesv1.Source_SOURCE_HOTLINE)
		hub.Apply(subj, uint64(i+1), env)
		<-fast.C
		got++
	}
	if got != 3 || hub.Dropped() != 1 || hub.Screens() != 1 {
		t.Fatalf("fast got %d, dropped %d, open %d; want 3, 1, 1", got, hub.Dropped(), hub.Screens())
	}
	n := 0
	for range slow.C {
		n++
	}
	if n != 2 {
		t.Errorf("the slow screen held %d rows before it was closed, want its buffer's 2", n)
	}
}

func TestLights(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	due := start.Add(10 * time.Hour)
	for _, c := range []struct {
		at   time.Duration
		want live.Light
	}{{0, live.Green}, {7*time.Hour + 59*time.Minute, live.Green}, {8 * time.Hour, live.Yellow}, {10 * time.Hour, live.Yellow},
		{10*time.Hour + time.Second, live.Red}} {
		if got := live.LightAt(start, due, start.Add(c.at)); got != c.want {
			t.Errorf("at %s of 10h: %s, want %s", c.at, got, c.want)
		}
	}
	if got := live.LightAt(time.Time{}, due, start); got != live.NoLight {
		t.Errorf("no start: %s", got)
	}
}

func TestScreenFilter(t *testing.T) {
	t.Parallel()
	row := &live.Row{Area: live.Area{District: district, Street: zhijiang, Community: "310106022001", Grid: "310106022001002"},
		ItemCode: "06022", Source: typesv1.Source_SOURCE_HOTLINE, State: feedbackv1.CaseState_CASE_STATE_DISPATCHED,
		Tasks: []live.Task{{ID: "t", Department: cgzd}}}
	for _, c := range []struct {
		f    live.ScreenFilter
		want bool
	}{
		{live.ScreenFilter{}, true},
		{live.ScreenFilter{Street: zhijiang}, true}, {live.ScreenFilter{Street: linfen}, false},
		{live.ScreenFilter{Community: "310106022001"}, true}, {live.ScreenFilter{Community: "310106022002"}, false},
		{live.ScreenFilter{Grid: "310106022001002"}, true}, {live.ScreenFilter{Grid: "310106022001001"}, false},
		{live.ScreenFilter{Department: cgzd}, true}, {live.ScreenFilter{Department: "x"}, false},
		{live.ScreenFilter{Item: "06022"}, true}, {live.ScreenFilter{Item: "06"}, true}, {live.ScreenFilter{Item: "07"}, false},
		{live.ScreenFilter{Source: typesv1.Source_SOURCE_PATROL}, false},
		{live.ScreenFilter{States: []feedbackv1.CaseState{feedbackv1.CaseState_CASE_STATE_CLOSED}}, false},
	} {
		if got := c.f.Match(row); got != c.want {
			t.Errorf("%+v: %v, want %v", c.f, got, c.want)
		}
	}
}
