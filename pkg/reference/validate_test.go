package reference

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// edit changes one default file: old is replaced by new (old must occur), or
// new is appended when old is empty.
type edit struct{ file, old, new string }

func defaultFiles(tb testing.TB) fstest.MapFS {
	tb.Helper()
	m := fstest.MapFS{}
	for _, f := range Files {
		b, err := fs.ReadFile(DefaultFS(), f)
		if err != nil {
			tb.Fatal(err)
		}
		m[f] = &fstest.MapFile{Data: b}
	}
	return m
}

func loadEdited(tb testing.TB, edits ...edit) (*Set, error) {
	tb.Helper()
	m := defaultFiles(tb)
	for _, e := range edits {
		f, ok := m[e.file]
		if !ok {
			f = &fstest.MapFile{}
			m[e.file] = f
		}
		s := string(f.Data)
		if e.old == "" {
			s += e.new
		} else {
			if !strings.Contains(s, e.old) {
				tb.Fatalf("%s does not contain %q", e.file, e.old)
			}
			s = strings.Replace(s, e.old, e.new, 1)
		}
		f.Data = []byte(s)
	}
	return Load(m)
}

func problems(tb testing.TB, err error) []Problem {
	tb.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		tb.Fatalf("error %v is not a *ValidationError", err)
	}
	return ve.Problems
}

func TestDefaultsValidate(t *testing.T) {
	t.Parallel()
	s, err := LoadDefault()
	if err != nil {
		t.Fatalf("shipped defaults do not validate:\n%v", err)
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate on a loaded set: %v", err)
	}
	if n := len(s.Items(TreeUrban)) + len(s.Items(TreeHotline)); n < 85 {
		t.Errorf("catalogue has %d entries, want at least 60 items plus 25 classes", n)
	}
}

