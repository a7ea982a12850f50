package postgres_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/address"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
)

// A submission's area codes and address became the shared
// reference.AreaCodes and address.Record, whose json tags differ from the
// Go field names intake stored before. Rows written the old way read back
// the same.
func TestOldSubmissionBodiesReadBack(t *testing.T) {
	st, pool := newStore(t)
	ctx := context.Background()
	sub := submission("H-OLD", "hash-old")
	sub.Area = intake.Area{AreaCodes: reference.AreaCodes{District: "310106", Street: "310106022", Community: "310106022001",
		Grid: "310106022001001"}, Resolution: intake.ResolvedByAddress}
	sub.Address = address.Record{Raw: "共和新路1234弄5号201室", District: "静安区", Road: "共和新路", Lane: 1234, Number: 5, Room: "201",
		Key: "静安区|共和新路|1234|5|"}
	created, _, err := st.Create(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	want, err := st.Get(ctx, intake.Key{CaseID: created.CaseID})
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	var raw []byte
	if err := pool.QueryRow(ctx, `SELECT body FROM submissions WHERE case_id = $1`, created.CaseID).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	// The shapes intake stored before the shared types.
	body["Area"] = json.RawMessage(`{"District":"310106","Street":"310106022","Community":"310106022001","Grid":"310106022001001","Resolution":"address"}`)
	body["Address"] = json.RawMessage(`{"Raw":"共和新路1234弄5号201室","District":"静安区","Street":"","Road":"共和新路","Lane":1234,"Number":5,` +
		`"Building":"","Room":"201","Compound":"","Shop":"","Key":"静安区|共和新路|1234|5|"}`)
	old, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE submissions SET body = $2 WHERE case_id = $1`, created.CaseID, old); err != nil {
		t.Fatal(err)
	}
	got, err := st.Get(ctx, intake.Key{CaseID: created.CaseID})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("old body mismatch (-want +got):\n%s", diff)
	}
	if want.Area != sub.Area || want.Address != sub.Address {
		t.Errorf("stored area/address = %+v %+v, want %+v %+v", want.Area, want.Address, sub.Area, sub.Address)
	}
}
