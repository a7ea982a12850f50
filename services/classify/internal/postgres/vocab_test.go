package postgres_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/geo"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
)

// A case's and an incident's area codes became the shared
// reference.AreaCodes, whose json tags differ from the Go field names
// classify stored before. Rows written the old way read back the same.
func TestOldAreaBodiesReadBack(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.hotline("晚上噪声扰民", "共和新路1234号")
	c.Area.Community, c.Area.Grid = "310106022001", "310106022001001"
	c.Location = &geo.Point{Lat: 31.2795, Lng: 121.4521}
	e.receive(t, c)
	incs, _, err := e.store.ListIncidents(ctx, classify.IncidentFilter{PageSize: 10, Scope: policy.Scope{Kind: policy.All}})
	if err != nil || len(incs) != 1 {
		t.Fatalf("incidents = %v, %v", incs, err)
	}
	load := func() (*classify.Record, *classify.Incident) {
		var (
			r   *classify.Record
			inc *classify.Incident
		)
		if err := e.store.InTx(ctx, func(tx classify.Tx) error {
			var err error
			if r, err = tx.GetCase(ctx, c.ID); err != nil {
				return err
			}
			inc, err = tx.GetIncident(ctx, incs[0].ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return r, inc
	}
	wantRec, wantInc := load()
	if wantRec.Case.Area != c.Area || *wantRec.Case.Location != *c.Location {
		t.Fatalf("stored area %+v at %+v, want %+v at %+v", wantRec.Case.Area, wantRec.Case.Location, c.Area, c.Location)
	}
	// The shapes classify stored before the shared types.
	const oldArea = `{"District":"310106","Street":"310106022","Community":"310106022001","Grid":"310106022001001"}`
	if _, err := e.pool.Exec(ctx, `UPDATE cases SET body = jsonb_set(jsonb_set(body, '{Case,Area}', $2::jsonb),
			'{Case,Location}', '{"Lat":31.2795,"Lng":121.4521}') WHERE case_id = $1`, c.ID, oldArea); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE incidents SET body = jsonb_set(body, '{Area}', $2::jsonb) WHERE incident_id = $1`,
		incs[0].ID, oldArea); err != nil {
		t.Fatal(err)
	}
	gotRec, gotInc := load()
	if diff := cmp.Diff(wantRec, gotRec); diff != "" {
		t.Errorf("old case body mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantInc, gotInc); diff != "" {
		t.Errorf("old incident body mismatch (-want +got):\n%s", diff)
	}
}
