package address

import (
	"slices"
	"strconv"
	"strings"
)

// Normalise parses raw into an Address. It reads at most MaxInputBytes of
// raw, accepts any bytes, and never panics; see the package documentation for
// the forms it understands.
func Normalise(raw string) Address {
	raw = clip(raw)
	a := Address{Raw: raw}
	p := parser{rs: convertNumerals(fold(raw)), a: &a}
	p.skipLeading()
	p.admin()
	p.body()
	return a
}

// token is the kind of the last thing the parser consumed; a few readings
// depend on it (口 right after a road is a junction).
type token int

const (
	tokNone token = iota
	tokRoad
	tokCommunity
	tokNumber
	tokOther
)

// parser walks the folded runes left to right. Addresses run from the large
// to the small (province … room): admin reads the administrative prefix, body
// everything from the road on, trying admin again at each word so that an
// administrative name reads the same wherever it stands. Every step either
// consumes at least one rune or ends the walk, so the walk ends; the input
// is clipped, so it ends soon.
type parser struct {
	rs   []rune
	i    int
	a    *Address
	last token
	// communityEnd is where the recorded compound name ends; a compound or
	// phase starting right there extends it.
	communityEnd int
	done         bool
	sub          bool // parsing a shop name alone (readsAsShop)
}

func (p *parser) skipSeps() {
	for p.i < len(p.rs) && p.rs[p.i] == sep {
		p.i++
	}
}

func (p *parser) has(s string) bool { return hasAt(p.rs, p.i, s) }

// eat consumes s if the input continues with it.
func (p *parser) eat(s string) bool {
	if !p.has(s) {
		return false
	}
	p.i += len([]rune(s))
	return true
}

func (p *parser) eatAny(words []string) bool {
	for _, w := range words {
		if p.eat(w) {
			return true
		}
	}
	return false
}

// wordEnd is the end of the run of Han and Latin letters starting at i.
func (p *parser) wordEnd(i int) int {
	for i < len(p.rs) && isWordRune(p.rs[i]) {
		i++
	}
	return i
}

func (p *parser) hanEnd(i int) int {
	for i < len(p.rs) && isHan(p.rs[i]) {
		i++
	}
	return i
}

func (p *parser) skipLeading() {
	for {
		p.skipSeps()
		if !p.eatAny(leadingJunk) {
			return
		}
	}
}

// admin reads province, city, district and street, each at most once and in
// that order.
func (p *parser) admin() {
	a := p.a
	for {
		p.skipSeps()
		switch {
		case a.Province == "" && a.City == "" && a.District == "" && a.Street == "" && p.province():
		case a.City == "" && a.District == "" && a.Street == "" && p.city():
		case a.District == "" && a.Street == "" && p.district(false):
		case a.Street == "" && p.street():
		default:
			return
		}
	}
}

func (p *parser) province() bool {
	for _, m := range municipalities {
		if p.has(m + "市") {
			p.a.Province, p.a.City = m+"市", m+"市"
			p.i += 3
			return true
		}
		if p.has(m) && p.bareOK(p.i+2) {
			p.a.Province, p.a.City = m+"市", m+"市"
			p.i += 2
			return true
		}
	}
	end := p.hanEnd(p.i)
	for j := p.i + 2; j < end && j <= p.i+6; j++ {
		switch {
		case !adminStem(p.rs[p.i:j], false):
			return false
		case p.rs[j] == '省' && j-p.i <= 3:
			p.a.Province = string(p.rs[p.i : j+1])
			p.i = j + 1
			return true
		case hasAt(p.rs, j, "自治区"):
			p.a.Province = string(p.rs[p.i : j+3])
			p.i = j + 3
			return true
		}
	}
	return false
}

func (p *parser) city() bool {
	end := p.hanEnd(p.i)
	for j := p.i + 2; j < end && j <= p.i+4; j++ {
		if p.rs[j] != '市' {
			continue
		}
		if !adminStem(p.rs[p.i:j], false) || strings.ContainsRune(badCityEnd, p.rs[j-1]) || hasAt(p.rs, j+1, "场") || hasAt(p.rs, j+1, "民") {
			return false
		}
		p.a.City = string(p.rs[p.i : j+1])
		p.i = j + 1
		return true
	}
	return false
}

