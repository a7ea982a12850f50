// Package address normalises free-text Chinese street addresses, as a hotline
// call-taker or a citizen types them, into a structured Address with a
// canonical Key.
//
// Two consumers shape it. Intake resolves an address to a community and grid
// through an address index keyed by road, lane (弄) and house number (号).
// Classify groups duplicate reports, where "the same place" means the same
// district, road, lane, number and shop; Key is exactly that tuple, so two
// reports of one place get one Key however they were written.
//
// The parser is written for Shanghai usage (roads, 弄, 号, the 16 districts and
// their abolished names) and reads other cities' addresses with generic rules
// (…省, …市, …区/县, …街道/镇). It is heuristic and total: Normalise accepts any
// string, never panics, never fails, and returns whatever it could recognise;
// Precision says how much that is.
//
// What the input may look like:
//   - full-width digits and letters (１２３号, Ａ座), traditional 號/樓, the old 衖;
//   - Chinese numerals before a marker, positional or digit by digit (一百二十三号,
//     十八弄, 二〇一室, 一二三四弄); numerals elsewhere are left alone, so 三门路
//     and 四川北路 keep their names;
//   - spaces, punctuation and brackets anywhere ("共和新路 1234 弄 5 号");
//   - the municipality prefix or none (上海市, 上海), the district with or
//     without 区/县 (静安, 静安区, 闸北区 → 静安区);
//   - 路上, 小区里, and the like; a second road as a junction (共和新路近延长路,
//     大宁路与共和新路交叉口, 共和新路延长路口);
//   - relation words after the place (门口, 旁边, 对面, 附近, 路口), which are kept
//     in Relation and left out of Key, so "1234号门口" is the place "1234号";
//   - a zone inside a lane or compound (1188弄A区12号), phases and village
//     groups as part of the compound's name (大宁小区二期, 五四村3组);
//   - a shop after the number, or before a relation word (1234号兰州拉面,
//     1234号门口的全家便利店, 全家便利店门口); words for a kind of place
//     (小区, 商铺, 人行道) are not shops;
//   - a trailing description, kept in Detail and out of Key (…附近有个拉面馆).
//
// Numbers longer than five digits (telephone numbers, ids) are never address
// numbers. Hyphenated numbers (A-B, A-B-C; also written with ~, 至 or 到, or as
// two numbers separated by a space) are read as Shanghai callers use them:
//   - A-B-C, before any lane or number: lane A, number B, room C
//     (1234-5-201 = 1234弄5号201室); after a lane: number A, unit B, room C;
//   - A-B with A < B ≤ A+20: a range of house numbers fronting one building;
//     the first is the number (123-125号 = 123号);
//   - A-B with B ≤ A, before any lane: lane A, number B (1234-5 = 1234弄5号);
//     after a lane: number A with the annex B (12-3 = 12号之三);
//   - A-B with B > A+20: number A, room B (5-301 = 5号301室);
//   - after a number or building: unit A, room B (5号楼2-301 = 2单元301室).
//
// Input beyond MaxInputBytes is ignored: addresses are short, and the bound
// keeps the work per call small whatever a client sends.
package address

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxInputBytes is how much of its input Normalise reads. Hotline address
// fields are well under 200 characters; the rest of a longer text would be
// description, and the cap bounds the cost of hostile input.
const MaxInputBytes = 1024

// Precision is how exactly an Address locates a place.
type Precision int

// The precisions, coarsest first; a larger value is more precise.
const (
	// PrecisionNone: nothing recognised.
	PrecisionNone Precision = iota
	// PrecisionArea: a province, city, district or street, but no place in it.
	PrecisionArea
	// PrecisionRoad: a road or a junction of two roads.
	PrecisionRoad
	// PrecisionLane: a lane (弄) on a road, or a named compound without a road;
	// in Shanghai a compound (小区) is usually one lane.
	PrecisionLane
	// PrecisionNumber: a house number.
	PrecisionNumber
	// PrecisionBuilding: a building, unit, floor or room.
	PrecisionBuilding
)

func (p Precision) String() string {
	switch p {
	case PrecisionNone:
		return "none"
	case PrecisionArea:
		return "area"
	case PrecisionRoad:
		return "road"
	case PrecisionLane:
		return "lane"
	case PrecisionNumber:
		return "number"
	case PrecisionBuilding:
		return "building"
	}
	return "precision(" + strconv.Itoa(int(p)) + ")"
}

// Relation places a report relative to its address. It is not part of Key:
// a fire lane blocked at the door of 5号 is at 5号.
type Relation string

