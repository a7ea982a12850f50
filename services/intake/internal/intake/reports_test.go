package intake

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/address"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/reference"
)

// fakePlaces knows one street with one community and one grid, and a city
// square around it; enough to exercise the rules without reference data.
type fakePlaces struct{}

func (fakePlaces) CheckCodes(prefix, district, street, community, grid string, v *fault.Violations) Area {
	a := Area{AreaCodes: reference.AreaCodes{District: reference.Unknown, Street: reference.Unknown, Community: reference.Unknown, Grid: reference.Unknown}}
	if community != "" {
		if community != "310106022001" {
			v.Add(prefix+"community_code", "unknown community code %q", community)
			return a
		}
		a = Area{AreaCodes: reference.AreaCodes{District: "310106", Street: "310106022", Community: community, Grid: reference.Unknown}, Resolution: ResolvedByCodes}
	}
	if grid != "" {
		if grid != "310106022001001" {
			v.Add(prefix+"grid_code", "unknown grid code %q", grid)
			return a
		}
		a = Area{AreaCodes: reference.AreaCodes{District: "310106", Street: "310106022", Community: "310106022001", Grid: grid}, Resolution: ResolvedByCodes}
	}
	return a
}

func (fakePlaces) Locate(p LatLng) (Area, bool) {
	if p.Lat > 31.25 && p.Lat < 31.26 {
		return Area{AreaCodes: reference.AreaCodes{District: "310106", Street: "310106022", Community: "310106022001", Grid: "310106022001001"}, Resolution: ResolvedByCoordinates}, true
	}
	return Area{}, false
}
func (fakePlaces) InCity(p LatLng) bool {
	return p.Lat > 31 && p.Lat < 32 && p.Lng > 121 && p.Lng < 122
}
func (fakePlaces) ToWGS84(p LatLng) LatLng       { return LatLng{Lat: p.Lat, Lng: p.Lng, Datum: WGS84} }
func (fakePlaces) KnownItem(c string) bool       { return c == "06010" }
func (fakePlaces) KnownDepartment(c string) bool { return c == "310106022-cgzd" }
func (fakePlaces) NormaliseAddress(raw, _ string) (address.Record, Area, bool) {
	return address.Record{Raw: raw}, Area{}, false
}

// memStore keeps submissions in memory; the real store is tested against
// PostgreSQL in internal/postgres.
type memStore struct{ subs []*Submission }

func (m *memStore) Create(_ context.Context, s *Submission) (*Submission, bool, error) {
	for _, x := range m.subs {
		if x.Principal == s.Principal && x.RequestID == s.RequestID {
			return x, false, nil
		}
	}
	s.CaseID, s.CaseNumber = "id", "GF-20261122-000001"
	m.subs = append(m.subs, s)
	return s, true, nil
}
func (m *memStore) Get(context.Context, Key) (*Submission, error) {
	return nil, fault.NotFoundf("x", "none")
}
func (m *memStore) AddFollowUp(context.Context, Key, *FollowUp, func(*Submission) error) (*FollowUp, bool, error) {
	return nil, false, nil
}
func (m *memStore) List(context.Context, ListFilter) ([]*Submission, string, error) {
	return nil, "", nil
}
func (m *memStore) OpenTasks(context.Context, string) ([]TaskHolder, error) { return nil, nil }
func (m *memStore) RecordContactRead(context.Context, ContactRead) error    { return nil }

func as(role auth.Role, subject string) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Role: role, Subject: subject})
}

func fields(err error) []string {
	f, ok := err.(*fault.Error)
	if !ok {
		return nil
	}
	var out []string
	for _, v := range f.Violations {
		out = append(out, v.Field)
	}
	return out
}