// district reads a district at p.i. Shanghai's districts are recognised by
// name, with or without 区/县, while the city is Shanghai or unknown; a bare
// name counts only where a road, compound, street or number follows it, so
// 宝山路, 静安寺 and 长宁路 stay what they are. Elsewhere a district is 2–4 Han
// characters and 区 or 县. In the body (explicit) only names with a suffix
// count.
func (p *parser) district(explicit bool) bool {
	a := p.a
	if a.City == "" || a.City == shanghai {
		for _, stem := range shanghaiDistrictStems {
			if !p.has(stem) {
				continue
			}
			k := p.i + len([]rune(stem))
			switch {
			case stem == "浦东" && hasAt(p.rs, k, "新区"):
				k += 2
			case hasAt(p.rs, k, "区") || hasAt(p.rs, k, "县"):
				k++
			case explicit || !p.bareOK(k):
				continue
			}
			p.setDistrict(shanghaiDistricts[stem])
			p.i = k
			return true
		}
	}
	if explicit {
		return false
	}
	end := p.hanEnd(p.i)
	for j := p.i + 2; j < end && j <= p.i+4; j++ {
		if p.rs[j] != '区' && p.rs[j] != '县' {
			continue
		}
		if !adminStem(p.rs[p.i:j], false) || strings.ContainsRune(badDistrictEnd, p.rs[j-1]) ||
			(j+1 < len(p.rs) && strings.ContainsRune(notAfterDistrict, p.rs[j+1])) {
			return false
		}
		for _, r := range p.rs[p.i:j] {
			if strings.ContainsRune("路街巷弄村镇", r) {
				return false
			}
		}
		p.setDistrict(string(p.rs[p.i : j+1]))
		p.i = j + 1
		return true
	}
	return false
}

func (p *parser) setDistrict(d string) {
	if p.a.District == "" {
		p.a.District = d
	}
}

// street reads …街道 (the name may hold a road: 芷江西路街道) or a town …镇 /
// …乡 whose name holds no road and which no road suffix follows (新镇路 is a
// road).
func (p *parser) street() bool {
	end := p.hanEnd(p.i)
	for j := p.i + 2; j+1 < end && j <= p.i+10; j++ {
		if p.rs[j] == '街' && p.rs[j+1] == '道' {
			if !adminStem(p.rs[p.i:j], true) {
				break // may still start with a town: 江桥镇…街道
			}
			p.setStreet(p.i, j+2)
			return true
		}
	}
	for j := p.i + 2; j < end && j <= p.i+5; j++ {
		if p.rs[j] != '镇' && p.rs[j] != '乡' {
			continue
		}
		for _, r := range p.rs[p.i:j] {
			if strings.ContainsRune("路街巷弄道区村", r) || boundaryRune(r) {
				return false
			}
		}
		if !adminStem(p.rs[p.i:j], false) || j+1 < len(p.rs) && strings.ContainsRune("路街大公道巷弄村下亲", p.rs[j+1]) {
			return false
		}
		p.setStreet(p.i, j+1)
		return true
	}
	return false
}

func (p *parser) setStreet(from, to int) {
	if p.a.Street == "" {
		p.a.Street = string(p.rs[from:to])
	}
	p.i = to
	p.eatAny(streetTails)
}

// bareOK reports whether a bare district or municipality name ending at k is
// followed, after any separators, by something that makes it one: a number,
// an explicit district, a street, a road or a compound. A bare name at the
// end is not read as one; 闸北 alone may as well be a shop's name.
func (p *parser) bareOK(k int) bool {
	for k < len(p.rs) && p.rs[k] == sep {
		k++
	}
	if k >= len(p.rs) {
		return false
	}
	if isDigit(p.rs[k]) {
		return true
	}
	save := *p
	defer func() { *p = save }()
	p.i = k
	a := *p.a
	p.a = &a
	if p.district(true) {
		return true
	}
	// A street right after a bare name needs a name of its own of three
	// runes or more: 静安西路街道 is one street, not 静安 + 西路街道.
	if p.street() && len([]rune(p.a.Street)) >= 5 {
		return true
	}
	end := p.wordEnd(k)
	for j := k; j < end; j++ {
		if s, _, ok := p.roadAt(k, j); ok {
			return s == k
		}
		if s, _, ok := p.communityAt(k, j); ok {
			return s == k
		}
	}
	return false
}

