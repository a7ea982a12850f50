package reference

import (
	"errors"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/workcal"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func TestResolveSLA(t *testing.T) {
	t.Parallel()
	s := defaults(t)
	type lim struct{ d, src, due string }
	tests := []struct {
		name                  string
		q                     SLAQuery
		ack, onSite, complete lim
		warn                  float64
	}{
		{"normal complaint", SLAQuery{Item: "H13001", AppealType: Complaint, Received: at("2026-03-02 10:00")},
			lim{"2 working_hours", "urgency normal", "2026-03-02 12:00"}, lim{}, lim{"15 working_days", "appeal type complaint", "2026-03-23 10:00"}, 0.8},
		{"consultation over the Spring Festival", SLAQuery{Item: "H02001", AppealType: Consultation, Received: at("2026-02-13 10:00")},
			lim{"2 working_hours", "urgency normal", "2026-02-13 12:00"}, lim{}, lim{"2 working_days", "appeal type consultation", "2026-02-24 10:00"}, 0.8},
		{"patrol report without appeal type", SLAQuery{Item: "05001", Received: at("2026-03-02 10:00")},
			lim{"2 working_hours", "urgency normal", "2026-03-02 12:00"}, lim{}, lim{"10 working_days", "urgency normal", "2026-03-16 10:00"}, 0.8},
		{"praise has no limit of its own", SLAQuery{Item: "H02001", AppealType: Praise, Received: at("2026-03-02 10:00")},
			lim{"2 working_hours", "urgency normal", "2026-03-02 12:00"}, lim{}, lim{"10 working_days", "urgency normal", "2026-03-16 10:00"}, 0.8},
		{"item profile is stricter", SLAQuery{Item: "06010", AppealType: Complaint, Received: at("2026-03-02 16:00")},
			lim{"2 working_hours", "urgency normal", "2026-03-03 09:30"}, lim{}, lim{"4 working_hours", "item 06010 profile garbage", "2026-03-03 11:30"}, 0.8},
		{"emergency at night in clock time", SLAQuery{Item: "09013", Urgency: Emergency, Received: at("2026-03-07 22:00")},
			lim{"15m clock", "urgency emergency", "2026-03-07 22:15"}, lim{}, lim{"2h clock", "urgency emergency", "2026-03-08 00:00"}, 0.8},
		{"emergency beats the item profile", SLAQuery{Item: "06010", Urgency: Emergency, Received: at("2026-03-02 09:00")},
			lim{"15m clock", "urgency emergency", "2026-03-02 09:15"}, lim{}, lim{"2h clock", "urgency emergency", "2026-03-02 11:00"}, 0.8},
		{"utility emergency relaxes to 24h", SLAQuery{Item: "H01006", Urgency: Emergency, Received: at("2026-03-07 22:00")},
			lim{"15m clock", "urgency emergency", "2026-03-07 22:15"}, lim{}, lim{"24h clock", "item H01006 profile utility (emergency)", "2026-03-08 22:00"}, 0.8},
		{"utility urgent acks in clock time", SLAQuery{Item: "H01006", Urgency: Urgent, Received: at("2026-03-02 20:00")},
			lim{"30m clock", "item H01006 profile utility (urgent)", "2026-03-02 20:30"}, lim{}, lim{"1 working_day", "urgency urgent", "2026-03-04 09:00"}, 0.8},
		{"urgent in working time", SLAQuery{Item: "04001", Urgency: Urgent, Received: at("2026-03-02 17:20")},
			lim{"30 working_minutes", "urgency urgent", "2026-03-03 09:20"}, lim{}, lim{"1 working_day", "urgency urgent", "2026-03-03 17:20"}, 0.8},
		{"rule profile at night", SLAQuery{Item: "06020", AppealType: Complaint, RuleProfile: "night_response", Received: at("2026-03-02 23:00")},
			lim{"15m clock", "rule profile night_response", "2026-03-02 23:15"}, lim{"30m clock", "rule profile night_response", "2026-03-02 23:30"},
			lim{"2h clock", "rule profile night_response", "2026-03-03 01:00"}, 0.8},
		{"whistle adds the on-site limit", SLAQuery{Item: "09006", AppealType: Help, Whistle: true, Received: at("2026-03-02 10:00")},
			lim{"2 working_hours", "urgency normal", "2026-03-02 12:00"}, lim{"30m clock", "whistle", "2026-03-02 10:30"},
			lim{"10 working_days", "appeal type help", "2026-03-16 10:00"}, 0.8},
		{"illegal structure replaces the appeal limit", SLAQuery{Item: "06001", AppealType: Complaint, Received: at("2026-03-02 10:00")},
			lim{"2 working_hours", "urgency normal", "2026-03-02 12:00"}, lim{"4 working_hours", "item 06001 profile illegal_structure", "2026-03-02 15:30"},
			lim{"20 working_days", "item 06001 profile illegal_structure (normal)", "2026-03-30 10:00"}, 0.8},
		{"whistle is stricter than a working-time on-site limit", SLAQuery{Item: "06001", Whistle: true, Received: at("2026-03-02 10:00")},
			lim{"2 working_hours", "urgency normal", "2026-03-02 12:00"}, lim{"30m clock", "whistle", "2026-03-02 10:30"},
			lim{"20 working_days", "item 06001 profile illegal_structure (normal)", "2026-03-30 10:00"}, 0.8},
		// Which limit is strictest depends on when the case arrives.
		{"working hours win on a Monday morning", SLAQuery{Item: "H01006", Urgency: Emergency, RuleProfile: "waterlogging", Received: at("2026-03-02 09:00")},
			lim{"15m clock", "urgency emergency", "2026-03-02 09:15"}, lim{}, lim{"4 working_hours", "rule profile waterlogging", "2026-03-02 14:30"}, 0.8},
		{"clock time wins on a Friday evening", SLAQuery{Item: "H01006", Urgency: Emergency, RuleProfile: "waterlogging", Received: at("2026-03-06 17:00")},
			lim{"15m clock", "urgency emergency", "2026-03-06 17:15"}, lim{}, lim{"24h clock", "item H01006 profile utility (emergency)", "2026-03-07 17:00"}, 0.8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := s.ResolveSLA(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				field string
				got   Limit
				want  lim
			}{{"ack", got.Ack, tt.ack}, {"on_site", got.OnSite, tt.onSite}, {"complete", got.Complete, tt.complete}} {
				if c.want == (lim{}) {
					if !c.got.IsZero() {
						t.Errorf("%s = %v from %s, want none", c.field, c.got.Duration, c.got.Source)
					}
					continue
				}
				if c.got.Duration.String() != c.want.d || c.got.Source != c.want.src || !c.got.Due.Equal(at(c.want.due)) {
					t.Errorf("%s = %v from %q due %s; want %s from %q due %s", c.field, c.got.Duration, c.got.Source,
						c.got.Due.In(shanghai).Format("2006-01-02 15:04"), c.want.d, c.want.src, c.want.due)
				}
				if c.got.WarnAt.After(c.got.Due) || c.got.WarnAt.Before(tt.q.Received) {
					t.Errorf("%s warns at %v, outside [received, due]", c.field, c.got.WarnAt)
				}
			}
			if got.Warn != tt.warn {
				t.Errorf("warn = %v, want %v", got.Warn, tt.warn)
			}
		})
	}
}

