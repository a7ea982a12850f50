package classify_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/geo"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
)

// The noodle stall: five neighbours complain about the smoke of one noodle
// stall, each writing its address their own way, within an hour. They are
// one incident; the fifth report raises its urgency one step and the primary
// case gets a new version saying so; only the primary is dispatchable.
func TestNoodleStallOneIncident(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	addrs := []string{
		"上海市静安区共和新路1234号兰州拉面",
		"共和新路１２３４号兰州拉面馆门口",
		"静安共和新路一千二百三十四号",
		"共和新路1234号旁边的兰州拉面",
		"闸北区共和新路1234号兰州拉面店",
	}
	var ids []string
	for i, a := range addrs {
		c := h.hotline("楼下兰州拉面油烟太大，窗户都不能开", a)
		h.receive(c)
		ids = append(ids, c.ID)
		if i < len(addrs)-1 {
			h.now = h.now.Add(10 * time.Minute)
		}
	}
	incs := h.store.Incidents()
	if len(incs) != 1 {
		t.Fatalf("incidents = %d, want 1: %+v", len(incs), incs)
	}
	inc := incs[0]
	if diff := cmp.Diff(ids, inc.CaseIDs); diff != "" {
		t.Errorf("members mismatch (-want +got):\n%s", diff)
	}
	if inc.PrimaryCaseID != ids[0] || inc.Urgency != reference.Urgent || !inc.UrgencyRaised {
		t.Errorf("incident primary %s urgency %s raised %v; want %s urgent true", inc.PrimaryCaseID, inc.Urgency, inc.UrgencyRaised, ids[0])
	}
	if inc.Place.Key != "静安区|共和新路||1234|兰州拉面" {
		t.Errorf("place key = %q", inc.Place.Key)
	}
	for i, id := range ids[1:] {
		cur := h.current(id)
		if cur.Dispatchable || cur.IncidentID != inc.ID || cur.PrimaryCaseID != ids[0] || cur.IncidentReports != i+2 {
			t.Errorf("duplicate %s: dispatchable %v incident %s primary %s reports %d", id, cur.Dispatchable, cur.IncidentID, cur.PrimaryCaseID, cur.IncidentReports)
		}
	}
	p := h.current(ids[0])
	if p.Version != 2 || !p.Dispatchable || p.Urgency != reference.Urgent || p.IncidentReports != 5 || !slices.Contains(p.Labels, "重复投诉") {
		t.Errorf("primary after threshold: %+v", p)
	}
	grouped := eventsOf[classify.Grouped](h)
	if len(grouped) != 4 || !grouped[3].UrgencyRaised || grouped[2].UrgencyRaised {
		t.Errorf("grouped events: %d, want 4 with only the last raising urgency", len(grouped))
	}
	var primaryVersions []int
	for _, e := range eventsOf[classify.Classified](h) {
		if e.CaseID == ids[0] {
			primaryVersions = append(primaryVersions, e.Version)
		}
	}
	if diff := cmp.Diff([]int{1, 2}, primaryVersions); diff != "" {
		t.Errorf("primary versions published mismatch (-want +got):\n%s", diff)
	}
}

// TestSamePlace lists address variants that must be one place and near
// misses that must not, all about one subject within its window.
func TestSamePlace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		same bool
	}{
		{"共和新路1234弄5号", "上海市静安区共和新路一二三四弄五号", true},
		{"共和新路1234弄5号", "共和新路1234-5", true},
		{"共和新路1234弄5号门口", "共和新路1234弄5号楼下", true},
		{"共和新路1234号", "共和新路1234号兰州拉面", true},
		{"共和新路兰州拉面", "共和新路1234号兰州拉面馆", true},
		{"大宁路与共和新路交叉口", "共和新路大宁路路口", true},
		{"中华新村", "中华新村门口", true},
		{"共和新路1234号", "共和新路1236号", false},
		{"共和新路1234号兰州拉面", "共和新路1234号沙县小吃", false},
		{"共和新路1234弄5号", "共和新路1234弄6号", false},
		{"共和新路1234弄", "共和新路1234弄5号", false},
		{"共和新路1234号", "延长路1234号", false},
		{"静安区共和新路1234号", "宝山区共和新路1234号", false},
		{"共和新路", "共和新路", false},           // a road is not a place
		{"静安区芷江西路街道", "静安区芷江西路街道", false}, // nor is an area
	}
	for _, tt := range tests {
		t.Run(tt.a+"~"+tt.b, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			a := h.hotline("噪声扰民", tt.a)
			h.receive(a)
			h.now = h.now.Add(5 * time.Minute)
			b := h.hotline("噪声扰民", tt.b)
			h.receive(b)
			ca, cb := h.current(a.ID), h.current(b.ID)
			got := cb.IncidentID != "" && cb.IncidentID == ca.IncidentID
			if got != tt.same {
				t.Errorf("same incident = %v, want %v (incidents %q %q)", got, tt.same, ca.IncidentID, cb.IncidentID)
			}
			if tt.same == cb.Dispatchable {
				t.Errorf("second report dispatchable = %v, want %v", cb.Dispatchable, !tt.same)
			}
		})
	}
}