// body reads everything from the road on, until the input ends or a
// description starts.
func (p *parser) body() {
	for p.i < len(p.rs) && !p.done {
		start := p.i
		switch r := p.rs[p.i]; {
		case r == sep:
			p.i++
			p.last = tokNone
		case r == '-':
			p.dash()
		case isDigit(r):
			p.number()
		case isUpper(r) && p.letterBuilding():
		default:
			p.word()
		}
		if p.i == start && !p.done { // defensive: every step must progress
			p.i++
		}
	}
}

// anchored reports whether the text has named something a shop, a bare
// number or a description can hang on.
func (p *parser) anchored() bool {
	a := p.a
	return a.Road != "" || a.Community != "" || a.Lane > 0 || a.Number > 0 || a.Building != ""
}

func (p *parser) detail(from int) {
	d := strings.Trim(string(p.rs[from:]), string(sep))
	if p.a.Detail == "" {
		p.a.Detail = d
	}
	p.i = len(p.rs)
	p.done = true
}

// word reads a token starting with a Han or Latin letter: a road or compound
// name, or the text before one, which holds relation words, fillers, a shop,
// the start of a description, or junk.
func (p *parser) word() {
	i := p.i
	// Administrative names are read the same wherever they stand, after junk
	// ("0000静安区…") or after the road ("共和新路1234号 静安区"), so that
	// String, which writes them first, reads back the same.
	if p.admin(); p.i != i {
		p.last = tokOther
		return
	}
	if p.bodyAdmin() {
		p.last = tokOther
		return
	}
	r := p.rs[i]
	if connector(r) && p.last == tokRoad {
		end := p.wordEnd(i + 1)
		for j := i + 1; j < end; j++ {
			if s, _, ok := p.roadAt(i+1, j); ok {
				if s == i+1 {
					p.i++
					p.last = tokOther
					return
				}
				break
			}
		}
	}
	if r == '口' && (p.last == tokRoad || p.last == tokCommunity || p.last == tokNumber) {
		rel := RelationAt
		if p.last == tokRoad {
			rel = RelationJunction
		}
		p.setRelation(rel)
		p.i++
		p.last = tokOther
		return
	}

	// The first name in the run decides how far the text before it goes. Text
	// before it that holds no relation or cue is dropped, and the name read
	// afresh, so an administrative name at its start is seen as one.
	end := p.wordEnd(i)
	kind, nameStart, nameEnd := tokNone, end, end
	for j := i; j < end && kind == tokNone; j++ {
		if s, e, ok := p.roadAt(i, j); ok {
			kind, nameStart, nameEnd = tokRoad, s, e
		} else if s, e, ok := p.communityAt(i, j); ok {
			kind, nameStart, nameEnd = tokCommunity, s, e
		}
	}
	if nameStart > i {
		if _, _, ok := relationAt(p.rs, i); !ok {
			if rel, ok := singleRelation(r); ok && p.anchored() {
				p.setRelation(rel)
				p.i++
				p.last = tokOther
				return
			}
		}
		for _, f := range fillers {
			if n := len([]rune(f)); hasAt(p.rs, i, f) && i+n <= nameStart {
				p.i += n
				return
			}
		}
		for j := i; j < nameStart; j++ {
			if rel, e, ok := relationAt(p.rs, j); ok {
				if j > i {
					p.shop(i, j, true)
				}
				if !p.done {
					p.setRelation(rel)
					p.i = e
					p.last = tokOther
				}
				return
			}
			if p.anchored() && cueAt(p.rs, j) {
				if j > i {
					p.shop(i, j, false)
				}
				p.detail(j)
				return
			}
		}
	}
	if kind != tokNone && nameStart > i {
		p.i = nameStart
		return
	}
	switch kind {
	case tokRoad:
		p.road(nameStart, nameEnd)
	case tokCommunity:
		p.community(nameStart, nameEnd)
	default:
		p.shop(i, end, false)
		if !p.done {
			p.i = end
			p.last = tokOther
		}
	}
}

