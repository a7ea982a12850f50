package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/feedback/internal/postgres"
	"github.com/gridflow/gridflow/services/feedback/internal/warning"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// Early warning (issue 20): the evaluator against real PostgreSQL.

// testRules: hourly windows, two baseline windows, four cases at a place
// twice the baseline; a dismissed warning returns at 1.5 times its rise.
func testRules(t *testing.T) *warning.Rules {
	t.Helper()
	rs, err := warning.Parse("test", []byte(`
default: {min_count: 4, rise: 2, window: 1h, baseline_windows: 2, further_step: 1.5}
`))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

type warnEnv struct {
	t    *testing.T
	pool *pgxpool.Pool
	svc  *warning.Service
	now  time.Time
}

func newWarnEnv(t *testing.T) *warnEnv {
	t.Helper()
	pool := testenv.Pool(t, postgres.Schema, 8, postgres.Migrations...)
	rules := testRules(t)
	// 10:20 in Shanghai: the window is 10:00–11:00, its baseline 08:00–10:00.
	e := &warnEnv{t: t, pool: pool, now: time.Date(2026, 3, 2, 2, 20, 0, 0, time.UTC)}
	e.svc = warning.NewService(postgres.New(pool, nil).Warnings(), func() *warning.Rules { return rules }, func() time.Time { return e.now })
	return e
}

// cases stores n cases' figure rows at a place, of an item, received at.
func (e *warnEnv) cases(n int, street, place, item string, at time.Time) {
	e.t.Helper()
	for range n {
		if _, err := e.pool.Exec(context.Background(), `INSERT INTO figure_cases (case_id, received_at, district_code, street_code,
			community_code, grid_code, source, place, item_code, item_name, lead_department, excluded, closed, reworked,
			cb_valid, cb_unreached, cb_contacted, cb_solved, cb_satisfied, cb_basic)
			VALUES ($1, $2, left($3, 6), $3, $3 || '001', $3 || '001001', 'hotline', $4, $5, 'name of ' || $5, '', false, false, false, 0, 0, 0, 0, 0, 0)`,
			uuid.NewString(), at, street, place, item); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *warnEnv) evaluate() []warning.Warning {
	e.t.Helper()
	ws, ran, err := e.svc.Evaluate(context.Background())
	if err != nil || !ran {
		e.t.Fatalf("evaluate: ran %v, %v", ran, err)
	}
	return ws
}

// published lists the warning events in the outbox, oldest first.
func (e *warnEnv) published() []*eventsv1.Envelope {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT subject, data FROM outbox WHERE subject LIKE 'grid.warning.%' ORDER BY id`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []*eventsv1.Envelope
	for rows.Next() {
		var subject string
		var data []byte
		if err := rows.Scan(&subject, &data); err != nil {
			e.t.Fatal(err)
		}
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(data, env); err != nil {
			e.t.Fatal(err)
		}
		if want := fmt.Sprintf("grid.%s.310106.310106022", env.GetType()); subject != want {
			e.t.Errorf("subject %s, want %s", subject, want)
		}
		out = append(out, env)
	}
	return out
}

var streetDispatcher = auth.Principal{Role: auth.RoleDispatcher, Subject: street}

func TestWarningRaisedDismissedAndBack(t *testing.T) {
	t.Parallel()
	e := newWarnEnv(t)
	const place = "静安区|警示路|1号"
	// Baseline: two cases in each of the two windows before (mean 2).
	e.cases(2, street, place, "01001", e.now.Add(-50*time.Minute))
	e.cases(2, street, place, "01001", e.now.Add(-90*time.Minute))
	// Three now: below min_count.
	e.cases(3, street, place, "01001", e.now.Add(-10*time.Minute))
	if ws := e.evaluate(); len(ws) != 0 {
		t.Fatalf("raised below the rule: %+v", ws)
	}
	// Four now: rise 2 against a mean of 2 — raised, once.
	e.cases(1, street, place, "01001", e.now.Add(-5*time.Minute))
	ws := e.evaluate()
	if len(ws) != 1 || ws[0].Key.Kind != warning.Place || ws[0].Key.Key != place || ws[0].Count != 4 || ws[0].Baseline != 2 ||
		ws[0].Rise != 2 || len(ws[0].CaseIDs) != 4 || ws[0].Level != 1 {
		t.Fatalf("raised %+v", ws)
	}
	// The subject's cases all lie at the one place: no second warning.
	if again := e.evaluate(); len(again) != 0 {
		t.Fatalf("raised again: %+v", again)
	}
	id := ws[0].ID
	sc := policy.ScopeOf(streetDispatcher)
	if _, err := e.svc.Dismiss(context.Background(), streetDispatcher, sc, "r1", id, ""); fault.KindOf(err) != fault.InvalidArgument {
		t.Fatalf("dismissed without a note: %v", err)
	}
	w, err := e.svc.Dismiss(context.Background(), streetDispatcher, sc, "r1", id, "a market day")
	if err != nil || w.State != warning.Dismissed || w.DismissedRise != 2 || w.ActedBy != streetDispatcher.Actor() {
		t.Fatalf("dismiss: %+v, %v", w, err)
	}
	// The same request again answers as the first time; another is refused.
	if w, err := e.svc.Dismiss(context.Background(), streetDispatcher, sc, "r1", id, "a market day"); err != nil || w.State != warning.Dismissed {
		t.Fatalf("repeat: %+v, %v", w, err)
	}
	if _, err := e.svc.Acknowledge(context.Background(), streetDispatcher, sc, "r2", id, ""); fault.KindOf(err) != fault.FailedPrecondition {
		t.Fatalf("acknowledged a dismissed warning: %v", err)
	}
	// Five: rise 2.5, below 2 × 1.5 — stays dismissed.
	e.cases(1, street, place, "01001", e.now.Add(-4*time.Minute))
	if ws := e.evaluate(); len(ws) != 0 {
		t.Fatalf("dismissed warning back at the same level: %+v", ws)
	}
	// Six: rise 3 — back, a level up.
	e.cases(1, street, place, "01001", e.now.Add(-3*time.Minute))
	ws = e.evaluate()
	if len(ws) != 1 || ws[0].ID != id || ws[0].Level != 2 || ws[0].State != warning.Raised || ws[0].Rise != 3 {
		t.Fatalf("returned %+v", ws)
	}
	// Acknowledged: not raised again in the window, however it grows.
	if _, err := e.svc.Acknowledge(context.Background(), streetDispatcher, sc, "r3", id, "patrol sent"); err != nil {
		t.Fatal(err)
	}
	e.cases(10, street, place, "01001", e.now.Add(-2*time.Minute))
	if ws := e.evaluate(); len(ws) != 0 {
		t.Fatalf("acknowledged warning raised again: %+v", ws)
	}
	// The next window is a new warning.
	e.now = e.now.Add(time.Hour)
	e.cases(25, street, place, "01001", e.now.Add(-time.Minute))
	if ws := e.evaluate(); len(ws) != 1 || ws[0].ID == id || ws[0].Level != 1 {
		t.Fatalf("next window: %+v", ws)
	}
	var types []string
	for _, env := range e.published() {
		types = append(types, env.GetType())
		if env.GetCaseId() != "" {
			t.Errorf("%s names case %s", env.GetType(), env.GetCaseId())
		}
	}
	want := "[warning.raised warning.dismissed warning.raised warning.acknowledged warning.raised]"
	if got := fmt.Sprint(types); got != want {
		t.Errorf("events %s, want %s", got, want)
	}
}

// A subject rising at several places of a street is the street's: warned
// as a subject (each place stays below its rule).
func TestWarningSubjectAcrossPlaces(t *testing.T) {
	t.Parallel()
	e := newWarnEnv(t)
	for i := range 4 {
		e.cases(2, street, fmt.Sprintf("静安区|主题路|%d号", i+1), "01002", e.now.Add(-10*time.Minute))
	}
	ws := e.evaluate()
	if len(ws) != 1 || ws[0].Key.Kind != warning.Subject || ws[0].Key.Key != "01002" || ws[0].Label != "name of 01002" || ws[0].Count != 8 {
		t.Fatalf("raised %+v", ws)
	}
}

// Two replicas evaluating at once raise each warning once: one holds the
// evaluation, the other skips or finds it raised.
func TestWarningTwoEvaluators(t *testing.T) {
	t.Parallel()
	e := newWarnEnv(t)
	// A second replica: its own pool and service on the same schema.
	other := warning.NewService(postgres.New(e.pool, nil).Warnings(), func() *warning.Rules { return testRules(t) }, func() time.Time { return e.now })
	for round := range 20 {
		e.cases(4, street, fmt.Sprintf("静安区|并发路|%d号", round), fmt.Sprintf("%05d", 3000+round), e.now.Add(-time.Minute))
		var wg sync.WaitGroup
		var mu sync.Mutex
		total := 0
		for _, svc := range []*warning.Service{e.svc, other, e.svc, other} {
			wg.Go(func() {
				ws, _, err := svc.Evaluate(context.Background())
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total += len(ws)
				mu.Unlock()
			})
		}
		wg.Wait()
		if total != 1 {
			t.Fatalf("round %d: %d warnings raised, want 1", round, total)
		}
	}
	if n := len(e.published()); n != 20 {
		t.Fatalf("%d warning events, want 20", n)
	}
}

func TestWarningReach(t *testing.T) {
	t.Parallel()
	e := newWarnEnv(t)
	e.cases(4, street, "静安区|范围路|1号", "01004", e.now.Add(-time.Minute))
	e.cases(4, "310106021", "静安区|范围路|2号", "01004", e.now.Add(-time.Minute))
	if ws := e.evaluate(); len(ws) != 2 {
		t.Fatalf("raised %+v", ws)
	}
	ctx := context.Background()
	mine, _, err := e.svc.List(ctx, policy.ScopeOf(streetDispatcher), warning.Filter{})
	if err != nil || len(mine) != 1 || mine[0].Key.Street != street {
		t.Fatalf("street's list: %+v, %v", mine, err)
	}
	if _, _, err := e.svc.List(ctx, policy.ScopeOf(streetDispatcher), warning.Filter{Area: "310106021"}); fault.KindOf(err) != fault.PermissionDenied {
		t.Fatalf("another street's list: %v", err)
	}
	dist, _, err := e.svc.List(ctx, policy.ScopeOf(auth.Principal{Role: auth.RoleDistrict, Subject: district}), warning.Filter{State: warning.Raised})
	if err != nil || len(dist) != 2 {
		t.Fatalf("district's list: %+v, %v", dist, err)
	}
	// Paging: one a page.
	all := policy.ScopeOf(auth.Principal{Role: auth.RoleAdmin})
	p1, next, err := e.svc.List(ctx, all, warning.Filter{PageSize: 1})
	if err != nil || len(p1) != 1 || next == "" {
		t.Fatalf("page 1: %+v %q %v", p1, next, err)
	}
	p2, next, err := e.svc.List(ctx, all, warning.Filter{PageSize: 1, PageToken: next})
	if err != nil || len(p2) != 1 || next != "" || p2[0].ID == p1[0].ID {
		t.Fatalf("page 2: %+v %q %v", p2, next, err)
	}
	other := dist[0]
	if other.Key.Street == street {
		other = dist[1]
	}
	if _, err := e.svc.Get(ctx, policy.ScopeOf(streetDispatcher), other.ID); fault.KindOf(err) != fault.PermissionDenied {
		t.Fatalf("read another street's warning: %v", err)
	}
	if _, err := e.svc.Dismiss(ctx, streetDispatcher, policy.ScopeOf(streetDispatcher), "x1", other.ID, "not mine"); fault.KindOf(err) != fault.PermissionDenied {
		t.Fatalf("dismissed another street's warning: %v", err)
	}
	missing := uuid.NewString()
	if _, err := e.svc.Get(ctx, policy.ScopeOf(streetDispatcher), missing); fault.KindOf(err) != fault.PermissionDenied {
		t.Fatalf("missing, for a dispatcher: %v", err)
	}
	if _, err := e.svc.Get(ctx, all, missing); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("missing, for admin: %v", err)
	}
	if _, err := e.svc.Get(ctx, all, "nope"); fault.KindOf(err) != fault.InvalidArgument {
		t.Fatalf("bad id: %v", err)
	}
}
