package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/feedback/internal/events"
	"github.com/gridflow/gridflow/services/feedback/internal/postgres"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// TestMigrationMasksContacts: feedback's log of intake's events from before
// intake masked them — a named and an anonymous caller — is masked as intake
// masks now, and the cases view loses what it took from them.
func TestMigrationMasksContacts(t *testing.T) {
	ctx := context.Background()
	var before []pgdb.Migrations
	for _, m := range postgres.Migrations {
		m.Steps = nil
		before = append(before, m)
	}
	pool := testenv.Pool(t, postgres.Schema, 4, before...)
	at := time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)
	received := func(id string, anonymous bool) []byte {
		env := &eventsv1.Envelope{EventId: "e-" + id, CaseId: id, Type: "case.received", OccurredAt: timestamppb.New(at),
			Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{CaseId: id, Title: "请回电13812345678",
				Address: &typesv1.Address{Raw: "共和新路1234弄5号", Road: "共和新路", Lane: 1234, Number: 5, District: "静安区",
					Key: "静安区|共和新路|1234|5|"},
				Caller: &eventsv1.Caller{Name: "王小明", Phone: "13812345678", Anonymous: anonymous}}}}
		b, err := proto.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		id        string
		anonymous bool
	}{{"c-named", false}, {"c-anon", true}} {
		if _, err := pool.Exec(ctx, `INSERT INTO events (event_id, case_id, type, occurred_at, envelope) VALUES ($1, $2, 'case.received', $3, $4)`,
			"e-"+c.id, c.id, at, received(c.id, c.anonymous)); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO cases (case_id, state, body) VALUES ($1, 'received',
			jsonb_build_object('ID', $1::text, 'Title', '请回电13812345678', 'PlaceKey', '静安区|共和新路|1234|5|'))`, c.id); err != nil {
			t.Fatal(err)
		}
	}
	if err := pgdb.Migrate(ctx, pool, postgres.Schema, postgres.Migrations...); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ id, name, phone, key string }{
		{"c-named", "王**", "138****5678", "静安区|共和新路|1234|5|"},
		{"c-anon", "", "", "静安区|共和新路|1234||"},
	} {
		var raw []byte
		var view string
		if err := pool.QueryRow(ctx, `SELECT envelope, (SELECT body::text FROM cases WHERE case_id = $1) FROM events WHERE case_id = $1`,
			c.id).Scan(&raw, &view); err != nil {
			t.Fatal(err)
		}
		e, err := events.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		var env eventsv1.Envelope
		_ = proto.Unmarshal(raw, &env)
		r := env.GetCaseReceived()
		if e.ID != "e-"+c.id || r.GetCaller().GetName() != c.name || r.GetCaller().GetPhone() != c.phone ||
			r.GetTitle() != "请回电138****5678" || r.GetAddress().GetKey() != c.key {
			t.Errorf("%s: stored event %v", c.id, &env)
		}
		if strings.Contains(string(raw), "13812345678") || strings.Contains(string(raw), "王小明") {
			t.Errorf("%s: the log still holds the clear contact", c.id)
		}
		if !strings.Contains(view, "请回电138****5678") || !strings.Contains(view, c.key) {
			t.Errorf("%s: view %s", c.id, view)
		}
	}
}