// The relations, each named by its canonical word.
const (
	RelationNone     Relation = ""
	RelationAt       Relation = "门口" // 门口, 门前, 楼下, 东门 …
	RelationBeside   Relation = "旁边" // 旁边, 隔壁, 边上, 东侧 …
	RelationOpposite Relation = "对面" // 对面, 对过
	RelationNear     Relation = "附近" // 附近, 周边, 一带
	RelationJunction Relation = "路口" // 路口, 交叉口, 延长路口
)

// Address is a normalised address. Text fields hold canonical forms (digits
// in ASCII, districts by their current name); zero values mean "not given".
type Address struct {
	// Raw is the input as read: at most MaxInputBytes, invalid UTF-8
	// replaced by U+FFFD.
	Raw string

	Province string // 上海市 for a municipality, else …省 / …自治区
	City     string // 上海市
	District string // 静安区 (abolished names map to the current one)
	Street   string // 芷江西路街道, …镇, …乡

	Road      string // 共和新路, with its suffix (路, 公路, 大道, 街, 巷)
	CrossRoad string // the second road of a junction: 延长路 in 共和新路近延长路

	Community string // compound, estate or named building: 大宁小区, 彭浦新村, 嘉里大厦

	Lane         int    // 弄
	SubLane      int    // 支弄
	Zone         string // 区 inside a lane or compound: "A" in A区12号, "2" in 2区
	Number       int    // 号; the first of a range
	NumberSuffix string // 甲, 乙, 丙, 丁, A…, 之一, 之二 …
	Building     string // 号楼/幢/栋/座: "5", "A"
	Unit         int    // 单元
	Floor        int    // 楼/层
	Room         int    // 室

	Shop     string   // shop or other point of interest: 兰州拉面, 全家便利店
	Relation Relation // where the report is relative to the address
	Detail   string   // trailing description as the parser read it (ASCII digits, punctuation as ','); never part of the place
}

// Key is the canonical identity of the place, for equality:
//
//	district|place|lane|number|shop
//
// place is Road; for a junction with no lane or number, the two roads sorted
// and joined by "/" (so 共和新路近延长路 and 延长路共和新路路口 agree); without a
// road, the Community. lane is Lane, followed by 支 and SubLane if there is
// one. number is Number with its NumberSuffix or, with no number, the
// Building: in a Shanghai lane each 号 is one building, and 5号楼 is 5号. shop
// is Shop without a trailing 店/馆/铺. Absent parts are empty. Never counted:
// the street (callers name it or not, and the district already places the
// road), the compound when there is a road, the building when there is a
// number, relation, unit, floor, room and detail. A zone (A区) prefixes the
// number: "A区12".
//
// Key is "" when the text names no road and no compound: it then does not
// identify one place and must not be grouped with anything. A missing
// district is empty in Key; callers that know the district from elsewhere set
// it with WithDistrict first.
func (a Address) Key() string {
	place := a.place()
	if place == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(a.District) + len(place) + len(a.Shop) + 24)
	b.WriteString(a.District)
	b.WriteByte('|')
	b.WriteString(place)
	b.WriteByte('|')
	if a.Lane > 0 {
		b.WriteString(strconv.Itoa(a.Lane))
		if a.SubLane > 0 {
			b.WriteString("支")
			b.WriteString(strconv.Itoa(a.SubLane))
		}
	}
	b.WriteByte('|')
	b.WriteString(a.HouseNumber())
	b.WriteByte('|')
	b.WriteString(shopKey(a.Shop))
	return b.String()
}

func (a Address) place() string {
	switch {
	case a.Road != "" && a.CrossRoad != "" && a.Lane == 0 && a.HouseNumber() == "":
		r1, r2 := a.Road, a.CrossRoad
		if r2 < r1 {
			r1, r2 = r2, r1
		}
		return r1 + "/" + r2
	case a.Road != "":
		return a.Road
	}
	return a.Community
}

// HouseNumber is the number part of Key: "5", "5甲", "12之三", or the building
// ("5", "A") when no 号 was given, after the zone if there is one ("A区12").
func (a Address) HouseNumber() string {
	n := a.Building
	if a.Number > 0 {
		n = strconv.Itoa(a.Number) + a.NumberSuffix
	}
	if a.Zone != "" {
		return a.Zone + "区" + n
	}
	return n
}

func shopKey(s string) string {
	for _, t := range shopTrailing {
		if strings.HasSuffix(s, t) && len([]rune(s))-len([]rune(t)) >= 2 {
			return strings.TrimSuffix(s, t)
		}
	}
	return s
}