// bodyAdmin consumes an administrative name met after the road, as in
// "共和新路1234弄(静安区)", or repeated ("上海市上海市…"), so it is not taken
// for a shop. Only explicit forms count here.
func (p *parser) bodyAdmin() bool {
	for _, m := range municipalities {
		if p.has(m+"市") || (p.has(m) && p.bareOK(p.i+2)) {
			p.i += 2
			p.eat("市")
			if p.a.City == "" {
				p.a.Province, p.a.City = m+"市", m+"市"
			}
			return true
		}
	}
	if p.district(true) {
		return true
	}
	end := p.hanEnd(p.i)
	for j := p.i + 2; j+1 < end && j <= p.i+10; j++ {
		if p.rs[j] == '街' && p.rs[j+1] == '道' && adminStem(p.rs[p.i:j], true) {
			p.setStreet(p.i, j+2)
			return true
		}
	}
	return false
}

// trimStem returns where a name ending at j and starting no earlier than i
// really starts: after the last boundary rune, junk word or relation word,
// and for a road (latin false) after the last Latin letter.
func trimStem(rs []rune, i, j int, latin bool) int {
	s := i
	for k := i; k < j; k++ {
		if boundaryRune(rs[k]) || !(isHan(rs[k]) || latin && isUpper(rs[k])) {
			s = k + 1
		}
	}
	for _, w := range stemJunk {
		n := len([]rune(w))
		for k := j - n; k >= s; k-- {
			if hasAt(rs, k, w) {
				s = k + n
				break
			}
		}
	}
	for _, w := range relationWords {
		n := len([]rune(w.word))
		for k := j - n; k >= s; k-- {
			if hasAt(rs, k, w.word) {
				if j-(k+n) >= 2 { // 东门路 is a road, not 东门 + 路
					s = k + n
				}
				break
			}
		}
	}
	return s
}

// validStem reports whether rs can be the name part of a road or compound.
// A name never starts with a marker (路街道… is what is left of 宝山路街道 when
// 宝山 is mistaken for a district) and never holds 街道. Names starting with
// 市 or 区 exist (市光路), so those are allowed.
func validStem(rs []rune) bool {
	if len(rs) < 2 || len(rs) > 12 || stemStops[string(rs)] || strings.ContainsRune(notNameStart, rs[0]) {
		return false
	}
	for _, r := range rs {
		if strings.ContainsRune("号弄室幢栋", r) {
			return false
		}
	}
	for k := 0; k < len(rs); k++ {
		if k+1 < len(rs) && rs[k] == '街' && rs[k+1] == '道' {
			return false
		}
		// 静安区共和新路 with the district not read: a name never holds an
		// administrative level after its first two characters.
		if k >= 2 && strings.ContainsRune("区县市省", rs[k]) {
			return false
		}
	}
	return true
}

// adminStem reports whether rs can name a province, city, district or street
// (withRoad: a street named after a road, 芷江西路街道). Such names hold no
// road suffix, boundary rune or junk word: 位置静安区 and 在叫苏州市 are not
// districts or cities.
func adminStem(rs []rune, withRoad bool) bool {
	if !validStem(rs) {
		return false
	}
	for k, r := range rs {
		if boundaryRune(r) || !withRoad && strings.ContainsRune("路街巷", r) {
			return false
		}
		if _, _, ok := relationAt(rs, k); ok {
			return false
		}
		for _, ws := range [][]string{stemJunk, leadingJunk, cues} {
			for _, w := range ws {
				if len(w) > 3 && hasAt(rs, k, w) { // multi-rune words only: 太仓市 is a city
					return false
				}
			}
		}
	}
	return true
}

// roadAt reports a road whose suffix starts at j and whose name starts at or
// after i, returning where the name starts and where the road ends. A road
// followed by 街道 is a street's name, not a road.
func (p *parser) roadAt(i, j int) (start, end int, ok bool) {
	for _, suf := range roadSuffixes {
		if !hasAt(p.rs, j, suf) {
			continue
		}
		e := j + len([]rune(suf))
		if longerSuffixEnds(p.rs, i, e, suf, roadSuffixes) {
			continue
		}
		if hasAt(p.rs, e, "街道") || (strings.HasSuffix(suf, "街") && hasAt(p.rs, e, "道")) {
			return 0, 0, false
		}
		s := trimStem(p.rs, i, j, false)
		if validStem(p.rs[s:j]) && !containsRune(p.rs[s:j], '路') {
			return s, e, true
		}
	}
	return 0, 0, false
}