func TestPatrolReportRules(t *testing.T) {
	t.Parallel()
	good := func() PatrolReport {
		return PatrolReport{RequestID: "p-1", Description: "消防通道堵塞", Location: &LatLng{Lat: 31.255, Lng: 121.45, Datum: WGS84},
			ObservedAt: now.Add(-time.Minute)}
	}
	tests := []struct {
		name     string
		mutate   func(*PatrolReport)
		want     []string
		wantKind fault.Kind
	}{
		{"valid", func(*PatrolReport) {}, nil, 0},
		{"no location", func(r *PatrolReport) { r.Location = nil }, []string{"report.location"}, fault.InvalidArgument},
		{"outside the city", func(r *PatrolReport) { r.Location = &LatLng{Lat: 39.9, Lng: 116.4, Datum: WGS84} }, []string{"report.location"}, fault.InvalidArgument},
		{"in no grid", func(r *PatrolReport) { r.Location = &LatLng{Lat: 31.5, Lng: 121.45, Datum: WGS84} }, []string{"report.location"}, fault.InvalidArgument},
		{"grid given, point in no grid", func(r *PatrolReport) {
			r.Location, r.GridCode = &LatLng{Lat: 31.5, Lng: 121.45, Datum: WGS84}, "310106022001001"
		}, nil, 0},
		{"unknown grid", func(r *PatrolReport) { r.GridCode = "310106022001999" }, []string{"report.grid_code"}, fault.InvalidArgument},
		{"unknown item", func(r *PatrolReport) { r.CatalogueCode = "99999" }, []string{"report.catalogue_code"}, fault.InvalidArgument},
		{"known item", func(r *PatrolReport) { r.CatalogueCode = "06010" }, nil, 0},
		{"empty description", func(r *PatrolReport) { r.Description = " " }, []string{"report.description"}, fault.InvalidArgument},
		{"future", func(r *PatrolReport) { r.ObservedAt = now.Add(time.Hour) }, []string{"report.observed_at"}, fault.InvalidArgument},
		{"no request id", func(r *PatrolReport) { r.RequestID = "" }, []string{"report.request_id"}, fault.InvalidArgument},
		{"other worker", func(r *PatrolReport) { r.WorkerID = "w-2" }, nil, fault.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc := New(&memStore{}, fakePlaces{}, fakePlaces{}, func() time.Time { return now })
			r := good()
			tt.mutate(&r)
			sub, err := svc.SubmitPatrolReport(as(auth.RolePatrol, "w-1"), r)
			if tt.wantKind == 0 {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if sub.Patrol.WorkerID != "w-1" || sub.Area.Grid != "310106022001001" {
					t.Errorf("submission = %+v", sub)
				}
				return
			}
			if fault.KindOf(err) != tt.wantKind {
				t.Fatalf("err = %v, want %v", err, tt.wantKind)
			}
			if diff := cmp.Diff(tt.want, fields(err)); diff != "" {
				t.Errorf("fields mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIssueRules(t *testing.T) {
	t.Parallel()
	good := func() Issue {
		return Issue{RequestID: "i-1", Title: "占道经营", Content: "菜场门口占道经营"}
	}
	tests := []struct {
		name     string
		mutate   func(*Issue)
		want     []string
		wantKind fault.Kind
	}{
		{"valid", func(*Issue) {}, nil, 0},
		{"whistle", func(i *Issue) { i.WhistleDepartments = []string{"310106022-cgzd"} }, nil, 0},
		{"unknown department", func(i *Issue) { i.WhistleDepartments = []string{"nope"} }, []string{"issue.whistle_departments[0]"}, fault.InvalidArgument},
		{"department twice", func(i *Issue) { i.WhistleDepartments = []string{"310106022-cgzd", "310106022-cgzd"} },
			[]string{"issue.whistle_departments[1]"}, fault.InvalidArgument},
		{"no title", func(i *Issue) { i.Title = "" }, []string{"issue.title"}, fault.InvalidArgument},
		{"other community", func(i *Issue) { i.CommunityCode = "310106021001" }, nil, fault.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc := New(&memStore{}, fakePlaces{}, fakePlaces{}, func() time.Time { return now })
			is := good()
			tt.mutate(&is)
			sub, err := svc.RaiseIssue(as(auth.RoleSecretary, "310106022001"), is)
			if tt.wantKind == 0 {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if sub.Area.Community != "310106022001" {
					t.Errorf("area = %+v", sub.Area)
				}
				return
			}
			if fault.KindOf(err) != tt.wantKind {
				t.Fatalf("err = %v, want %v", err, tt.wantKind)
			}
			if diff := cmp.Diff(tt.want, fields(err)); diff != "" {
				t.Errorf("fields mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFollowUpRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  Key
		f    FollowUp
		want []string
	}{
		{"no kind", Key{CaseNumber: "GF-1"}, FollowUp{RequestID: "f"}, []string{"kind"}},
		{"unknown kind", Key{CaseNumber: "GF-1"}, FollowUp{RequestID: "f", Kind: "enum#9"}, []string{"kind"}},
		{"supplement needs text", Key{CaseNumber: "GF-1"}, FollowUp{RequestID: "f", Kind: FollowUpSupplement}, []string{"text"}},
		{"withdraw needs a reason", Key{CaseNumber: "GF-1"}, FollowUp{RequestID: "f", Kind: FollowUpWithdraw}, []string{"text"}},
		{"both keys", Key{CaseNumber: "GF-1", HotlineOrderNo: "H"}, FollowUp{RequestID: "f", Kind: FollowUpUrge}, []string{"case"}},
		{"no key", Key{}, FollowUp{RequestID: "f", Kind: FollowUpUrge}, []string{"case"}},
		{"no request id", Key{CaseNumber: "GF-1"}, FollowUp{Kind: FollowUpUrge}, []string{"request_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc := New(&memStore{}, fakePlaces{}, fakePlaces{}, func() time.Time { return now })
			_, err := svc.AddFollowUp(as(auth.RoleHotline, ""), tt.key, tt.f)
			if diff := cmp.Diff(tt.want, fields(err)); diff != "" {
				t.Errorf("fields mismatch (-want +got):\n%s (err %v)", diff, err)
			}
		})
	}
}
