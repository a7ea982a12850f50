package routing

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridflow/gridflow/pkg/reference"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func defaults(tb testing.TB) *reference.Set {
	tb.Helper()
	s, err := reference.LoadDefault()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// withRules loads the default set with rules.yaml replaced.
func withRules(tb testing.TB, rules string) *reference.Set {
	tb.Helper()
	m := fstest.MapFS{}
	for _, f := range reference.Files {
		b, err := fs.ReadFile(reference.DefaultFS(), f)
		if err != nil {
			tb.Fatal(err)
		}
		m[f] = &fstest.MapFile{Data: b}
	}
	m[reference.FileRules] = &fstest.MapFile{Data: []byte(rules)}
	s, err := reference.Load(m)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// summary is the part of a decision the tables compare.
type summary struct {
	Lead  string
	Co    []string
	Fired []string
}

func summarise(d Decision) summary {
	s := summary{Lead: d.Lead.Department + " by " + d.Lead.Rule}
	for _, a := range d.CoHandlers {
		s.Co = append(s.Co, a.Department+" by "+a.Rule)
	}
	for _, st := range d.Path {
		if st.Fired {
			s.Fired = append(s.Fired, st.Rule)
		} else {
			s.Fired = append(s.Fired, "("+st.Rule+")")
		}
	}
	return s
}

const (
	zj   = "310106022"
	lf   = "310106021"
	mon  = "2026-03-02 10:00"
	sat  = "2026-03-07 10:00"
	nite = "2026-03-02 23:10"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	set := defaults(t)
	tests := []struct {
		name string
		c    Case
		want summary
	}{
		{"exposed garbage to the street's 绿化市容所",
			Case{Item: "06010", Grid: zj + "001001", Source: reference.FromPatrol, Received: at(mon)},
			summary{Lead: zj + "-lhsrs by sanitation", Fired: []string{"sanitation"}}},
		{"noise at night: police with the night SLA",
			Case{Item: "06020", Street: lf, AppealType: reference.Complaint, Received: at(nite)},
			summary{Lead: lf + "-pcs by night-noise", Fired: []string{"night-noise"}}},
		{"noise by day",
			Case{Item: "H04001", Street: lf, AppealType: reference.Complaint, Received: at(mon)},
			summary{Lead: lf + "-pcs by noise", Fired: []string{"noise"}}},
		{"fire lane: emergency watch continues, police lead, 城管 co",
			Case{Item: "09013", Community: zj + "002", Source: reference.FromPatrol, Received: at(mon)},
			summary{Lead: zj + "-pcs by fire-lane", Co: []string{zj + "-cyzx by emergency-street-desk", zj + "-cgzd by fire-lane"},
				Fired: []string{"emergency-street-desk", "fire-lane"}}},
		{"group rental with charging: fire brigade joins",
			Case{Item: "H01003", Street: zj, Text: "楼道里电动车飞线充电，群租人员多", Received: at(mon)},
			summary{Lead: zj + "-fgb by housing", Co: []string{"310106-xfzd by group-rental-fire-risk"},
				Fired: []string{"group-rental-fire-risk", "housing"}}},
		{"group rental without the keywords",
			Case{Item: "H01003", Street: zj, Text: "隔壁群租，人员进出频繁", Received: at(mon)},
			summary{Lead: zj + "-fgb by housing", Fired: []string{"housing"}}},
		{"repeated complaint: desk co-handles a district bureau's case",
			Case{Item: "H04002", Street: lf, AppealType: reference.Complaint, Label: "重复投诉", Received: at(mon)},
			summary{Lead: "310106-sthjj by pollution", Co: []string{lf + "-cyzx by repeated-complaint-desk"},
				Fired: []string{"repeated-complaint-desk", "pollution"}}},
		{"classification labels match a rule's labels too",
			Case{Item: "H04002", Street: lf, AppealType: reference.Complaint, Label: "H04000", Labels: []string{"重复投诉"}, Received: at(mon)},
			summary{Lead: "310106-sthjj by pollution", Co: []string{lf + "-cyzx by repeated-complaint-desk"},
				Fired: []string{"repeated-complaint-desk", "pollution"}}},
		{"a class matcher takes the class code itself",
			Case{Item: "H15000", Street: lf, Received: at(mon)},
			summary{Lead: "310106-rsj by labour", Fired: []string{"labour"}}},
		// Issue 15: every first-level class has a triage route, so a class
		// no longer falls through to the desk; the desk takes what no rule
		// claims (unclassified, below).
		{"a first-level class goes to its triage unit, not the desk",
			Case{Item: "H04000", Street: lf, Received: at(mon)},
			summary{Lead: "310106-sthjj by class-environment", Fired: []string{"class-environment"}}},
		{"a retired code routes as its successor",
			Case{Item: "H01011", Street: lf, Received: at(mon)},
			summary{Lead: lf + "-fgb by housing", Fired: []string{"(retired)", "housing"}}},
		{"a class routed to the desk by design",
			Case{Item: "H02000", Street: lf, Received: at(mon)},
			summary{Lead: lf + "-cyzx by class-government-affairs", Fired: []string{"class-government-affairs"}}},
		{"unclassified goes to the street desk",
			Case{Street: zj, Received: at(mon)},
			summary{Lead: zj + "-cyzx by street-desk", Fired: []string{"street-desk"}}},
		{"street unknown: street rules are passed over, district desk",
			Case{Item: "06010", District: "310106", Street: reference.Unknown, Received: at(mon)},
			summary{Lead: "310106-cyzx by district-desk", Fired: []string{"(sanitation)", "(street-desk)", "district-desk"}}},
		{"no area at all: the only district",
			Case{Item: "06010", Street: reference.Unknown, District: reference.Unknown, Received: at(mon)},
			summary{Lead: "310106-cyzx by district-desk", Fired: []string{"(area)", "(sanitation)", "(street-desk)", "district-desk"}}},
		{"street unknown but a district bureau leads",
			Case{Item: "H01008", District: "310106", Received: at(nite)},
			summary{Lead: "310106-xfzd by gas-leak", Fired: []string{"emergency-street-desk", "gas-leak"}}},
		{"weekend market in 阳曲 on a Saturday",
			Case{Item: "09006", Grid: lf + "003001", Received: at(sat)},
			summary{Lead: lf + "-cgzd by yangqu-weekend-market", Co: []string{lf + "-scjgs by yangqu-weekend-market"},
				Fired: []string{"yangqu-weekend-market"}}},
		{"the 2/28 make-up Saturday is a working day",
			Case{Item: "09006", Grid: lf + "003001", Received: at("2026-02-28 10:00")},
			summary{Lead: lf + "-cgzd by street-order", Fired: []string{"street-order"}}},
		{"a Spring Festival Monday is a rest day",
			Case{Item: "09006", Grid: lf + "003001", Received: at("2026-02-16 10:00")},
			summary{Lead: lf + "-cgzd by yangqu-weekend-market", Co: []string{lf + "-scjgs by yangqu-weekend-market"},
				Fired: []string{"yangqu-weekend-market"}}},
		{"the weekend-market rule is for 阳曲 only",
			Case{Item: "09006", Grid: lf + "001001", Received: at(sat)},
			summary{Lead: lf + "-cgzd by street-order", Fired: []string{"street-order"}}},
		{"construction at night",
			Case{Item: "08001", Street: zj, Received: at(nite)},
			summary{Lead: zj + "-cgzd by night-construction", Fired: []string{"night-construction"}}},
		{"construction by day: 建管委 co-handles",
			Case{Item: "08001", Street: zj, Received: at(mon)},
			summary{Lead: zj + "-cgzd by construction-site", Co: []string{"310106-zjw by construction-site"}, Fired: []string{"construction-site"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := Decide(set, tt.c)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summarise(d)); diff != "" {
				t.Errorf("decision mismatch (-want +got):\n%s\npath: %+v", diff, d.Path)
			}
			if d.Digest != set.Digest() {
				t.Error("decision does not carry the set's digest")
			}
		})
	}
}

func TestDecideSLAAndReasons(t *testing.T) {
	t.Parallel()
	set := defaults(t)
	d, err := Decide(set, Case{Item: "06020", Street: lf, AppealType: reference.Complaint, Received: at(nite)})
	if err != nil {
		t.Fatal(err)
	}
	if !d.SLA.Ack.Due.Equal(at("2026-03-02 23:25")) || d.SLA.Ack.Source != "rule profile night_response" ||
		!d.SLA.Complete.Due.Equal(at("2026-03-03 01:10")) || d.Urgency != reference.Normal {
		t.Errorf("SLA = %+v", d.SLA)
	}
	if why := d.Path[0].Why; why != "item 06020, received 23:10 within 22:00-06:00" {
		t.Errorf("why = %q", why)
	}
	// The item's default urgency applies when the case has none.
	d, _ = Decide(set, Case{Item: "09013", Street: zj, Received: at(sat)})
	if d.Urgency != reference.Emergency || !d.SLA.Ack.Due.Equal(at("2026-03-07 10:15")) {
		t.Errorf("urgency %s, ack due %v", d.Urgency, d.SLA.Ack.Due)
	}
	d, _ = Decide(set, Case{Item: "06010", District: "310106", Street: reference.Unknown, Received: at(mon)})
	if !strings.Contains(d.Path[0].Why, "needs the case's street, which is unknown") {
		t.Errorf("skip reason = %q", d.Path[0].Why)
	}
	// A stop-work on-site limit of the item's profile goes to the lead.
	d, _ = Decide(set, Case{Item: "06001", Street: zj, Received: at(mon)})
	if d.Lead.OnSite.Duration.String() != "4 working_hours" || d.Lead.Whistle {
		t.Errorf("lead on site = %+v", d.Lead.OnSite)
	}
}

func TestWhistle(t *testing.T) {
	t.Parallel()
	set := defaults(t)
	d, err := Decide(set, Case{Item: "06036", Community: zj + "003", Source: reference.FromSecretary, Received: at(mon),
		Named: []string{zj + "-fgb", zj + "-cgzd", "310106-nope"}})
	if err != nil {
		t.Fatal(err)
	}
	want := summary{Lead: zj + "-cgzd by street-order", Co: []string{zj + "-fgb by whistle"}, Fired: []string{"street-order", "whistle"}}
	if diff := cmp.Diff(want, summarise(d)); diff != "" {
		t.Errorf("decision mismatch (-want +got):\n%s", diff)
	}
	onSite := at("2026-03-02 10:30")
	if !d.Lead.Whistle || !d.Lead.OnSite.Due.Equal(onSite) || !d.CoHandlers[0].Whistle || !d.CoHandlers[0].OnSite.Due.Equal(onSite) {
		t.Errorf("whistle limits: lead %+v, co %+v", d.Lead, d.CoHandlers[0])
	}
	if last := d.Path[len(d.Path)-1].Why; !strings.Contains(last, "30m clock") || !strings.Contains(last, "ignored, not in the reference set: 310106-nope") {
		t.Errorf("whistle step = %q", last)
	}
	// The case's own limits are the item's, not the whistle's.
	if d.SLA.Complete.Duration.String() != "10 working_days" {
		t.Errorf("complete = %v", d.SLA.Complete.Duration)
	}
}

func TestRedecide(t *testing.T) {
	t.Parallel()
	set := defaults(t)
	c := Case{Item: "06010", Grid: zj + "001001", AppealType: reference.Complaint, Received: at(mon)}
	first, err := Decide(set, c)
	if err != nil {
		t.Fatal(err)
	}
	// 芷江西路's 绿化市容所 rejects: not_my_area, it is 临汾居民区.
	again, err := Redecide(set, c, lf+"002")
	if err != nil {
		t.Fatal(err)
	}
	if again.Lead.Department != lf+"-lhsrs" || again.Path[0].Rule != "redecide" || !strings.Contains(again.Path[0].Why, "临汾居民区") {
		t.Errorf("redecided: lead %s, path %+v", again.Lead.Department, again.Path)
	}
	if !again.SLA.Complete.Due.Equal(first.SLA.Complete.Due) || !again.SLA.Ack.Due.Equal(first.SLA.Ack.Due) {
		t.Error("re-decision moved the case's deadlines")
	}
	// A street-level area keeps no stale grid or community.
	again, _ = Redecide(set, c, lf)
	if again.Lead.Department != lf+"-lhsrs" {
		t.Errorf("lead %s", again.Lead.Department)
	}
	for _, bad := range []string{"310106099", reference.Unknown, ""} {
		if _, err := Redecide(set, c, bad); !errors.Is(err, ErrUnknownArea) {
			t.Errorf("Redecide(%q) = %v", bad, err)
		}
	}
}

func TestDecideErrors(t *testing.T) {
	t.Parallel()
	set := defaults(t)
	for _, tt := range []struct {
		c    Case
		want error
	}{
		{Case{Item: "06999", Street: zj, Received: at(mon)}, ErrUnknownItem},
		{Case{Item: "06010", Street: zj}, ErrBadCase},
		{Case{Item: "06010", Street: zj, Urgency: "asap", Received: at(mon)}, ErrBadCase},
		{Case{Item: "06010", Street: "310106099", Received: at(mon)}, ErrUnknownArea},
	} {
		if _, err := Decide(set, tt.c); !errors.Is(err, tt.want) {
			t.Errorf("Decide(%+v) = %v, want %v", tt.c, err, tt.want)
		}
	}
}

// TestContinue: a continuing rule's followers join as co-handlers — leads
// included — until a rule that does not continue; a fallback reached after
// a lead was found does not join.
func TestContinue(t *testing.T) {
	t.Parallel()
	set := withRules(t, `rules:
  - {name: a, match: {items: ["06010"]}, lead: "{street}-lhsrs", continue: true}
  - {name: b, match: {items: ["06010"]}, co: ["{street}-cgzd", "{street}-lhsrs"], continue: true}
  - {name: c, match: {items: ["06010"], sources: [patrol]}, lead: 310106-lhsrj}
  - {name: d, match: {items: ["06010"]}, lead: 310106-lhsrj, co: [310106-cyzx]}
  - {name: street-desk, lead: "{street}-cyzx"}
  - {name: district-desk, lead: "{district}-cyzx"}
`)
	tests := []struct {
		name string
		c    Case
		want summary
	}{
		{"patrol: c ends the chain", Case{Item: "06010", Street: zj, Source: reference.FromPatrol, Received: at(mon)},
			summary{Lead: zj + "-lhsrs by a", Co: []string{zj + "-cgzd by b", "310106-lhsrj by c"}, Fired: []string{"a", "b", "c"}}},
		{"hotline: d ends the chain", Case{Item: "06010", Street: zj, Source: reference.FromHotline, Received: at(mon)},
			summary{Lead: zj + "-lhsrs by a", Co: []string{zj + "-cgzd by b", "310106-lhsrj by d", "310106-cyzx by d"}, Fired: []string{"a", "b", "d"}}},
	}
	for _, tt := range tests {
		d, err := Decide(set, tt.c)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, summarise(d)); diff != "" {
			t.Errorf("%s: decision mismatch (-want +got):\n%s", tt.name, diff)
		}
	}

	set = withRules(t, `rules:
  - {name: watch, match: {sources: [secretary]}, co: ["{street}-cyzx"], continue: true}
  - {name: a, match: {items: ["06010"]}, lead: "{street}-lhsrs", continue: true}
  - {name: street-desk, lead: "{street}-cyzx"}
  - {name: district-desk, lead: "{district}-cyzx"}
`)
	d, err := Decide(set, Case{Item: "06010", Street: zj, Source: reference.FromSecretary, Received: at(mon)})
	if err != nil {
		t.Fatal(err)
	}
	want := summary{Lead: zj + "-lhsrs by a", Co: []string{zj + "-cyzx by watch"}, Fired: []string{"watch", "a"}}
	if diff := cmp.Diff(want, summarise(d)); diff != "" {
		t.Errorf("fallback after a continuing lead: mismatch (-want +got):\n%s", diff)
	}
	// A co-only rule may name the unit that later leads: it keeps one role.
	d, _ = Decide(set, Case{Item: "05001", Street: zj, Source: reference.FromSecretary, Received: at(mon)})
	want = summary{Lead: zj + "-cyzx by street-desk", Fired: []string{"watch", "street-desk"}}
	if diff := cmp.Diff(want, summarise(d)); diff != "" {
		t.Errorf("co-only then lead: mismatch (-want +got):\n%s", diff)
	}
}

func TestRouterIsCachedPerSet(t *testing.T) {
	set := defaults(t)
	first := routerFor(set)
	if routerFor(set) != first {
		t.Error("the router of one set is rebuilt")
	}
	other := defaults(t)
	if r := routerFor(other); r.set != other {
		t.Error("a new set reuses the old router")
	}
}