// communityAt is roadAt for compounds.
func (p *parser) communityAt(i, j int) (start, end int, ok bool) {
	for _, suf := range communitySuffixes {
		if !hasAt(p.rs, j, suf) {
			continue
		}
		e := j + len([]rune(suf))
		if longerSuffixEnds(p.rs, i, e, suf, communitySuffixes) {
			continue
		}
		if not := notAfterCommunity[suf]; not != "" && e < len(p.rs) && strings.ContainsRune(not, p.rs[e]) {
			continue
		}
		s := trimStem(p.rs, i, j, true)
		if validStem(p.rs[s:j]) && !strings.ContainsRune(notCommunityStart, p.rs[s]) {
			return s, e, true
		}
	}
	return 0, 0, false
}

// longerSuffixEnds reports whether a suffix longer than suf also ends at e
// (花园 for 园, 公路 for 路). The longer one decides, where it starts: were
// 园 tried on its own, 旁边花园 would be the compound 旁边花+园 where 旁边+花园
// is none.
func longerSuffixEnds(rs []rune, i, e int, suf string, sufs []string) bool {
	n := len([]rune(suf))
	for _, l := range sufs {
		if m := len([]rune(l)); m > n && e-m >= i && strings.HasSuffix(l, suf) && hasAt(rs, e-m, l) {
			return true
		}
	}
	return false
}

func relationAt(rs []rune, j int) (Relation, int, bool) {
	for _, w := range relationWords {
		if hasAt(rs, j, w.word) {
			return w.rel, j + len([]rune(w.word)), true
		}
	}
	return RelationNone, 0, false
}

func cueAt(rs []rune, j int) bool {
	for _, c := range cues {
		if hasAt(rs, j, c) {
			return true
		}
	}
	return false
}

func (p *parser) setRelation(r Relation) {
	if p.a.Relation == RelationNone {
		p.a.Relation = r
	}
}

// road records a road: the first is the road, the second a junction's cross
// road, a third starts the description.
func (p *parser) road(s, e int) {
	name := string(p.rs[s:e])
	a := p.a
	switch {
	case a.Road == "":
		a.Road = name
	case a.CrossRoad == "" && name != a.Road:
		a.CrossRoad = name
	case name != a.Road && name != a.CrossRoad:
		p.detail(s)
		return
	}
	p.i = e
	p.last = tokRoad
}

// community records a compound; one written right after another extends it
// (彭浦新村第三小区), a later one is ignored.
func (p *parser) community(s, e int) {
	a := p.a
	switch {
	case a.Community == "":
		a.Community = string(p.rs[s:e])
		p.communityEnd = e
	case s == p.communityEnd && validStem([]rune(a.Community+string(p.rs[s:e-1]))):
		// The whole must still read as one name (居委居委+市家园 does not).
		a.Community += string(p.rs[s:e])
		p.communityEnd = e
	}
	p.i = e
	p.last = tokCommunity
}

// shop records rs[i:j] as the shop. Without a place before it, only text
// followed by a relation word (全家便利店门口) is a shop; other text there is
// dropped. A second shop starts the description.
func (p *parser) shop(i, j int, beforeRelation bool) {
	for changed := true; changed && i < j; {
		changed = false
		if _, ok := singleRelation(p.rs[i]); ok {
			i++
			changed = true
			continue
		}
		for _, w := range [][]string{shopLeading, fillers} {
			for _, f := range w {
				if n := len([]rune(f)); hasAt(p.rs, i, f) && i+n <= j {
					i += n
					changed = true
					break
				}
			}
		}
	}
	for j > i && p.rs[j-1] == '的' {
		j--
	}
	if j-i < 2 || (!beforeRelation && !p.anchored()) {
		return
	}
	if name := string(p.rs[i:j]); genericPlaces[name] || slices.Contains(communitySuffixes, name) {
		return
	}
	for k := i; k < j; k++ {
		if cueAt(p.rs, k) { // a sentence, not a name
			if p.anchored() {
				p.detail(i)
			}
			return
		}
	}
	if p.a.Shop != "" {
		p.detail(i)
		return
	}
	if j-i > 20 { // not a name: a sentence
		p.detail(i)
		return
	}
	if !p.sub && !readsAsShop(p.rs[i:j]) {
		return
	}
	p.a.Shop = string(p.rs[i:j])
}

