package intake

import (
	"testing"

	"github.com/gridflow/gridflow/pkg/address"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/reference"
)

// TestMayReadContact is the contact-read rule as a table: every role, the
// case's street or another, open tasks held or not, a named and an
// anonymous caller, a missing case.
func TestMayReadContact(t *testing.T) {
	t.Parallel()
	named := &Submission{Source: reference.FromHotline, WorkOrder: &WorkOrder{CallerName: "王小明"},
		Area: Area{AreaCodes: reference.AreaCodes{District: "310106", Street: "310106022"}}}
	anon := &Submission{Source: reference.FromHotline, WorkOrder: &WorkOrder{Anonymous: true}, Area: named.Area}
	patrol := &Submission{Source: reference.FromPatrol, Patrol: &PatrolReport{}, Area: named.Area}
	open := []TaskHolder{{TaskID: "t1", Department: "cgj", Lead: true}, {TaskID: "t2", Department: "fgj"},
		{TaskID: "t3", Department: "hbj"}, {TaskID: "t4", Department: "hbj", Lead: true}}
	p := func(role auth.Role, subject string) auth.Principal {
		return auth.Principal{Role: role, Subject: subject}
	}
	for _, tc := range []struct {
		name string
		p    auth.Principal
		sub  *Submission
		want Grant // "" = refused
	}{
		{"hotline", p(auth.RoleHotline, ""), named, GrantHotline},
		{"hotline, anonymous caller", p(auth.RoleHotline, ""), anon, GrantHotline},
		{"hotline, patrol report", p(auth.RoleHotline, ""), patrol, ""},
		{"hotline, no such case", p(auth.RoleHotline, ""), nil, ""},
		{"the street's dispatcher", p(auth.RoleDispatcher, "310106022"), named, GrantStreetDispatcher},
		{"another street's dispatcher", p(auth.RoleDispatcher, "310106021"), named, ""},
		{"a dispatcher of no street", p(auth.RoleDispatcher, ""), named, ""},
		{"the street's dispatcher, anonymous caller", p(auth.RoleDispatcher, "310106022"), anon, ""},
		{"lead department", p(auth.RoleDepartment, "cgj"), named, GrantLeadDepartment},
		{"co-handler", p(auth.RoleDepartment, "fgj"), named, GrantCoHandler},
		{"co-handler and lead: the lead grant", p(auth.RoleDepartment, "hbj"), named, GrantLeadDepartment},
		{"a department without an open task", p(auth.RoleDepartment, "jyj"), named, ""},
		{"lead department, anonymous caller", p(auth.RoleDepartment, "cgj"), anon, ""},
		{"district", p(auth.RoleDistrict, "310106"), named, ""},
		{"secretary", p(auth.RoleSecretary, "310106022001"), named, ""},
		{"patrol", p(auth.RolePatrol, "w-1"), named, ""},
		{"system", p(auth.RoleSystem, "feedback"), named, ""},
		{"admin", p(auth.RoleAdmin, ""), named, GrantAdmin},
		{"admin, anonymous caller", p(auth.RoleAdmin, ""), anon, ""},
		{"admin, no such case", p(auth.RoleAdmin, ""), nil, ""},
	} {
		holders := open
		if tc.p.Role != auth.RoleDepartment {
			holders = nil // ReadContact looks them up for departments only
		}
		got, ok := mayReadContact(tc.p, tc.sub, holders)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: mayReadContact = %q, %v; want %q", tc.name, got, ok, tc.want)
		}
	}
}

// TestMasked: what every reader sees of a submission — named and anonymous
// callers, phone numbers in every free text — and that the stored one is
// left as it was.
func TestMasked(t *testing.T) {
	t.Parallel()
	sub := &Submission{Source: reference.FromHotline,
		Address:  address.Record{Raw: "共和新路1234弄5号", Road: "共和新路", Lane: 1234, Number: 5, Key: "静安区|共和新路|1234|5|"},
		Location: &LatLng{Lat: 31.2712345, Lng: 121.4512345, Datum: WGS84},
		WorkOrder: &WorkOrder{CallerName: "王小明", CallerPhone: "13812345678", Title: "t 13812345678", Content: "c 13812345678",
			Answer: "a 13812345678", Address: "共和新路1234弄5号", Location: &LatLng{Lat: 31.2712345, Lng: 121.4512345}},
		FollowUps: []FollowUp{{Text: "新号码13987654321"}}}
	m := sub.Masked()
	if wo := m.WorkOrder; wo.CallerName != "王**" || wo.CallerPhone != "138****5678" || wo.Title != "t 138****5678" ||
		wo.Content != "c 138****5678" || wo.Answer != "a 138****5678" || wo.Address != "共和新路1234弄5号" ||
		m.Address.Number != 5 || m.Location.Lat != 31.2712345 || m.FollowUps[0].Text != "新号码139****4321" {
		t.Errorf("named caller masked to %+v / %+v", wo, m)
	}
	if sub.WorkOrder.CallerPhone != "13812345678" || sub.FollowUps[0].Text != "新号码13987654321" {
		t.Error("Masked changed the stored submission")
	}

	anon := *sub
	wo := *sub.WorkOrder
	wo.Anonymous = true
	anon.WorkOrder = &wo
	m = anon.Masked()
	if w := m.WorkOrder; w.CallerName != "" || w.CallerPhone != "" || w.Address != "共和新路1234弄" || m.Address.Number != 0 ||
		m.Address.Key != "静安区|共和新路|1234||" || m.Location.Lat != 31.271 || w.Location.Lng != 121.451 {
		t.Errorf("anonymous caller masked to %+v / %+v", w, m)
	}

	p := &Submission{Source: reference.FromPatrol, Patrol: &PatrolReport{Description: "d 13812345678"},
		Issue: &Issue{Title: "i 021-62345678", Content: "c 13812345678"}}
	if m := p.Masked(); m.Patrol.Description != "d 138****5678" || m.Issue.Title != "i 021-****5678" || m.Issue.Content != "c 138****5678" {
		t.Errorf("texts masked to %+v %+v", m.Patrol, m.Issue)
	}
}