func TestDuplicateWindowSlides(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// 06020 噪声扰民 has the default 60-minute window. Reports 50 minutes
	// apart chain into one incident; one 61 minutes after the last opens a
	// new one.
	var incs []string
	for _, gap := range []time.Duration{0, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 61 * time.Minute} {
		h.now = h.now.Add(gap)
		c := h.hotline("晚上噪声扰民", "共和新路1234号")
		h.receive(c)
		incs = append(incs, h.current(c.ID).IncidentID)
	}
	if incs[0] == "" || incs[1] != incs[0] || incs[2] != incs[0] || incs[3] != incs[0] || incs[4] == incs[0] {
		t.Errorf("incidents %v: want the first four together and the fifth apart", incs)
	}
}

func TestWindowIsPerItem(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// 06013 道路破损 waits 7 days.
	a := h.hotline("门口路面一个大坑", "共和新路1234号")
	h.receive(a)
	h.now = h.now.Add(5 * 24 * time.Hour)
	b := h.hotline("路面有坑还没修", "共和新路1234号")
	h.receive(b)
	if ia, ib := h.current(a.ID).IncidentID, h.current(b.ID).IncidentID; ia != ib {
		t.Errorf("pothole reports five days apart: incidents %s and %s, want one", ia, ib)
	}
}

func TestSubjectMustMatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.hotline("噪声扰民", "共和新路1234号")
	h.receive(a)
	b := h.hotline("门口垃圾乱倒", "共和新路1234号")
	h.receive(b)
	if ia, ib := h.current(a.ID).IncidentID, h.current(b.ID).IncidentID; ia == ib {
		t.Errorf("noise and litter share incident %s", ia)
	}
	if !h.current(b.ID).Dispatchable {
		t.Error("a different subject at the same place is dispatchable")
	}
}

func TestCoordinates(t *testing.T) {
	t.Parallel()
	patrol := func(h *harness, lat, lng float64, addr string) classify.Case {
		c := h.hotline("乱停车", addr)
		c.Source, c.CatalogueCode = reference.FromPatrol, "09010"
		c.Location = &geo.Point{Lat: lat, Lng: lng}
		return c
	}
	const lat, lng = 31.2540, 121.4520
	const dLat = 1.0 / 111195 // one metre north
	tests := []struct {
		name   string
		metres float64
		addrA  string
		addrB  string
		same   bool
	}{
		{"same spot", 0, "", "", true},
		{"80 m apart", 80, "", "", true},
		{"600 m apart", 600, "", "", false},
		{"near, one with an address", 40, "共和新路1234号", "", true},
		{"near, addresses disagree", 40, "共和新路1234号", "共和新路1300号", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			a := patrol(h, lat, lng, tt.addrA)
			h.receive(a)
			b := patrol(h, lat+tt.metres*dLat, lng, tt.addrB)
			h.receive(b)
			ia, ib := h.current(a.ID).IncidentID, h.current(b.ID).IncidentID
			if (ia == ib) != tt.same {
				t.Errorf("same incident = %v, want %v", ia == ib, tt.same)
			}
		})
	}
}

// Attribution (归因): smoke, noise, litter and illegal wiring at one noodle
// stall within the link window are four incidents linked to one place.
func TestNoodleStallAttribution(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	texts := []string{"兰州拉面油烟太大", "兰州拉面半夜噪声扰民", "兰州拉面门口垃圾成堆", "兰州拉面私拉电线给电瓶车充电", "兰州拉面油烟又来了"}
	addrs := []string{"共和新路1234号兰州拉面", "共和新路1234号", "共和新路1234号兰州拉面门口", "共和新路1234号兰州拉面店", "共和新路1234号兰州拉面"}
	var ids []string
	for i := range texts {
		c := h.hotline(texts[i], addrs[i])
		h.receive(c)
		ids = append(ids, c.ID)
		h.now = h.now.Add(2 * time.Hour)
	}
	places := h.store.SourcePlaces()
	if len(places) != 1 {
		t.Fatalf("source places = %d, want 1", len(places))
	}
	sp := places[0]
	if len(sp.IncidentIDs) != 4 {
		t.Errorf("linked incidents = %v, want 4 (smoke, noise, litter, wiring)", sp.IncidentIDs)
	}
	slices.Sort(sp.ItemCodes)
	if diff := cmp.Diff([]string{"06010", "06020", "06021", "H13003"}, sp.ItemCodes); diff != "" {
		t.Errorf("items mismatch (-want +got):\n%s", diff)
	}
	for _, inc := range h.store.Incidents() {
		if inc.SourcePlaceID != sp.ID {
			t.Errorf("incident %s (%s) not linked", inc.ID, inc.ItemCode)
		}
	}
	linked := eventsOf[classify.Linked](h)
	if len(linked) != 4 || linked[len(linked)-1].Reports != 4 {
		t.Errorf("linked events = %d (last reports %d), want 4 events: two when the place was made, then one each", len(linked), linked[len(linked)-1].Reports)
	}
	// Smoke again 8 hours later: 油烟污染 (06021) waits 3 days, so it joins.
	if h.current(ids[4]).IncidentID != h.current(ids[0]).IncidentID {
		t.Error("the second smoke report did not join the first")
	}
}

