package testenv

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Rows counts the rows of every table in schema, by table name: the
// hostile-input tests take it before and after a refused call to show the
// call stored nothing.
func Rows(t testing.TB, pool *pgxpool.Pool, schema string) map[string]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename`, schema)
	if err != nil {
		t.Fatalf("list the tables of %s: %v", schema, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("list the tables of %s: %v", schema, err)
	}
	if len(names) == 0 {
		t.Fatalf("schema %s has no tables", schema)
	}
	out := make(map[string]int64, len(names))
	for _, n := range names {
		var c int64
		q := fmt.Sprintf(`SELECT count(*) FROM %s`, pgx.Identifier{schema, n}.Sanitize())
		if err := pool.QueryRow(ctx, q).Scan(&c); err != nil {
			t.Fatalf("count %s.%s: %v", schema, n, err)
		}
		out[n] = c
	}
	return out
}

// OutboxDrained waits (at most 20 s) until schema's outbox is empty: the
// relay has published and deleted what earlier calls committed, so row
// counts taken next do not shrink under the test.
func OutboxDrained(t testing.TB, pool *pgxpool.Pool, schema string) {
	t.Helper()
	q := fmt.Sprintf(`SELECT count(*) FROM %s`, pgx.Identifier{schema, "outbox"}.Sanitize())
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int64
		if err := pool.QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatalf("count %s.outbox: %v", schema, err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s.outbox still holds %d rows after 20 s", schema, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Refused checks that err is a gRPC status with code and, for
// INVALID_ARGUMENT, that its BadRequest names field with a reason (every
// violation has a field and a reason). An empty field accepts any named
// field.
func Refused(t testing.TB, err error, code codes.Code, field string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code {
		t.Fatalf("got %s, want %s on %q", short(err), code, field)
	}
	if code != codes.InvalidArgument {
		return
	}
	var named []string
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			if v.GetField() == "" || v.GetDescription() == "" {
				t.Errorf("violation without a field or a reason: %v", v)
			}
			named = append(named, v.GetField())
		}
	}
	if len(named) == 0 {
		t.Fatalf("INVALID_ARGUMENT names no field: %s", short(err))
	}
	if field == "" {
		return
	}
	for _, n := range named {
		if n == field {
			return
		}
	}
	if len(named) > 10 {
		named = append(named[:10], fmt.Sprintf("… (%d fields)", len(named)))
	}
	t.Fatalf("INVALID_ARGUMENT names %s, want %s: %s", strings.Join(named, ", "), field, short(err))
}

// short is err's text cut to 300 bytes: a refusal that echoes a 300 kB
// field should fail the test, not flood its log.
func short(err error) string {
	if err == nil {
		return "<nil>"
	}
	s := err.Error()
	if len(s) > 300 {
		return fmt.Sprintf("%s… (%d bytes)", s[:300], len(s))
	}
	return s
}

// SameRows fails the test when after differs from before, naming each table
// whose count changed.
func SameRows(t testing.TB, before, after map[string]int64) {
	t.Helper()
	for n, b := range before {
		if a := after[n]; a != b {
			t.Errorf("table %s: %d rows before, %d after: the refused call stored something", n, b, a)
		}
	}
	for n, a := range after {
		if _, ok := before[n]; !ok {
			t.Errorf("table %s appeared with %d rows", n, a)
		}
	}
}

// Refusal is the fuzz targets' check of a domain validator's answer: it
// reports whether err refuses the input, and fails the test unless a
// refusal is an InvalidArgument fault whose every violation has a reason
// and names one of fields (a violation of "photos[3]" names "photos").
func Refusal(t testing.TB, err error, fields ...string) bool {
	t.Helper()
	if err == nil {
		return false
	}
	var f *fault.Error
	if !errors.As(err, &f) || f.Kind != fault.InvalidArgument || len(f.Violations) == 0 {
		t.Fatalf("refused with %s (%T), want InvalidArgument with violations", short(err), err)
	}
	for _, v := range f.Violations {
		name, _, _ := strings.Cut(v.Field, "[")
		if v.Reason == "" || !slices.Contains(fields, name) {
			t.Fatalf("violation %q: %q names none of %v, or gives no reason", v.Field, v.Reason, fields)
		}
	}
	return true
}
