package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/classify/internal/postgres"
)

// TestMigrationMasksContacts: what classify kept from case.received before
// intake masked its events loses its phone numbers when the migration runs.
func TestMigrationMasksContacts(t *testing.T) {
	ctx := context.Background()
	var before []pgdb.Migrations
	for _, m := range postgres.Migrations {
		m.Steps = nil
		before = append(before, m)
	}
	pool := testenv.Pool(t, postgres.Schema, 4, before...)
	if _, err := pool.Exec(ctx, `INSERT INTO cases (case_id, case_number, district_code, street_code, received_at, body)
		VALUES ('c1', 'GF-20261101-000001', '310106', '310106022', now(),
		'{"Case": {"ID": "c1", "Title": "噪声 13812345678", "Content": "请回电138-1234-5678，谢谢", "Address": "共和新路1234弄5号 021-62345678"}}'),
		('c2', 'GF-20261101-000002', '310106', '310106022', now(), '{"Case": {"ID": "c2", "Content": "无号码"}}')`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO corrections (case_id, corrected_at, body)
		VALUES ('c1', now(), '{"CaseID": "c1", "Text": "请回电13812345678"}')`); err != nil {
		t.Fatal(err)
	}
	if err := pgdb.Migrate(ctx, pool, postgres.Schema, postgres.Migrations...); err != nil {
		t.Fatal(err)
	}
	var c1, c2, corr string
	if err := pool.QueryRow(ctx, `SELECT (SELECT body::text FROM cases WHERE case_id = 'c1'), (SELECT body::text FROM cases WHERE case_id = 'c2'),
		(SELECT body::text FROM corrections)`).Scan(&c1, &c2, &corr); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"噪声 138****5678", "请回电138-****-5678，谢谢", "共和新路1234弄5号 021-****5678"} {
		if !strings.Contains(c1, want) {
			t.Errorf("case c1 = %s, want %q in it", c1, want)
		}
	}
	if !strings.Contains(c2, "无号码") || !strings.Contains(corr, "请回电138****5678") {
		t.Errorf("case c2 = %s, correction = %s", c2, corr)
	}
}