// TestValidation breaks the defaults one way at a time and expects the loader
// to name the file, the entry and the reason.
func TestValidation(t *testing.T) {
	t.Parallel()
	const (
		areas = FileAreas
		cat   = FileCatalogue
		pow   = FilePowers
		dep   = FileDepartments
		cal   = FileCalendar
		sla   = FileSLA
		rules = FileRules
	)
	grid := func(code, community, poly string) string {
		return "  - code: \"" + code + "\"\n    name: 测试网格" + code[12:] + "\n    community: \"" + community + "\"\n    polygon: " + poly + "\n"
	}
	addr := func(s string) edit { return edit{areas, "", s} }
	urbanItem := func(s string) edit {
		return edit{cat, "  items:\n    # Components", "  items:\n    - " + s + "\n    # Components"}
	}
	dept := func(s string) edit { return edit{dep, "departments:\n", "departments:\n  " + s + "\n"} }
	rule := func(s string) edit {
		return edit{rules, "  # Emergencies and safety.\n", s + "\n  # Emergencies and safety.\n"}
	}
	tests := []struct {
		name               string
		edits              []edit
		file, entry, cause string
	}{
		// powers.yaml
		{"power code format", []edit{{pow, "- code: civil_affairs", "- code: Civil-Affairs"}}, pow, "power Civil-Affairs", "lower-case words"},
		{"duplicate power", []edit{{pow, "", "  - {code: health, name: 卫生}\n"}}, pow, "power health", "duplicate code"},
		{"power without parent", []edit{{pow, "", "  - {code: water.supply, name: 供水}\n"}}, pow, "power water.supply", `parent power "water" is not defined`},
		{"power without name", []edit{{pow, "", "  - {code: water}\n"}}, pow, "power water", "no name"},

		// areas.yaml
		{"district code length", []edit{{areas, `code: "310106"` + "\n    name: 静安区", `code: "31010"` + "\n    name: 静安区"}}, areas, "district 31010", "6 digits"},
		{"street outside its district", []edit{{areas, "communities:\n", "  - {code: \"310107001\", name: 外区街道, district: \"310106\"}\ncommunities:\n"}}, areas, "street 310107001", "does not start with its district's code 310106"},
		{"unknown parent street", []edit{{areas, "grids:\n", "  - {code: \"310106099001\", name: 无主居民区, street: \"310106099\"}\ngrids:\n"}}, areas, "community 310106099001", `unknown street "310106099"`},
		{"community without street", []edit{{areas, "grids:\n", "  - {code: \"310106022009\", name: 孤立居民区}\ngrids:\n"}}, areas, "community 310106022009", "no street"},
		{"duplicate grid", []edit{{areas, "addresses:\n", grid("310106022001001", "310106022001", "[[31.20, 121.40], [31.20, 121.41], [31.21, 121.41]]") + "addresses:\n"}}, areas, "grid 310106022001001", "duplicate code"},
		{"duplicate sibling name", []edit{{areas, "grids:\n", "  - {code: \"310106022009\", name: 普善居民区, street: \"310106022\"}\ngrids:\n"}}, areas, "community 310106022009", `name "普善居民区" is already used by 310106022002`},
		{"overlapping grids", []edit{{areas, "addresses:\n", grid("310106022003009", "310106022003", "[[31.2610, 121.4500], [31.2610, 121.4600], [31.2630, 121.4600], [31.2630, 121.4500]]") + "addresses:\n"}}, areas, "grid 310106022003009", "overlaps grid 310106022003001"},
		{"identical grids overlap", []edit{{areas, "addresses:\n", grid("310106021003009", "310106021003", "[[31.3040, 121.4480], [31.3040, 121.4560], [31.3080, 121.4560], [31.3080, 121.4480]]") + "addresses:\n"}}, areas, "grid 310106021003009", "overlaps grid 310106021003001"},
		{"grid nested along an edge overlaps", []edit{{areas, "addresses:\n", grid("310106021003009", "310106021003", "[[31.3040, 121.4480], [31.3040, 121.4520], [31.3080, 121.4520], [31.3080, 121.4480]]") + "addresses:\n"}}, areas, "grid 310106021003009", "overlaps grid 310106021003001"},
		{"self-crossing polygon", []edit{{areas, "addresses:\n", grid("310106022003009", "310106022003", "[[31.30, 121.40], [31.31, 121.41], [31.30, 121.41], [31.31, 121.40]]") + "addresses:\n"}}, areas, "grid 310106022003009", "crosses itself"},
		{"too few points", []edit{{areas, "addresses:\n", grid("310106022003009", "310106022003", "[[31.30, 121.40], [31.31, 121.41]]") + "addresses:\n"}}, areas, "grid 310106022003009", "at least 3 distinct points"},
		{"swapped lat lng", []edit{{areas, "addresses:\n", grid("310106022003009", "310106022003", "[[121.40, 31.30], [121.41, 31.30], [121.41, 31.31]]") + "addresses:\n"}}, areas, "grid 310106022003009", "swapped?"},
		{"grid outside its community's code", []edit{{areas, "addresses:\n", grid("310106022002009", "310106022003", "[[31.20, 121.40], [31.20, 121.41], [31.21, 121.41]]") + "addresses:\n"}}, areas, "grid 310106022002009", "does not start with its community's code 310106022003"},
		{"address unknown community", []edit{addr("  - {road: 天目中路, community: \"310106022099\"}\n")}, areas, "address 天目中路", `unknown community "310106022099"`},
		{"address grid in another community", []edit{addr("  - {road: 天目中路, community: \"310106022001\", grid: \"310106022002001\"}\n")}, areas, "address 天目中路", "grid 310106022002001 is not in community 310106022001"},
		{"address odd range with even bound", []edit{addr("  - {road: 天目中路, numbers: {from: 1, to: 100, parity: odd}, community: \"310106022001\"}\n")}, areas, "address 天目中路", "odd numbers must run from an odd to an odd number"},
		{"address backwards range", []edit{addr("  - {road: 天目中路, numbers: {from: 50, to: 10}, community: \"310106022001\"}\n")}, areas, "address 天目中路", "numbers must run"},
		{"address bad parity", []edit{addr("  - {road: 天目中路, numbers: {from: 1, to: 9, parity: both}, community: \"310106022001\"}\n")}, areas, "address 天目中路", "parity must be odd, even or all"},
		{"address road with number", []edit{addr("  - {road: 天目中路100号, community: \"310106022001\"}\n")}, areas, "address 天目中路100号", "canonical road name"},
		{"address road without suffix", []edit{addr("  - {road: 天目中, community: \"310106022001\"}\n")}, areas, "address 天目中", "must keep its suffix"},
		{"address overlapping ranges", []edit{addr("  - {road: 共和新路, numbers: {from: 1101, to: 1301, parity: all}, community: \"310106022001\"}\n")}, areas, "address 共和新路 1101-1301号", "overlaps the entry 共和新路 1001-1199号 odd"},
		{"address whole road overlaps ranges", []edit{addr("  - {road: 阳曲路, community: \"310106021003\"}\n")}, areas, "address 阳曲路", "overlaps the entry"},
		{"address duplicate place", []edit{addr("  - {road: 天目中路, places: [中华新村], community: \"310106022003\"}\n")}, areas, "address 天目中路", `place "中华新村" is already listed`},

		// catalogue.yaml
		{"urban item code", []edit{urbanItem(`{code: "6001", name: 测试, parent: "06"}`)}, cat, "item 6001", "5 digits"},
		{"urban item 000", []edit{urbanItem(`{code: "06000", name: 测试, parent: "06"}`)}, cat, "item 06000", "5 digits"},
		{"hotline item code", []edit{{cat, "    - {code: H02001,", "    - {code: H2001, name: 测试, parent: H02000}\n    - {code: H02001,"}}, cat, "item H2001", "H + class 2 + item 3"},
		{"hotline class code", []edit{{cat, "    - {code: H15000, name: 劳动和社会保障}", "    - {code: H15000, name: 劳动和社会保障}\n    - {code: H16001, name: 其他类}"}}, cat, "class H16001", "H + 2 digits + 000"},
		{"item in the wrong class", []edit{urbanItem(`{code: "06099", name: 测试, parent: "07"}`)}, cat, "item 06099", "does not belong to parent class 07"},
		{"unknown parent", []edit{urbanItem(`{code: "11001", name: 测试, parent: "11"}`)}, cat, "item 11001", `unknown parent class "11"`},
		{"item without parent", []edit{urbanItem(`{code: "06099", name: 测试}`)}, cat, "item 06099", "no parent"},
		{"duplicate item", []edit{urbanItem(`{code: "06010", name: 测试, parent: "06"}`)}, cat, "item 06010", "duplicate code"},
		{"name twice in a class", []edit{urbanItem(`{code: "06099", name: 暴露垃圾, parent: "06"}`)}, cat, "item 06010", `name "暴露垃圾" is already used by 06099`},
		{"same name in two classes is fine, synonym repeats name", []edit{urbanItem(`{code: "07099", name: 暴露垃圾, parent: "07", synonyms: [暴露垃圾]}`)}, cat, "item 07099", "repeats the name"},
		{"unknown power", []edit{urbanItem(`{code: "06099", name: 测试, parent: "06", power: magic}`)}, cat, "item 06099", `unknown power "magic"`},
		{"unknown SLA profile", []edit{urbanItem(`{code: "06099", name: 测试, parent: "06", sla: fast}`)}, cat, "item 06099", `unknown SLA profile "fast"`},
		{"bad urgency", []edit{urbanItem(`{code: "06099", name: 测试, parent: "06", urgency: asap}`)}, cat, "item 06099", "urgency must be"},
		{"bad duplicate window", []edit{urbanItem(`{code: "06099", name: 测试, parent: "06", duplicate_window: 2w}`)}, cat, "item 06099", "duplicate_window"},
		{"hotline_class on a hotline item", []edit{{cat, "{code: H02001, name: 政务服务效率, parent: H02000,", "{code: H02001, name: 政务服务效率, parent: H02000, hotline_class: H01000,"}}, cat, "item H02001", "urban items only"},
		{"urban class without hotline class", []edit{{cat, `kind: event, hotline_class: H01000}`, `kind: event}`}}, cat, "class 06", `hotline_class "" is not a hotline class`},
		{"urban class kind", []edit{{cat, `{code: "05", name: 其他设施, kind: component`, `{code: "05", name: 其他设施, kind: thing`}}, cat, "class 05", "kind must be component or event"},
		{"catch-all missing", []edit{{cat, `catch_all: "10999"`, `catch_all: "10998"`}}, cat, "urban tree", `catch_all "10998" is not an item`},
		{"catch-all is a class", []edit{{cat, `catch_all: H02999`, `catch_all: H02000`}}, cat, "hotline tree", `catch_all "H02000" is not an item`},
		{"catch-all needs a power", []edit{{cat, `{code: "10999", name: 其他事件, parent: "10"}`, `{code: "10999", name: 其他事件, parent: "10", power: construction}`}}, cat, "urban tree", "street desk that handles it holds none"},
		{"unknown field", []edit{urbanItem(`{code: "06099", name: 测试, parent: "06", colour: red}`)}, cat, "", `unknown field "colour"`},

		// departments.yaml
		{"department code", []edit{dept(`- {code: 310106-CGJ2, name: 测试, level: district}`)}, dep, "department 310106-CGJ2", "code must be"},
		{"department level mismatch", []edit{dept(`- {code: 310106022-test, name: 测试, level: district}`)}, dep, "department 310106022-test", "a district department's code must start with a 6-digit district code"},
		{"department unknown area", []edit{dept(`- {code: 310106099-test, name: 测试, level: street}`)}, dep, "department 310106099-test", "unknown area 310106099"},
		{"department covers foreign area", []edit{dept(`- {code: 310106022-test, name: 测试, level: street, areas: ["310106021001"]}`)}, dep, "department 310106022-test", "outside its own 310106022"},
		{"department unknown power", []edit{dept(`- {code: 310106022-test, name: 测试, level: street, powers: [flying]}`)}, dep, "department 310106022-test", `unknown power "flying"`},
		{"department unknown parent", []edit{dept(`- {code: 310106022-test, name: 测试, level: street, parent: 310106-none}`)}, dep, "department 310106022-test", `unknown parent department "310106-none"`},
		{"department parent loop", []edit{dept(`- {code: 310106022-a, name: 甲, level: street, parent: 310106022-b}`), dept(`- {code: 310106022-b, name: 乙, level: street, parent: 310106022-a}`)}, dep, "department 310106022-a", "loops back"},
		{"department duty", []edit{dept(`- {code: 310106022-test, name: 测试, level: street, duty: nights}`)}, dep, "department 310106022-test", "duty must be"},
		{"duplicate department", []edit{dept(`- {code: 310106-zjw, name: 测试, level: district}`)}, dep, "department 310106-zjw", "duplicate code"},
		{"street without desk", []edit{{dep, "name: 临汾路街道城市运行管理中心, level: street, parent: 310106-cyzx, desk: true", "name: 临汾路街道城市运行管理中心, level: street, parent: 310106-cyzx"}}, dep, "", "street 310106021 临汾路街道 has no desk"},
		{"desk with powers", []edit{{dep, "name: 临汾路街道城市运行管理中心, level: street, parent: 310106-cyzx, desk: true", "name: 临汾路街道城市运行管理中心, level: street, parent: 310106-cyzx, desk: true, powers: [housing]"}}, dep, "department 310106021-cyzx", "a desk holds no powers"},
		{"two desks", []edit{dept(`- {code: 310106022-desk2, name: 第二值班台, level: street, desk: true}`)}, dep, "department 310106022-cyzx", "already has desk 310106022-desk2"},

		// calendar.yaml
		{"bad time zone", []edit{{cal, "time_zone: Asia/Shanghai", "time_zone: Asia/Beijing"}}, cal, "", `time_zone "Asia/Beijing"`},
		{"bad working hours", []edit{{cal, `"13:30-17:30"`, `"13:30-1730"`}}, cal, "working hours 13:30-1730", "HH:MM-HH:MM"},
		{"overlapping working hours", []edit{{cal, `"13:30-17:30"`, `"11:30-17:30"`}}, cal, "working hours 11:30-17:30", "must start after 09:00-12:00 ends"},
		{"holiday in another year", []edit{{cal, "from: 2026-10-01, to: 2026-10-07", "from: 2027-10-01, to: 2027-10-07"}}, cal, "year 2026 holiday 国庆节", "dates must lie in 2026"},
		{"holiday backwards", []edit{{cal, "from: 2026-10-01, to: 2026-10-07", "from: 2026-10-07, to: 2026-10-01"}}, cal, "year 2026 holiday 国庆节", "ends before it starts"},
		{"holiday overlaps holiday", []edit{{cal, "from: 2026-06-19, to: 2026-06-21", "from: 2026-05-05, to: 2026-05-06"}}, cal, "year 2026 holiday 端午节", "2026-05-05 is already a holiday (劳动节)"},
		{"make-up day on a weekday", []edit{{cal, "date: 2026-10-10", "date: 2026-10-12"}}, cal, "year 2026 working day 国庆节调休", "is a Monday"},
		{"make-up day is a holiday", []edit{{cal, "date: 2026-10-10", "date: 2026-10-04"}}, cal, "year 2026 working day 国庆节调休", "also a holiday"},
		{"bad date", []edit{{cal, "date: 2026-02-28", "date: 2026-02-30"}}, cal, "year 2026 working day 春节调休", "want YYYY-MM-DD"},
		{"no confirmed year", []edit{{cal, "  - year: 2026\n", "  - year: 2026\n    provisional: true\n"}}, cal, "", "no confirmed"},
		{"provisional before confirmed", []edit{{cal, "", "  - year: 2028\n"}}, cal, "", "provisional year 2027 comes before confirmed year 2028"},
		{"year twice", []edit{{cal, "", "  - year: 2026\n"}}, cal, "year 2026", "listed twice"},

		// sla.yaml
		{"bad limit", []edit{{sla, "complete: 4 working_hours\n  garbage_day", "complete: 4 hours\n  garbage_day"}}, sla, "profiles garbage", `complete: limit "4 hours"`},
		{"missing urgency row", []edit{{sla, "  urgent: {name: 加急, ack: 30 working_minutes, complete: 1 working_day}\n", ""}}, sla, "urgency", "no row for urgent"},
		{"urgency row without ack", []edit{{sla, "{name: 加急, ack: 30 working_minutes, complete: 1 working_day}", "{name: 加急, complete: 1 working_day}"}}, sla, "urgency urgent", "needs both ack and complete"},
		{"unknown urgency row", []edit{{sla, "urgency:\n  emergency", "urgency:\n  critical: {ack: 5m clock, complete: 1h clock}\n  emergency"}}, sla, "urgency critical", "unknown urgency"},
		{"missing appeal type", []edit{{sla, "  report: {name: 举报, complete: 15 working_days}\n", ""}}, sla, "appeal_types", "no limit for report (举报)"},
		{"appeal type sets ack", []edit{{sla, "{name: 举报, complete: 15 working_days}", "{name: 举报, ack: 1 working_hour, complete: 15 working_days}"}}, sla, "appeal type report", "complete limit only"},
		{"unknown appeal type", []edit{{sla, "appeal_types:\n", "appeal_types:\n  gossip: {complete: 1 working_day}\n"}}, sla, "appeal type gossip", "unknown appeal type"},
		{"no whistle", []edit{{sla, "whistle:\n  on_site: 30m clock\n", ""}}, sla, "whistle", "no on_site limit"},
		{"warn out of range", []edit{{sla, "warn: 0.8", "warn: 80"}}, sla, "warn", "fraction between 0 and 1"},
		{"empty profile", []edit{{sla, "profiles:\n", "profiles:\n  empty: {description: nothing}\n"}}, sla, "profile empty", "sets no limit"},
		{"profile name", []edit{{sla, "profiles:\n", "profiles:\n  Fast-Track: {complete: 1 working_day}\n"}}, sla, "profile Fast-Track", "lower-case"},
		{"profile unknown urgency", []edit{{sla, "profiles:\n", "profiles:\n  odd: {urgency: {critical: {complete: 1h clock}}}\n"}}, sla, "profile odd", `unknown urgency "critical"`},
		{"escalation action", []edit{{sla, "{when: overdue, action: supervise, to: street_desk}", "{when: overdue, action: shout, to: street_desk}"}}, sla, "escalation complete step 2", "action must be"},
		{"escalation target", []edit{{sla, "{when: overdue, action: supervise, to: street_desk}", "{when: overdue, action: supervise, to: mayor}"}}, sla, "escalation complete step 2", "to must be"},
		{"escalation out of order", []edit{{sla, "{when: overdue, after: 2 working_days, action: escalate, to: district_desk}", "{when: warning, action: escalate, to: district_desk}"}}, sla, "escalation complete step 3", "a warning step after an overdue step"},
		{"escalation delays decrease", []edit{{sla, "  ack:\n    - {when: overdue, action: remind, to: unit}", "  ack:\n    - {when: overdue, after: 2 working_hours, action: remind, to: unit}"}}, sla, "escalation ack step 2", "fires before the previous step"},

		// rules.yaml
		{"unknown department", []edit{rule("  - {name: x, match: {items: [H14004]}, lead: 310106-wtj}")}, rules, "rule x", `unknown department "310106-wtj"`},
		{"street unit missing", []edit{rule("  - {name: x, match: {items: [H14004]}, lead: \"{street}-wgz\"}")}, rules, "rule x", "target {street}-wgz: no department 310106022-wgz in 310106022"},
		{"street unit missing in scope only", []edit{dept(`- {code: 310106022-wgz, name: 文广站, level: street}`), rule("  - {name: x, match: {items: [H14004], areas: [\"310106021\"]}, lead: \"{street}-wgz\"}")}, rules, "rule x", "no department 310106021-wgz"},
		{"bad placeholder", []edit{rule("  - {name: x, match: {items: [H14004]}, lead: \"{community}-jwh\"}")}, rules, "rule x", "placeholders are {street} and {district}"},
		{"unknown item", []edit{rule("  - {name: x, match: {items: [\"06999\"]}, lead: 310106-zjw}")}, rules, "rule x", `unknown catalogue item or class "06999"`},
		{"unknown area", []edit{rule("  - {name: x, match: {items: [H14004], areas: [\"310106099\"]}, lead: 310106-zjw}")}, rules, "rule x", `unknown area "310106099"`},
		{"unknown appeal type", []edit{rule("  - {name: x, match: {appeal_types: [rant]}, co: [310106-zjw], continue: true}")}, rules, "rule x", `unknown appeal type "rant"`},
		{"unknown source", []edit{rule("  - {name: x, match: {sources: [email]}, co: [310106-zjw], continue: true}")}, rules, "rule x", `unknown source "email"`},
		{"unknown urgency", []edit{rule("  - {name: x, match: {urgency: [asap]}, co: [310106-zjw], continue: true}")}, rules, "rule x", `unknown urgency "asap"`},
		{"bad hours", []edit{rule("  - {name: x, match: {items: [H14004], hours: \"22:00\"}, lead: 310106-zjw}")}, rules, "rule x", "HH:MM-HH:MM"},
		{"bad day", []edit{rule("  - {name: x, match: {items: [H14004], day: holiday}, lead: 310106-zjw}")}, rules, "rule x", "day must be working or rest"},
		{"empty keyword", []edit{rule("  - {name: x, match: {items: [H14004], keywords: [\" \"]}, lead: 310106-zjw}")}, rules, "rule x", "empty keyword"},
		{"unknown rule SLA", []edit{rule("  - {name: x, match: {items: [H14004]}, lead: 310106-zjw, sla: turbo}")}, rules, "rule x", `unknown SLA profile "turbo"`},
		{"duplicate rule name", []edit{rule("  - {name: noise, match: {items: [H14004]}, lead: 310106-zjw}")}, rules, "rule noise", "already used on line"},
		{"rule name format", []edit{rule("  - {name: Big Rule, match: {items: [H14004]}, lead: 310106-zjw}")}, rules, "rule Big Rule", "lower-case"},
		{"co-only rule must continue", []edit{rule("  - {name: x, match: {items: [H14004]}, co: [310106-zjw]}")}, rules, "rule x", "must continue"},
		{"lead lacks power", []edit{{rules, "match: {items: [\"07\"]}\n    lead: \"{street}-cgzd\"", "match: {items: [\"07\"]}\n    lead: \"{street}-lhsrs\""}}, rules, "rule outdoor-ads", "lead 310106022-lhsrs lacks power city_management.outdoor_ads needed by 07001 非法小广告, 07003 违规户外广告, 07004 违规牌匾标识"},
		{"fixed lead lacks power", []edit{rule("  - {name: x, match: {items: [\"09010\"]}, lead: 310106-zjw}")}, rules, "rule x", "lead 310106-zjw lacks power traffic_police needed by 09010 机动车乱停放"},
		{"shadowed by a catch-all", []edit{rule("  - {name: early-desk, lead: \"{street}-cyzx\"}")}, rules, "rule fire-lane", "unreachable: rule early-desk"},
		{"shadowed by a wider rule", []edit{{rules, "  - name: night-noise\n", "  - {name: all-noise, match: {items: [\"06020\", H04001]}, lead: \"{street}-pcs\"}\n  - name: night-noise\n"}}, rules, "rule night-noise", "unreachable: rule all-noise"},
		{"shadowed by keywords", []edit{rule("  - {name: kw, match: {items: [H14004], keywords: [球场]}, lead: 310106-zjw}\n  - {name: kw2, match: {items: [H14004], keywords: [篮球场灯光]}, lead: 310106-jyj}")}, rules, "rule kw2", "unreachable: rule kw"},
		{"night window shadows a narrower one", []edit{rule("  - {name: n1, match: {items: [H14004], hours: \"21:00-07:00\"}, lead: 310106-zjw}\n  - {name: n2, match: {items: [H14004], hours: \"23:00-01:00\"}, lead: 310106-jyj}")}, rules, "rule n2", "unreachable: rule n1"},
		{"missing district fallback", []edit{{rules, "  - name: district-desk\n    description: 街道未知的，区城运中心兜底\n    lead: \"{district}-cyzx\"\n", ""}}, rules, "rule street-desk", "missing the district-desk fallback"},
		{"missing street fallback", []edit{{rules, "  - name: street-desk\n    description: 无规则认领的，街道城运中心兜底\n    lead: \"{street}-cyzx\"\n", ""}}, rules, "", "missing the street-desk fallback"},
		{"district fallback to a non-desk", []edit{{rules, `lead: "{district}-cyzx"`, `lead: 310106-zjw`}}, rules, "rule district-desk", "not a district desk"},
		{"a rule after the fallbacks", []edit{{rules, "", "  - {name: late, match: {items: [H14004]}, lead: 310106-jyj}\n"}}, rules, "rule late", "missing the district-desk fallback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := loadEdited(t, tt.edits...)
			if err == nil {
				t.Fatalf("loaded without problems (%d rules)", len(s.rules))
			}
			ps := problems(t, err)
			for _, p := range ps {
				if p.File == tt.file && strings.Contains(p.Entry, tt.entry) && strings.Contains(p.Reason, tt.cause) {
					return
				}
			}
			t.Errorf("no problem in %s for %q with %q; got:\n%v", tt.file, tt.entry, tt.cause, err)
		})
	}
}