func TestNoLinkFarApartInTime(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.hotline("噪声扰民", "共和新路1234号")
	h.receive(a)
	h.now = h.now.Add(25 * time.Hour)
	b := h.hotline("门口垃圾乱倒", "共和新路1234号")
	h.receive(b)
	if n := len(h.store.SourcePlaces()); n != 0 {
		t.Errorf("source places = %d, want none beyond the 24 h link window", n)
	}
}

func TestNotGrouped(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// Catch-all and class-level items are too broad a subject; answered
	// consultations are never dispatched, so never grouped.
	for i := 0; i < 2; i++ {
		c := h.hotline("小区管理不作为", "共和新路1234号")
		h.receive(c)
		if cur := h.current(c.ID); cur.IncidentID != "" || cur.ItemCode != "H01000" {
			t.Errorf("class-level case grouped: %+v", cur)
		}
		a := h.hotline("噪声扰民", "共和新路1234号")
		a.Answered = true
		h.receive(a)
		if cur := h.current(a.ID); cur.IncidentID != "" || cur.Dispatchable {
			t.Errorf("answered case: %+v", cur)
		}
	}
}

func TestMoreUrgentReportRaisesTheIncident(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.hotline("门口路面一个大坑", "共和新路1234号")
	h.receive(a)
	b := h.hotline("门口路面一个大坑，有人受伤了", "共和新路1234号")
	h.receive(b)
	p := h.current(a.ID)
	if p.Version != 2 || p.Urgency != reference.Emergency || slices.Contains(p.Labels, "重复投诉") {
		t.Errorf("primary after an emergency duplicate: %+v", p)
	}
}

func TestPlaceOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr, key string
	}{
		{"共和新路1234弄5号201室", "静安区|共和新路|1234|5|"},
		{"共和新路1234号门口的全家便利店", "静安区|共和新路||1234|全家便利"},
		{"共和新路", ""},
		{"中华新村", "静安区|中华新村|||"},
		{"", ""},
	}
	for _, tt := range tests {
		c := classify.Case{Address: tt.addr}
		if got := classify.PlaceOf(&c, "静安区", classify.DefaultCellSize).Key; got != tt.key {
			t.Errorf("PlaceOf(%q).Key = %q, want %q", tt.addr, got, tt.key)
		}
	}
	// Intake's key alone, when the raw text is missing.
	c := classify.Case{AddressKey: "静安区|共和新路||1234|"}
	if p := classify.PlaceOf(&c, "", classify.DefaultCellSize); p.Site != "静安区|共和新路|" || p.Number != "1234" {
		t.Errorf("place from key = %+v", p)
	}
	c = classify.Case{AddressKey: "静安区|共和新路|||"}
	if p := classify.PlaceOf(&c, "", classify.DefaultCellSize); !p.Empty() {
		t.Errorf("bare road from key = %+v, want empty", p)
	}
}

func TestSubjects(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{"06020", "H04001", true}, // 噪声扰民 in both trees
		{"06001", "H01001", true}, // 私搭乱建 / 违章搭建 share synonyms
		{"09013", "H13004", true}, // 占用消防通道
		{"09010", "H06003", true}, // 乱停车
		{"06021", "H04002", true}, // 油烟污染 / 油烟: shared synonyms in the shipped catalogue
		{"06020", "06021", false},
		{"10999", "H02999", false}, // catch-alls are never a subject
	} {
		if got := h.svc.Subject(tt.a) == h.svc.Subject(tt.b); got != tt.same {
			t.Errorf("Subject(%s) = %s, Subject(%s) = %s; same = %v, want %v", tt.a, h.svc.Subject(tt.a), tt.b, h.svc.Subject(tt.b), got, tt.same)
		}
	}
}