// Precision is the finest part of the place the address names. Numbers and
// buildings without a road or compound do not locate anything and count as
// the area only.
func (a Address) Precision() Precision {
	hasArea := a.Province != "" || a.City != "" || a.District != "" || a.Street != ""
	if a.Road == "" && a.Community == "" {
		if hasArea {
			return PrecisionArea
		}
		return PrecisionNone
	}
	switch {
	case a.Building != "" || a.Unit > 0 || a.Floor > 0 || a.Room > 0:
		return PrecisionBuilding
	case a.Number > 0:
		return PrecisionNumber
	case a.Lane > 0 || a.Road == "":
		return PrecisionLane
	}
	return PrecisionRoad
}

// WithDistrict returns a with District set to district if the text named
// none. The district is canonicalised like a parsed one (静安 and 闸北区 give
// 静安区). Intake and classify know a case's district from its area codes and
// use this before comparing Keys, since callers often leave it out.
func (a Address) WithDistrict(district string) Address {
	if a.District != "" {
		return a
	}
	a.District = canonicalDistrict(district)
	return a
}

// canonicalDistrict maps a Shanghai district name, with or without its
// suffix, current or abolished, to its current name; other names are
// returned trimmed.
func canonicalDistrict(name string) string {
	name = strings.TrimSpace(name)
	stem := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "新区"), "区"), "县")
	if d, ok := shanghaiDistricts[stem]; ok {
		return d
	}
	return name
}

// String writes the address in canonical order, without Raw and Detail:
// administrative levels, the place and the shop separated by spaces, the
// numbers run on after the road ("上海市 静安区 共和新路1234弄5号 兰州拉面门口").
// It is a valid input: Normalise(a.String()).Key() == a.Key() for every a that
// Normalise returned.
func (a Address) String() string {
	var w partWriter
	if a.Province != a.City {
		w.part(a.Province)
	}
	w.part(a.City)
	w.part(a.District)
	w.part(a.Street)
	if a.Road != "" {
		w.part(a.Road)
		if a.CrossRoad != "" {
			w.b.WriteString("近")
			w.b.WriteString(a.CrossRoad)
		}
	} else {
		w.part(a.Community)
	}
	if a.Lane > 0 {
		w.number(a.Lane, "弄")
		if a.SubLane > 0 {
			w.number(a.SubLane, "支弄")
		}
	}
	if a.Road != "" && a.Community != "" {
		w.part(a.Community)
		w.boundary() // the numbers after the compound stay its own
	}
	if a.Zone != "" {
		w.b.WriteString(a.Zone)
		w.b.WriteString("区")
		w.numbers = true
	}
	if a.Number > 0 {
		// 5甲号 and 5A号 read back unambiguously; 5号A could be 5号 + A座.
		if strings.HasPrefix(a.NumberSuffix, "之") {
			w.number(a.Number, "号"+a.NumberSuffix)
		} else {
			w.number(a.Number, a.NumberSuffix+"号")
		}
	}
	if a.Building != "" {
		w.b.WriteString(a.Building)
		if isDigit(rune(a.Building[0])) {
			w.b.WriteString("号楼")
		} else {
			w.b.WriteString("座")
		}
		w.numbers = true
	}
	for _, n := range []struct {
		v    int
		mark string
	}{{a.Unit, "单元"}, {a.Floor, "楼"}, {a.Room, "室"}} {
		if n.v > 0 {
			w.number(n.v, n.mark)
		}
	}
	w.part(a.Shop)
	// A relation runs on after a number; after a name it is a part of its own,
	// since the two could read as another word (兰州拉面路口 is the road
	// 兰州拉面路, 居委会大+门口 holds 大门口).
	if w.numbers {
		w.b.WriteString(string(a.Relation))
	} else {
		w.part(string(a.Relation))
	}
	return w.b.String()
}

// partWriter separates the parts String writes so that each is read back on
// its own: a space, or a comma where a space would be taken for padding
// next to a unit marker (see fold).
type partWriter struct {
	b       strings.Builder
	numbers bool // the last thing written was a number with its marker
}

func (w *partWriter) part(s string) {
	if s == "" {
		return
	}
	if w.b.Len() > 0 {
		last, _ := utf8.DecodeLastRuneInString(w.b.String())
		first, _ := utf8.DecodeRuneInString(s)
		if glues(last) || glues(first) || !isWordRune(last) || !isWordRune(first) {
			w.boundary()
		} else {
			w.b.WriteByte(' ')
		}
	}
	w.b.WriteString(s)
	w.numbers = false
}

// number writes n and its marker, running on from what came before.
func (w *partWriter) number(n int, marker string) {
	w.b.WriteString(strconv.Itoa(n))
	w.b.WriteString(marker)
	w.numbers = true
}

// boundary writes a full-width comma, which reads as a separator and, unlike
// a space, never as padding.
func (w *partWriter) boundary() {
	if last, _ := utf8.DecodeLastRuneInString(w.b.String()); w.b.Len() > 0 && last != '，' {
		w.b.WriteRune('，')
	}
}
