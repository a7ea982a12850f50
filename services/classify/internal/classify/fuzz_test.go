package classify_test

import (
	"testing"

	"github.com/gridflow/gridflow/pkg/geo"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
)

// FuzzPlaceOf: any address text and point gives a place that is the same
// place as itself, and never panics.
func FuzzPlaceOf(f *testing.F) {
	for _, s := range []string{"共和新路1234号兰州拉面", "上海市静安区共和新路1234弄5号201室", "大宁路与共和新路交叉口", "中华新村", "", "|||", "共和新路", "\xff\xfe号"} {
		f.Add(s, "", 31.25, 121.45)
	}
	f.Add("", "静安区|共和新路||1234|", 91.0, 0.0)
	f.Fuzz(func(t *testing.T, addr, key string, lat, lng float64) {
		c := classify.Case{Address: addr, AddressKey: key, Location: &geo.Point{Lat: lat, Lng: lng}}
		p := classify.PlaceOf(&c, "静安区", classify.DefaultCellSize)
		if p.Empty() {
			return
		}
		if !classify.SamePlace(p, p, classify.DefaultCellSize) {
			t.Errorf("place %+v of %q is not the same place as itself", p, addr)
		}
	})
}