// readsAsShop reports whether name, standing on its own after a place,
// reads as exactly this shop and nothing else. A shop is the text left over
// where nothing else matched, and what matches can depend on the runes that
// follow (江桥镇大门: a town is never followed by 大, so no town here); alone,
// as String writes it, the same text may read as something else, and then it
// is not taken for a shop at all.
func readsAsShop(name []rune) bool {
	const anchor = "\x00"
	a := Address{Road: anchor}
	q := parser{rs: name, a: &a, sub: true}
	q.body()
	return a == Address{Road: anchor, Shop: string(name)}
}

// letterBuilding reads A座, B栋, C幢, D号楼, and the zone A区.
func (p *parser) letterBuilding() bool {
	i := p.i
	if hasAt(p.rs, i+1, "区") {
		setStr(&p.a.Zone, string(p.rs[i]))
		p.i = i + 2
		p.last = tokNumber
		return true
	}
	for _, m := range []string{"座", "栋", "幢", "号楼"} {
		if hasAt(p.rs, i+1, m) {
			if p.a.Building == "" {
				p.a.Building = string(p.rs[i])
			}
			p.i = i + 1 + len([]rune(m))
			p.last = tokNumber
			return true
		}
	}
	return false
}

// maxDigits bounds an address number; longer digit runs are phone numbers
// or ids, never a lane, number or room.
const maxDigits = 5

func (p *parser) readInt() (v, n int) {
	for p.i < len(p.rs) && isDigit(p.rs[p.i]) {
		if n < maxDigits+1 {
			v = v*10 + int(p.rs[p.i]-'0')
		}
		n++
		p.i++
	}
	return v, n
}

func isRangeDash(r rune) bool { return r == '-' || r == '至' || r == '到' }

// number reads a number and its marker.
func (p *parser) number() {
	start := p.i
	v, n := p.readInt()
	if n > maxDigits {
		p.last = tokOther
		return
	}
	nums := []int{v}
	for len(nums) < 3 && p.i+1 < len(p.rs) && isRangeDash(p.rs[p.i]) && isDigit(p.rs[p.i+1]) {
		save := p.i
		p.i++
		w, m := p.readInt()
		if m > maxDigits {
			p.i = save
			break
		}
		nums = append(nums, w)
	}
	if len(nums) > 1 {
		p.hyphen(nums)
		return
	}
	a := p.a
	p.last = tokNumber
	switch {
	case p.eat("支弄"):
		setInt(&a.SubLane, v)
	case p.eat("弄"):
		setInt(&a.Lane, v)
	case p.eatAny([]string{"号楼", "号栋", "号幢", "幢", "栋", "座"}):
		setStr(&a.Building, strconv.Itoa(v))
	case p.has("号线"):
		p.nonAddress(start, 2)
	case p.eat("号"):
		p.houseNumber(v)
	case p.i+1 < len(p.rs) && p.rs[p.i+1] == '号' && (strings.ContainsRune("甲乙丙丁", p.rs[p.i]) || isUpper(p.rs[p.i])):
		suffix := string(p.rs[p.i])
		p.i += 2
		if a.Number == 0 {
			a.Number, a.NumberSuffix = v, suffix
		}
	case p.eat("单元"):
		setInt(&a.Unit, v)
	case p.eat("区"):
		setStr(&a.Zone, strconv.Itoa(v))
	case p.eat("室"), p.eat("房"):
		setInt(&a.Room, v)
	case p.eat("楼"), p.eat("层"), p.eat("F"):
		setInt(&a.Floor, v)
	case p.eat("期"), p.eat("组"):
		// 大宁小区二期, 五星村3组: part of the compound's name.
		if a.Community != "" && start == p.communityEnd {
			a.Community += strconv.Itoa(v) + string(p.rs[p.i-1])
			p.last, p.communityEnd = tokCommunity, p.i
		}
	default:
		for _, u := range nonAddressUnits {
			if p.has(u) {
				p.nonAddress(start, len([]rune(u)))
				return
			}
		}
		p.bareNumber(v)
	}
}