func TestProblemLines(t *testing.T) {
	t.Parallel()
	_, err := loadEdited(t, edit{FileCatalogue, `{code: "01004", name: 电动自行车充电设施异常, parent: "01",`, `{code: "01004", name: 电动自行车充电设施异常, parent: "01", power: nope,`})
	ps := problems(t, err)
	if len(ps) != 1 {
		t.Fatalf("want exactly one problem, got:\n%v", err)
	}
	data, _ := fs.ReadFile(DefaultFS(), FileCatalogue)
	var want int
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, `code: "01004"`) {
			want = i + 1
		}
	}
	if ps[0].Line != want {
		t.Errorf("problem on line %d, want %d: %v", ps[0].Line, want, ps[0])
	}
	if got := ps[0].Error(); !strings.HasPrefix(got, "catalogue.yaml:") || !strings.Contains(got, `item 01004: unknown power "nope"`) {
		t.Errorf("Error() = %q", got)
	}
}

// One broken file does not bury the report in consequences: references into
// it are not checked, problems elsewhere still are.
func TestBrokenFileIsolatesConsequences(t *testing.T) {
	t.Parallel()
	_, err := loadEdited(t,
		edit{FilePowers, "powers:\n", "powers:\n  - {code: [unclosed\n"},
		edit{FileRules, "", "  - {name: late, lead: 310106-nope}\n"},
	)
	ps := problems(t, err)
	var files []string
	for _, p := range ps {
		files = append(files, p.File)
	}
	for _, p := range ps {
		if p.File != FilePowers && p.File != FileRules {
			t.Errorf("consequence reported: %v", p)
		}
	}
	if !strings.Contains(err.Error(), "powers.yaml:") || !strings.Contains(err.Error(), `unknown department "310106-nope"`) {
		t.Errorf("want both the syntax error and the rule problem, got:\n%v", err)
	}
}

