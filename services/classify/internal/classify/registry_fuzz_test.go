package classify

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gridflow/gridflow/pkg/reference"
)

// FuzzPlaceRow fuzzes the import's row validator (issue 20, places): no
// panic; a refused row names one of the row's fields with a reason; an
// accepted row has a five-part key that starts its own building's and
// lane's keys, a known kind and status, a known area, and no phone number
// in its name or address.
func FuzzPlaceRow(f *testing.F) {
	ref, err := reference.LoadDefault()
	if err != nil {
		f.Fatal(err)
	}
	p := &Places{ref: func() *reference.Set { return ref }}
	for _, s := range [][5]string{
		{"芷江西路61弄7号", "好邻居便利店", "shop", "", ""},
		{"阳曲路101号", "老王机械厂", "enterprise", "active", ""},
		{"阳曲路菜场", "", "market", "", "310106021003001"},
		{"芷江西路61弄7号302室", "", "residential", "", ""},
		{"芷江西路2号", "张三13812345678", "shop", "closed", ""},
		{"坏\xc3\x28", "x", "bar", "vacant", "0"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	fields := map[string]bool{"address": true, "name": true, "kind": true, "status": true, "grid_code": true, "inspection_every_months": true}
	f.Fuzz(func(t *testing.T, addr, name, kind, status, grid string) {
		e, field, reason := p.entryOf(ref, PlaceRow{Row: 1, Address: addr, Name: name, Kind: kind, Status: status, Grid: grid})
		if field != "" {
			if !fields[field] || reason == "" {
				t.Fatalf("refused on %q (%q)", field, reason)
			}
			return
		}
		b, l := KeysOf(e.Key)
		if strings.Count(e.Key, "|") != 4 || !strings.HasPrefix(e.Key, strings.TrimSuffix(b, "|")) || e.Building != b || e.Lane != l ||
			!utf8.ValidString(e.Key) {
			t.Fatalf("key %q building %q lane %q", e.Key, e.Building, e.Lane)
		}
		if _, ok := KindOf(e.Kind); !ok || !knownStatus(e.Status) || e.Area.District == "" || e.Area.Street == "" {
			t.Fatalf("entry %+v", e)
		}
		if personalData(e.Name) != "" || personalData(addr) != "" {
			t.Fatalf("personal data accepted: %q %q", e.Name, addr)
		}
	})
}
