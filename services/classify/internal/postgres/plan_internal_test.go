package postgres

import (
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
)

// Issue 17: every shape of the incident lookup can read its index on a
// generic plan — the plan the plan cache settles on after a statement's
// first runs. The site branch could not (incidents_site's predicate,
// site <> ”, cannot be proved from "site = $n"): once its plan turned
// generic, each report scanned every incident.
func TestIncidentLookupUsesItsIndexesOnAGenericPlan(t *testing.T) {
	pool := testenv.Pool(t, Schema, 2, Migrations...)
	to := time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)
	cells := []classify.Cell{{I: 1, J: 2}, {I: 1, J: 3}, {I: 2, J: 2}, {I: 2, J: 3}}
	for _, tt := range []struct {
		name string
		q    classify.IncidentQuery
		want []string // the indexes the plan reads
	}{
		{"site", classify.IncidentQuery{Site: "静安区|长乐路|", Number: "140", Keyed: true, To: to}, []string{"incidents_site"}},
		{"site and subject", classify.IncidentQuery{Site: "静安区|长乐路|", Number: "140", Subject: "x", To: to}, []string{"incidents_site"}},
		{"site, subject and the others", classify.IncidentQuery{Site: "静安区|长乐路|", Number: "140", Subject: "x", To: to,
			Others: true, OthersTo: to}, []string{"incidents_site"}},
		{"cells, subject and the others", classify.IncidentQuery{Cells: cells, Subject: "x", To: to, Others: true, OthersTo: to},
			[]string{"incidents_cell"}},
		{"site, linked", classify.IncidentQuery{Site: "静安区|长乐路|", Number: "140", ExcludeSubject: "x", Linked: true, To: to},
			[]string{"incidents_site"}},
		{"site without a number", classify.IncidentQuery{Site: "静安区|长乐路|", To: to}, []string{"incidents_site"}},
		{"cells", classify.IncidentQuery{Cells: cells, To: to}, []string{"incidents_cell"}},
		{"site and cells", classify.IncidentQuery{Site: "静安区|长乐路|", Number: "140", Cells: cells, Keyed: true, To: to},
			[]string{"incidents_site", "incidents_cell"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sql, a := incidentLookup(tt.q)
			plan := testenv.GenericPlan(t, pool, sql, len(a))
			for _, index := range tt.want {
				if !strings.Contains(plan, index) {
					t.Errorf("the generic plan does not read %s:\n%s", index, plan)
				}
			}
			if strings.Contains(plan, "Seq Scan") {
				t.Errorf("the generic plan scans the table:\n%s", plan)
			}
		})
	}
}