func TestResolveSLAWarnAndFlags(t *testing.T) {
	t.Parallel()
	s, err := loadEdited(t, edit{FileSLA, "  garbage:\n    description: 暴露垃圾、垃圾站满溢\n", "  garbage:\n    description: 暴露垃圾、垃圾站满溢\n    warn: 0.5\n"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ResolveSLA(SLAQuery{Item: "06010", Received: at("2026-03-02 09:00")})
	if err != nil {
		t.Fatal(err)
	}
	// 4 working hours from 09:00 are due 14:30; half of them have run at 11:00.
	if got.Warn != 0.5 || !got.Complete.WarnAt.Equal(at("2026-03-02 11:00")) {
		t.Errorf("warn %v at %v", got.Warn, got.Complete.WarnAt)
	}
	got, _ = defaults(t).ResolveSLA(SLAQuery{Item: "H13001", AppealType: Complaint, Received: at("2026-12-28 10:00")})
	if got.Complete.Flags != workcal.Provisional || got.Ack.Flags != 0 {
		t.Errorf("flags: complete %v, ack %v", got.Complete.Flags, got.Ack.Flags)
	}
}

func TestResolveSLAErrors(t *testing.T) {
	t.Parallel()
	s := defaults(t)
	now := at("2026-03-02 10:00")
	for _, tt := range []struct {
		q    SLAQuery
		want error
	}{
		{SLAQuery{Item: "06999", Received: now}, ErrUnknownItem},
		{SLAQuery{RuleProfile: "turbo", Received: now}, ErrUnknownProfile},
		{SLAQuery{Item: "06010"}, ErrBadQuery},
		{SLAQuery{Urgency: "asap", Received: now}, ErrBadQuery},
		{SLAQuery{AppealType: "rant", Received: now}, ErrBadQuery},
	} {
		if _, err := s.ResolveSLA(tt.q); !errors.Is(err, tt.want) {
			t.Errorf("ResolveSLA(%+v) = %v, want %v", tt.q, err, tt.want)
		}
	}
	if _, err := s.ResolveSLA(SLAQuery{Received: now}); err != nil {
		t.Errorf("an unclassified case: %v", err)
	}
}

func TestEscalation(t *testing.T) {
	t.Parallel()
	e := defaults(t).Escalation()
	if len(e.Ack) != 2 || len(e.Complete) != 3 {
		t.Fatalf("ladders: %+v", e)
	}
	last := e.Complete[2]
	if last.When != AtOverdue || last.Action != Escalate || last.To != ToDistrictDesk || last.After != workcal.Days(2) {
		t.Errorf("last complete step = %+v", last)
	}
}
