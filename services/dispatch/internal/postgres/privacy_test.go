package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/dispatch/internal/postgres"
)

// TestMigrationMasksContacts: what dispatch kept from case.received before
// intake masked its events loses its phone numbers when the migration runs.
func TestMigrationMasksContacts(t *testing.T) {
	ctx := context.Background()
	var before []pgdb.Migrations
	for _, m := range postgres.Migrations {
		m.Steps = nil
		before = append(before, m)
	}
	pool := testenv.Pool(t, postgres.Schema, 4, before...)
	if _, err := pool.Exec(ctx, `INSERT INTO cases (case_id, status, body, created_at, updated_at) VALUES
		('0190f0a0-0000-7000-8000-000000000001', 'open', '{"facts": {"title": "噪声", "content": "请回电13812345678",
		 "address": {"raw": "共和新路1234弄5号 13987654321", "road": "共和新路", "lane": 1234}}, "round": 2}', now(), now()),
		('0190f0a0-0000-7000-8000-000000000002', 'open', '{"round": 0}', now(), now())`); err != nil {
		t.Fatal(err)
	}
	if err := pgdb.Migrate(ctx, pool, postgres.Schema, postgres.Migrations...); err != nil {
		t.Fatal(err)
	}
	var body, other string
	if err := pool.QueryRow(ctx, `SELECT (SELECT body::text FROM cases WHERE case_id = '0190f0a0-0000-7000-8000-000000000001'),
		(SELECT body::text FROM cases WHERE case_id = '0190f0a0-0000-7000-8000-000000000002')`).Scan(&body, &other); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"请回电138****5678", "共和新路1234弄5号 139****4321", `"lane": 1234`, `"round": 2`} {
		if !strings.Contains(body, want) {
			t.Errorf("case = %s, want %q in it", body, want)
		}
	}
	if other != `{"round": 0}` {
		t.Errorf("a case without facts became %s", other)
	}
}
