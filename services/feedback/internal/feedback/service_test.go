package feedback

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/workcal"
)

var calendar = func() Calendar {
	s, err := reference.LoadDefault()
	if err != nil {
		panic(err)
	}
	return s.Calendar()
}()

// now is Monday 2 March 2026, 11:00 in Shanghai: the decisions' clock.
var now = t0.Add(time.Hour)

// decider is a service whose decisions need no store: decide is a pure
// function of the projected case, the clock and the calendar. Operations
// that reach the store are tested against PostgreSQL (operations_test.go).
func decider() *Service {
	return New(Config{}, nil, nil, func() Calendar { return calendar }, func() time.Time { return now })
}

// facts lists the decided events' facts with their generated ids, times
// and reply texts cleared.
func facts(evs []Event) []Fact {
	var out []Fact
	for _, e := range evs {
		if r, ok := e.Fact.(*CaseReplied); ok {
			r.Reply.ID, r.Reply.Text, r.Reply.At = "", "", time.Time{}
		}
		out = append(out, e.Fact)
	}
	return out
}

// TestDecide: the events a case's facts call for. The callback is due
// three working days after the reply (the default window), on the working
// calendar.
func TestDecide(t *testing.T) {
	t.Parallel()
	due, _ := calendar.AddWorking(now, workcal.Duration{Kind: workcal.WorkingDays, Days: 3})
	if want := time.Date(2026, 3, 5, 3, 0, 0, 0, time.UTC); !due.Equal(want) {
		t.Fatalf("a reply on Monday 11:00 has its callback due %v, want Thursday 11:00 (%v)", due, want)
	}
	done := loop(Hotline)[:5] // the lead completed, nothing decided yet
	results := []Result{{TaskID: "t1", Department: "310106022-cgzd", Role: RoleLead, Text: "已清理", Evidence: []string{"s3://e/t1"},
		CompletedAt: t0.Add(4 * time.Minute)}}
	resolved := &CaseResolved{Round: 0, LeadTaskID: "t1", Results: results}
	reply := &CaseReplied{Reply: Reply{Round: 0, Results: results}, CallbackDue: due}
	noCallback := received(Hotline)
	noCallback.NoCallback = true
	pending := snap("t1", "310106022-cgzd", RoleLead, TaskStateCompleted, 0, ReviewPending)
	approved := snap("t1", "310106022-cgzd", RoleLead, TaskStateCompleted, 0, ReviewApproved)
	primaryDone := Project("p1", stored(with(loop(Hotline), replied(6, 0))))
	primaryOpen := Project("p1", stored(loop(Hotline)[:4]))
	dup := []Event{ev(0, received(Hotline)), ev(1, duplicateOf("p1"))}

	for _, tc := range []struct {
		name    string
		evs     []Event
		primary *Case
		want    []Fact
	}{
		{"the lead's completion resolves and replies", done, nil, []Fact{resolved, reply}},
		{"nothing completed yet", loop(Hotline)[:4], nil, nil},
		{"completion pending review", with(loop(Hotline)[:4], ev(4, completed(pending, "已清理"))), nil, nil},
		{"completion approved", with(loop(Hotline)[:4], ev(4, completed(pending, "已清理")), ev(5, &TaskCompletionApproved{TaskSnapshot: approved})),
			nil, []Fact{resolved, reply}},
		{"a co-handler's completion does not resolve",
			with(loop(Hotline)[:3], ev(3, completed(snap("t2", "310106022-scjg", RoleCoHandler, TaskStateCompleted, 0, ReviewNotRequired), "协助"))),
			nil, nil},
		{"a patrol case waits for its re-check", loop(Patrol)[:5], nil, []Fact{resolved}},
		{"no callback wanted: replied and closed",
			append([]Event{ev(0, noCallback)}, loop(Hotline)[1:5]...), nil,
			[]Fact{resolved, &CaseReplied{Reply: Reply{Round: 0, Results: results}}, &CaseClosed{Round: 0, Reason: "no_callback"}}},
		{"already resolved this round", loop(Hotline), nil, nil},
		{"the hotline withdrew it", with(loop(Hotline)[:4], ev(4, &CaseFollowedUp{ID: "f1", Withdraw: true})), nil,
			[]Fact{&CaseWithdrawn{Round: 0, FollowUpID: "f1", Text: "hotline withdrew the case"}}},
		{"withdrawn already", with(loop(Hotline)[:4], ev(4, &CaseFollowedUp{ID: "f1", Withdraw: true}), ev(5, &CaseWithdrawn{FollowUpID: "f1"})),
			nil, nil},
		{"parked: nothing resolves", with(loop(Hotline)[:4], ev(4, &CaseParked{Reason: "挂账"}), ev(5, completed(lead("t1", TaskStateCompleted, 0), "已清理"))),
			nil, nil},
		{"unparked after the completion: resolves now",
			with(loop(Hotline)[:4], ev(4, &CaseParked{Reason: "挂账"}), ev(5, completed(lead("t1", TaskStateCompleted, 0), "已清理")), ev(6, &CaseUnparked{})),
			nil, []Fact{&CaseResolved{Round: 0, LeadTaskID: "t1", Results: []Result{{TaskID: "t1", Department: "310106022-cgzd", Role: RoleLead,
				Text: "已清理", Evidence: []string{"s3://e/t1"}, CompletedAt: t0.Add(5 * time.Minute)}}}, &CaseReplied{Reply: Reply{Round: 0,
				Results: []Result{{TaskID: "t1", Department: "310106022-cgzd", Role: RoleLead, Text: "已清理", Evidence: []string{"s3://e/t1"},
					CompletedAt: t0.Add(5 * time.Minute)}}}, CallbackDue: due}}},
		{"cancelled", with(done, ev(5, &CaseCancelled{Reason: "x"})), nil, nil},
		{"closed", with(loop(Hotline), replied(6, 0), ev(7, &CaseClosed{Round: 0, Reason: "callback"})), nil, nil},
		{"answered", []Event{ev(0, &CaseReceived{Source: Hotline, Answered: true}), ev(1, &CaseFollowedUp{ID: "f", Withdraw: true})}, nil, nil},
		{"merged, primary still at work", dup, primaryOpen, nil},
		{"merged, primary unknown", dup, nil, nil},
		{"merged, primary resolved: resolved with its results and replied", dup, primaryDone,
			[]Fact{&CaseResolved{Round: 0, LeadTaskID: "p1", Results: results}, reply}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := Project("c1", stored(tc.evs))
			got := facts(decider().decide(c, tc.primary))
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("decided facts mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestDecideComposesTheReply(t *testing.T) {
	t.Parallel()
	c := Project("c1", stored(loop(Hotline)[:5]))
	evs := decider().decide(c, nil)
	if len(evs) != 2 {
		t.Fatalf("decided %d events, want resolved and replied", len(evs))
	}
	r := evs[1].Fact.(*CaseReplied).Reply
	if r.ID == "" || !r.At.Equal(now) || r.Text != "您反映的问题（GF-20260302-000001，占道经营）已办结。主办单位310106022-cgzd：已清理。" {
		t.Errorf("reply = %+v", r)
	}
}

// violations returns err's field violations, failing unless err is an
// InvalidArgument fault.
func violations(t *testing.T, err error) []string {
	t.Helper()
	var f *fault.Error
	if !errors.As(err, &f) || f.Kind != fault.InvalidArgument {
		t.Fatalf("err = %v, want InvalidArgument", err)
	}
	var out []string
	for _, v := range f.Violations {
		if v.Reason == "" {
			t.Errorf("violation of %s gives no reason", v.Field)
		}
		out = append(out, v.Field)
	}
	return out
}

const caseID = "0190f5a4-8f7e-7c3a-9d51-2c9e1d0b7a11"

// Bad input is refused before any store is touched (the service here has
// none): InvalidArgument naming every field at fault.
func TestValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := decider()
	long := strings.Repeat("x", 65)
	okCB := CallbackInput{RequestID: "r1", CaseID: caseID, Reached: true, Solved: true, Satisfaction: Satisfied}
	cb := func(f func(*CallbackInput)) CallbackInput { in := okCB; f(&in); return in }
	okRC := RecheckInput{RequestID: "r1", CaseID: caseID, Passed: true, Photos: []string{"s3://p/1.jpg"}}
	period := Period{Start: t0, End: t0.Add(24 * time.Hour)}
	rc := func(f func(*RecheckInput)) RecheckInput { in := okRC; f(&in); return in }

	for _, tc := range []struct {
		name string
		call func() error
		want []string
	}{
		{"callback: no request id", func() error {
			_, _, err := s.RecordCallback(ctx, everything, "hotline", cb(func(in *CallbackInput) { in.RequestID = "" }))
			return err
		}, []string{"request_id"}},
		{"callback: request id of 65 characters", func() error {
			_, _, err := s.RecordCallback(ctx, everything, "hotline", cb(func(in *CallbackInput) { in.RequestID = long }))
			return err
		}, []string{"request_id"}},
		{"callback: case id not a case id", func() error {
			_, _, err := s.RecordCallback(ctx, everything, "hotline", cb(func(in *CallbackInput) { in.CaseID = "GF-20260302-000001" }))
			return err
		}, []string{"case_id"}},
		{"callback: no case id", func() error {
			_, _, err := s.RecordCallback(ctx, everything, "hotline", cb(func(in *CallbackInput) { in.CaseID = "" }))
			return err
		}, []string{"case_id"}},
		{"callback: note not UTF-8", func() error {
			_, _, err := s.RecordCallback(ctx, everything, "hotline", cb(func(in *CallbackInput) { in.Note = "\xff\xfe" }))
			return err
		}, []string{"note"}},
		{"callback: note of 2001 characters", func() error {
			_, _, err := s.RecordCallback(ctx, everything, "hotline", cb(func(in *CallbackInput) { in.Note = strings.Repeat("好", 2001) }))
			return err
		}, []string{"note"}},
		{"callback: reached without a rating", func() error {
			_, _, err := s.RecordCallback(ctx, everything, "hotline", cb(func(in *CallbackInput) { in.Satisfaction = "" }))
			return err
		}, []string{"satisfaction"}},
		{"callback: reached with an unknown rating", func() error {
			_, _, err := s.RecordCallback(ctx, everything, "hotline", cb(func(in *CallbackInput) { in.Satisfaction = "delighted" }))
			return err
		}, []string{"satisfaction"}},
		{"callback: every problem at once", func() error {
			_, _, err := s.RecordCallback(ctx, everything, "hotline", CallbackInput{CaseID: "x", Reached: true, Note: "\xff"})
			return err
		}, []string{"request_id", "case_id", "note", "satisfaction"}},
		{"re-check: no request id", func() error {
			_, _, err := s.RecordRecheck(ctx, everything, "patrol:w1", "w1", rc(func(in *RecheckInput) { in.RequestID = "" }))
			return err
		}, []string{"request_id"}},
		{"re-check: case id not a case id", func() error {
			_, _, err := s.RecordRecheck(ctx, everything, "patrol:w1", "w1", rc(func(in *RecheckInput) { in.CaseID = "HL-1" }))
			return err
		}, []string{"case_id"}},
		{"re-check: note not UTF-8", func() error {
			_, _, err := s.RecordRecheck(ctx, everything, "patrol:w1", "w1", rc(func(in *RecheckInput) { in.Note = "\xc3" }))
			return err
		}, []string{"note"}},
		{"re-check: bad photos", func() error {
			_, _, err := s.RecordRecheck(ctx, everything, "patrol:w1", "w1", rc(func(in *RecheckInput) {
				in.Photos = []string{"s3://ok", "", strings.Repeat("p", 1025), "\xff"}
			}))
			return err
		}, []string{"photos[1]", "photos[2]", "photos[3]"}},
		{"get case: no reference", func() error { _, _, err := s.GetCase(ctx, everything, "", "", ""); return err }, []string{"case_id"}},
		{"get case: two references", func() error { _, _, err := s.GetCase(ctx, everything, caseID, "GF-20260302-000001", ""); return err },
			[]string{"case_id"}},
		{"get case: a malformed case number", func() error { _, _, err := s.GetCase(ctx, everything, "", "GF-1", ""); return err },
			[]string{"case_number"}},
		{"get case: a case number given as the case id", func() error { _, _, err := s.GetCase(ctx, everything, "GF-20260302-000001", "", ""); return err },
			[]string{"case_id"}},
		{"get case: an order number with white space", func() error { _, _, err := s.GetCase(ctx, everything, "", "", "HL 1"); return err },
			[]string{"hotline_order_no"}},
		{"figures: no scope", func() error { _, err := s.Figures(ctx, everything, "", "", period); return err }, []string{"scope"}},
		{"figures: an unknown scope", func() error { _, err := s.Figures(ctx, everything, "county", "x", period); return err }, []string{"scope"}},
		{"figures: a street without its code", func() error { _, err := s.Figures(ctx, everything, ScopeStreet, "", period); return err },
			[]string{"code"}},
		{"figures: no period", func() error { _, err := s.Figures(ctx, everything, ScopeCity, "", Period{}); return err }, []string{"period.start"}},
		{"figures: no end", func() error { _, err := s.Figures(ctx, everything, ScopeCity, "", Period{Start: t0}); return err }, []string{"period.end"}},
		{"figures: an end before the start", func() error {
			_, err := s.Figures(ctx, everything, ScopeGrid, "", Period{Start: period.End, End: period.Start})
			return err
		}, []string{"code", "period.end"}},
		{"figures: an empty period", func() error {
			_, err := s.Figures(ctx, everything, ScopeCity, "", Period{Start: t0, End: t0})
			return err
		},
			[]string{"period.end"}},
		{"pareto: no period", func() error { _, _, err := s.Pareto(ctx, everything, "310106", Period{}); return err }, []string{"period.start"}},
		{"hotspots: no end", func() error { _, err := s.Hotspots(ctx, everything, "310106", Period{Start: t0}, 0, 0, 0); return err },
			[]string{"period.end"}},
		{"replies: a case number for the case id", func() error {
			_, _, err := s.ListReplies(ctx, everything, "GF-20260302-000001", time.Time{}, 10, "")
			return err
		}, []string{"case_id"}},
		{"timeline: no reference", func() error { _, _, err := s.Timeline(ctx, everything, "", "", ""); return err }, []string{"case_id"}},
		{"timeline: a malformed case number", func() error { _, _, err := s.Timeline(ctx, everything, "", "GF-2026", ""); return err },
			[]string{"case_number"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if d := cmp.Diff(tc.want, violations(t, tc.call()), cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
				t.Errorf("fields mismatch (-want +got):\n%s", d)
			}
		})
	}
}

// The callback window counts working days on the official calendar: a
// reply on the Friday before 清明 (4–6 April 2026) is due three working
// days later, on Thursday.
func TestCallbackWindowSkipsHolidays(t *testing.T) {
	t.Parallel()
	friday := time.Date(2026, 4, 3, 2, 0, 0, 0, time.UTC) // 10:00 in Shanghai
	s := New(Config{CallbackWindow: 3}, nil, nil, func() Calendar { return calendar }, func() time.Time { return friday })
	evs := s.decide(Project("c1", stored(loop(Hotline)[:5])), nil)
	if len(evs) != 2 {
		t.Fatalf("decided %d events, want resolved and replied", len(evs))
	}
	want := time.Date(2026, 4, 9, 2, 0, 0, 0, time.UTC)
	if got := evs[1].Fact.(*CaseReplied).CallbackDue; !got.Equal(want) {
		t.Errorf("callback due %v, want Thursday 9 April 10:00 Shanghai (%v)", got, want)
	}
}

// everything is admin's scope: these tests are about the domain, not whom
// it serves.
var everything = policy.Scope{Kind: policy.All}