// nonAddress handles a number that is no part of the address (a date, a bus
// route, a distance): once there is a place, it starts the description;
// before, it is skipped.
func (p *parser) nonAddress(start, unitLen int) {
	if p.anchored() {
		p.detail(start)
		return
	}
	p.i += unitLen
	p.last = tokOther
}

// bareNumber places a number with no marker by what came before: after a lane
// it is the number (1234弄5), after a road the number (共和新路1234), after a
// number or building the room (5号301).
func (p *parser) bareNumber(v int) {
	a := p.a
	switch {
	case a.Number == 0 && a.Building == "" && (a.Lane > 0 || a.Road != "" || a.Community != ""):
		a.Number = v
	case (a.Number > 0 || a.Building != "") && a.Room == 0:
		a.Room = v
	}
}

// houseNumber records N号 and reads a suffix after it (号甲, 号之一).
func (p *parser) houseNumber(v int) {
	a := p.a
	if a.Number > 0 {
		setStr(&a.Building, strconv.Itoa(v)) // 1234弄5号3号: the second 号 is a building
		return
	}
	a.Number = v
	switch {
	case p.i < len(p.rs) && strings.ContainsRune("甲乙丙丁", p.rs[p.i]):
		a.NumberSuffix = string(p.rs[p.i])
		p.i++
	case p.has("之"):
		k := p.i + 1
		if k < len(p.rs) && isDigit(p.rs[k]) {
			save := p.i
			p.i = k
			w, n := p.readInt()
			if n <= 2 && w > 0 {
				a.NumberSuffix = "之" + hanSmall(w)
			} else {
				p.i = save
			}
			return
		}
		e := k
		for e < len(p.rs) && e-k < 3 && isHanNumeral(p.rs[e]) {
			e++
		}
		if w, ok := parseHanNumber(p.rs[k:e]); ok && w > 0 && w < 100 {
			a.NumberSuffix = "之" + hanSmall(w)
			p.i = e
		}
	}
}

// hyphen applies the package's reading of A-B and A-B-C.
func (p *parser) hyphen(nums []int) {
	a := p.a
	p.last = tokNumber
	marker := ""
	for _, m := range []string{"号楼", "号", "弄", "室"} {
		if p.eat(m) {
			marker = m
			break
		}
	}
	free := a.Number == 0 && a.Building == ""
	A, B := nums[0], nums[1]
	if len(nums) == 3 {
		C := nums[2]
		switch {
		case free && a.Lane == 0:
			a.Lane, a.Number, a.Room = A, B, C
		case free:
			a.Number, a.Unit, a.Room = A, B, C
		default:
			setInt(&a.Unit, B)
			setInt(&a.Room, C)
		}
		return
	}
	switch {
	case marker == "弄":
		setInt(&a.Lane, A)
	case !free:
		setInt(&a.Unit, A)
		setInt(&a.Room, B)
	case marker == "室" || B > A+20:
		a.Number = A
		setInt(&a.Room, B)
	case A < B:
		p.setNumberOrBuilding(A, marker)
	case a.Lane == 0:
		a.Lane = A
		p.setNumberOrBuilding(B, marker)
	default:
		a.Number = A
		if B > 0 {
			a.NumberSuffix = "之" + hanSmall(B)
		}
	}
}

func (p *parser) setNumberOrBuilding(v int, marker string) {
	if marker == "号楼" {
		p.a.Building = strconv.Itoa(v)
		return
	}
	p.a.Number = v
}

// dash reads "-B" after a house number: 123号-125号 is a range, 5号-3 the
// annex 之三, 5号-301 a room.
func (p *parser) dash() {
	a := p.a
	if p.last != tokNumber || a.Number == 0 || p.i+1 >= len(p.rs) || !isDigit(p.rs[p.i+1]) {
		p.i++
		return
	}
	save := p.i
	p.i++
	b, n := p.readInt()
	if n > maxDigits {
		p.i = save + 1
		return
	}
	switch {
	case b > a.Number && b <= a.Number+20:
	case b > a.Number:
		setInt(&a.Room, b)
	case b > 0 && a.NumberSuffix == "" && b < 100:
		a.NumberSuffix = "之" + hanSmall(b)
	}
	p.eatAny([]string{"号", "室"})
}

func setInt(dst *int, v int) {
	if *dst == 0 {
		*dst = v
	}
}

func setStr(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

func containsRune(rs []rune, r rune) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}
