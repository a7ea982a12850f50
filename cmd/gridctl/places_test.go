package main

import (
	"os"
	"testing"

	"github.com/gridflow/gridflow/pkg/address"
)

// TestPlaceSampleParses: the register shipped under docs/ reads as
// gridctl place import reads it, and each address parses with pkg/address
// to more than a road.
func TestPlaceSampleParses(t *testing.T) {
	data, err := os.ReadFile("../../docs/places-sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := parsePlaceCSV(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 9 || rows[0].GetRow() != 4 || rows[6].GetInspectionEveryMonths() != 1 || rows[6].InspectionEveryMonths == nil {
		t.Fatalf("rows = %v", rows)
	}
	for _, r := range rows {
		a := address.Normalise(r.GetAddress())
		if a.Key() == "" || (a.Lane == 0 && a.Number == 0 && a.Community == "" && a.Shop == "") {
			t.Errorf("line %d: %q parses to %q", r.GetRow(), r.GetAddress(), a.Key())
		}
	}
	for _, bad := range []string{"name,kind\nx,shop\n", "address,kind,colour\n", "address,kind\n", "address,kind,retired\na,b,maybe\n",
		"address,kind,inspection_every_months\na,b,often\n"} {
		if _, err := parsePlaceCSV([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