func TestMissingAndEmptyFiles(t *testing.T) {
	t.Parallel()
	m := defaultFiles(t)
	delete(m, FileSLA)
	m[FileCalendar] = &fstest.MapFile{Data: []byte("# nothing yet\n")}
	_, err := Load(m)
	msg := err.Error()
	if !strings.Contains(msg, "sla.yaml: cannot read") || !strings.Contains(msg, "calendar.yaml: empty file") {
		t.Errorf("got:\n%v", err)
	}
}

func TestLoadDirOverlaysDefaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rules, _ := fs.ReadFile(DefaultFS(), FileRules)
	custom := strings.Replace(string(rules), "  - name: neighbour-disputes\n    match: {items: [H13001]}\n    lead: \"{street}-sfs\"\n", "", 1)
	if err := os.WriteFile(filepath.Join(dir, FileRules), []byte(custom), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README.txt"), []byte("notes"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Source(FileRules) != dir || s.Source(FileAreas) != "default" {
		t.Errorf("sources: rules %q, areas %q", s.Source(FileRules), s.Source(FileAreas))
	}
	def, _ := LoadDefault()
	if s.Digest() == def.Digest() || len(s.Rules()) != len(def.Rules())-1 {
		t.Errorf("the override did not take: digest %s vs %s, %d rules", s.Digest(), def.Digest(), len(s.Rules()))
	}
	if def2, _ := LoadDefault(); def2.Digest() != def.Digest() {
		t.Error("digest is not stable")
	}

	// A misspelt file name must not silently leave the default in force.
	if err := os.WriteFile(filepath.Join(dir, "rule.yaml"), []byte(custom), 0o644); err != nil {
		t.Fatal(err)
	}
	report, err := Check(dir)
	if err == nil || !strings.Contains(report, "rule.yaml: not a reference file") {
		t.Errorf("Check = %q, %v", report, err)
	}
	if _, err := LoadDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadDir of a missing directory succeeded")
	}
}

func TestCheckReport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	report, err := Check(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"OK", "digest: sha256:", "rules.yaml", "default", "2 streets", "confirmed through 2026"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	bad := "powers:\n  - {code: city_management, name: 城管执法}\n"
	if err := os.WriteFile(filepath.Join(dir, FilePowers), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	report, err = Check(dir)
	if err == nil || !strings.Contains(report, "problem(s)") || !strings.Contains(report, `unknown power "market_regulation"`) {
		t.Errorf("Check = %s, %v", report, err)
	}
}