// A grid worker files the urban item, a caller's case gets the hotline one:
// one noise problem, one incident.
func TestSubjectAcrossTrees(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := h.hotline("烧烤店噪声", "共和新路1234号")
	p.Source, p.CatalogueCode = reference.FromPatrol, "06020"
	h.receive(p)
	c := h.hotline("有点事情", "共和新路1234号门口")
	h.receive(c)
	if _, err := h.svc.ResolveReview(as(dispatcher), classify.Decision{RequestID: "r", CaseID: c.ID, ItemCode: "H04001"}); err != nil {
		t.Fatal(err)
	}
	if ip, ic := h.current(p.ID).IncidentID, h.current(c.ID).IncidentID; ip == "" || ip != ic {
		t.Errorf("incidents %q and %q, want one", ip, ic)
	}
}

// TestOrderKey: cases whose place locks meet are routed to one worker
// (issue 17): one spot, one key; one address, one key; far apart or on
// other roads, other keys; a case with no place lock goes by its id.
func TestOrderKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	at := func(lat, lng float64) classify.Case {
		c := h.hotline("乱停车", "")
		c.Source, c.CatalogueCode = reference.FromPatrol, "09010"
		c.Location = &geo.Point{Lat: lat, Lng: lng}
		return c
	}
	const lat, lng = 31.2540, 121.4520
	const metre = 1.0 / 111195
	a, b, far := at(lat, lng), at(lat+metre, lng), at(lat+10000*metre, lng)
	if ka, kb := h.svc.OrderKey(a), h.svc.OrderKey(b); ka != kb || !strings.HasPrefix(ka, "block:") {
		t.Errorf("a metre apart: keys %q and %q, want one block", ka, kb)
	}
	if ka, kf := h.svc.OrderKey(a), h.svc.OrderKey(far); ka == kf {
		t.Errorf("ten kilometres apart: both %q", ka)
	}
	x, y := h.hotline("噪声扰民", "上海市静安区共和新路1234弄5号"), h.hotline("夜间施工", "上海市静安区共和新路1234弄5号")
	z := h.hotline("噪声扰民", "上海市静安区西藏北路88号")
	// One number, a shop named at it or not, written in Chinese numerals or
	// not: one problem written several ways, one worker, in the order the
	// reports came (a later report must not open the incident an earlier
	// one joins).
	shop := h.hotline("油烟扰民", "上海市静安区共和新路1234弄5号兰州拉面")
	numerals := h.hotline("噪声扰民", "静安区共和新路一千二百三十四弄五号")
	for _, c := range []classify.Case{y, shop, numerals} {
		if kx, kc := h.svc.OrderKey(x), h.svc.OrderKey(c); kx != kc || !strings.HasPrefix(kc, "number:") {
			t.Errorf("%s and %s: keys %q and %q, want one house number", x.Address, c.Address, kx, kc)
		}
	}
	// Another number of the lane holds its own number and the lane only
	// shared: no lock of x's, so any worker (a road's numbers spread). A
	// report of the lane itself holds the lane exclusively: by the site.
	if kx, kn := h.svc.OrderKey(x), h.svc.OrderKey(h.hotline("噪声扰民", "上海市静安区共和新路1234弄7号")); kx == kn {
		t.Errorf("two numbers of one lane: both %q", kx)
	}
	if k := h.svc.OrderKey(h.hotline("噪声扰民", "上海市静安区共和新路1234弄")); !strings.HasPrefix(k, "site:") {
		t.Errorf("a lane without a number: key %q, want its site", k)
	}
	if kx, kz := h.svc.OrderKey(x), h.svc.OrderKey(z); kx == kz {
		t.Errorf("two roads: both %q", kx)
	}
	nowhere := h.hotline("噪声扰民", "")
	answered := h.hotline("咨询", "上海市静安区共和新路1234弄5号")
	answered.Answered = true
	for _, c := range []classify.Case{nowhere, answered} {
		if k := h.svc.OrderKey(c); k != "case:"+c.ID {
			t.Errorf("case %s without a place lock: key %q, want its id", c.ID, k)
		}
	}
	// Every case whose locks meet a's: mostly a's worker (a block's edge
	// may run between two).
	meet, same := 0, 0
	for di := -300; di <= 300; di += 20 {
		for dj := -300; dj <= 300; dj += 20 {
			c := at(lat+float64(di)*metre, lng+float64(dj)*metre*1.17)
			if !slices.ContainsFunc(h.svc.LockKeys(c), func(k string) bool { return slices.Contains(h.svc.LockKeys(a), k) }) {
				continue
			}
			meet++
			if h.svc.OrderKey(c) == h.svc.OrderKey(a) {
				same++
			}
		}
	}
	t.Logf("%d cases whose locks meet a's, %d share its key", meet, same)
	if meet == 0 || same*2 < meet {
		t.Errorf("of %d cases whose locks meet a's, %d share its key: want most", meet, same)
	}
}
