package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Early warning (海因里希, issue 20): a rising place raises one warning,
// dismissed once and not repeated until the rise grows by the further step.

// TestLedgerWarnings runs the warnings' part of the neighbourhood's ledger.
func TestLedgerWarnings(t *testing.T) {
	s := startStack(t)
	ledgerWarningsStory(t, s)
}

// warningWeek is the shipped rules' window (internal/warning/rules.yaml):
// weeks from Monday 00:00 in Shanghai.
const warningWeek = 7 * 24 * time.Hour

// warningWindowStart is the start of the week holding t, as feedback aligns
// it (to Monday 2024-01-01 00:00 Asia/Shanghai).
func warningWindowStart(t time.Time) time.Time {
	epoch := time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	return epoch.Add(t.Sub(epoch) / warningWeek * warningWeek)
}

// warningOrders submits hotline work orders about one subject at one
// address, received at each of at, and returns their case ids once
// feedback holds them.
func warningOrders(t *testing.T, ctx context.Context, s *stack, prefix, address string, at ...time.Time) []string {
	t.Helper()
	hotline := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	cases := feedbackv1.NewFeedbackServiceClient(s.dial(t, "feedback", auth.Principal{Role: auth.RoleAdmin}))
	var ids []string
	for i, received := range at {
		resp, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: &intakev1.WorkOrder{
			HotlineOrderNo: fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), i), ReceivedAt: timestamppb.New(received),
			AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT, Title: "共享单车乱停放堵塞人行道",
			Content:    "门口人行道上共享单车乱停放，堵住了通行，老人推车过不去。",
			CallerName: "李女士", CallerPhone: "13700002222", Address: address,
			DistrictCode: jingan, StreetCode: zhijiang, Urgency: typesv1.Urgency_URGENCY_NORMAL}})
		if err != nil {
			t.Fatalf("SubmitWorkOrder: %v", err)
		}
		ids = append(ids, resp.GetSubmission().GetCaseId())
	}
	for _, id := range ids {
		deadline := time.Now().Add(time.Minute)
		for {
			_, err := cases.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: id})
			if err == nil {
				break
			}
			if status.Code(err) != codes.NotFound || time.Now().After(deadline) {
				t.Fatalf("feedback never held case %s: %v", id, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return ids
}

// warningEvents reads every warning event on the stream about a place
// whose cases include one of ids, oldest first.
func warningEvents(t *testing.T, ctx context.Context, s *stack, ids []string) []*eventsv1.Envelope {
	t.Helper()
	cons, err := s.jetStream(t).OrderedConsumer(ctx, "GRID", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"grid.warning.>"}})
	if err != nil {
		t.Fatal(err)
	}
	var out []*eventsv1.Envelope
	key := ""
	for {
		m, err := cons.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return out
		}
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(m.Data(), env); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(m.Subject(), "grid."+env.GetType()+"."+jingan+"."+zhijiang) {
			t.Errorf("%s on %s", env.GetType(), m.Subject())
		}
		k := warningKeyOf(env)
		if key == "" && k.GetKind() == "place" && slices.ContainsFunc(env.GetWarningRaised().GetReasons().GetCaseIds(), func(id string) bool { return slices.Contains(ids, id) }) {
			key = k.GetWarningId()
		}
		if key != "" && k.GetWarningId() == key {
			out = append(out, env)
		}
	}
}

// liveWarnings opens the console's live stream as u and sends the first
// warning item about warning id it shows.
func liveWarnings(t *testing.T, ctx context.Context, u *consoleUser, id string) <-chan string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.base+"/live/events", nil)
	resp, err := (&http.Client{Jar: u.client.Jar}).Do(req) // no timeout: the stream stays open
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("live stream: %v %v", resp, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	out := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			if e, ok := strings.CutPrefix(line, "event: "); ok {
				event = e
			}
			if event == "warning" && strings.HasPrefix(line, "data: ") && strings.Contains(line, id) {
				out <- line
				return
			}
		}
	}()
	return out
}

func warningKeyOf(env *eventsv1.Envelope) *eventsv1.WarningKey {
	switch p := env.GetPayload().(type) {
	case *eventsv1.Envelope_WarningRaised:
		return p.WarningRaised.GetWarning()
	case *eventsv1.Envelope_WarningAcknowledged:
		return p.WarningAcknowledged.GetWarning()
	case *eventsv1.Envelope_WarningDismissed:
		return p.WarningDismissed.GetWarning()
	}
	return nil
}

// waitWarningEvents waits until the place of ids has want warning events.
func waitWarningEvents(t *testing.T, ctx context.Context, s *stack, ids []string, want int) []*eventsv1.Envelope {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		evs := warningEvents(t, ctx, s, ids)
		if len(evs) >= want {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d warning events about the place, want %d: %v", len(evs), want, evs)
		}
	}
}

func ledgerWarningsStory(t *testing.T, s *stack) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// A week about to end could split the burst across two windows.
	now := time.Now()
	if ws := warningWindowStart(now); ws.Add(warningWeek).Sub(now) < 2*time.Minute {
		time.Sleep(ws.Add(warningWeek).Sub(now) + time.Second)
		now = time.Now()
	}
	const address = "上海市静安区共和新路8861弄3号" // no other story's
	ws := warningWindowStart(now)

	// The baseline: one report a week in each of the four weeks before.
	var baseline []time.Time
	for k := 1; k <= 4; k++ {
		baseline = append(baseline, ws.Add(-time.Duration(k)*warningWeek+36*time.Hour))
	}
	ids := warningOrders(t, ctx, s, "LW-BASE", address, baseline...)
	// The burst: four this week (the places' rule: at least 4, twice the
	// baseline) raise exactly one warning.
	ids = append(ids, warningOrders(t, ctx, s, "LW-BURST", address, now.Add(-time.Minute), now.Add(-time.Minute), now.Add(-time.Minute), now.Add(-time.Minute))...)
	waitWarningEvents(t, ctx, s, ids, 1)
	time.Sleep(2 * time.Second) // a few evaluations more: still one
	evs := warningEvents(t, ctx, s, ids)
	if len(evs) != 1 || evs[0].GetType() != "warning.raised" {
		t.Fatalf("after the burst: %v, want one warning.raised", evs)
	}
	raised := evs[0].GetWarningRaised()
	id := raised.GetWarning().GetWarningId()
	if r := raised.GetReasons(); r.GetCount() != 4 || r.GetBaseline() != 1 || r.GetRise() != 4 || raised.GetLevel() != 1 ||
		r.GetRule().GetName() != "places" || len(r.GetCaseIds()) != 4 {
		t.Fatalf("raised %v", raised)
	}

	// The street's dispatcher dismisses it; the other street's may not.
	warnings := feedbackv1.NewWarningServiceClient(s.dial(t, "feedback", auth.Principal{Role: auth.RoleDispatcher, Subject: zhijiang}))
	other := feedbackv1.NewWarningServiceClient(s.dial(t, "feedback", auth.Principal{Role: auth.RoleDispatcher, Subject: linfen}))
	if _, err := other.DismissWarning(ctx, &feedbackv1.DismissWarningRequest{RequestId: "lw-x", WarningId: id, Note: "不是我们的"}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("another street's dispatcher dismissed it: %v", err)
	}
	if _, err := warnings.DismissWarning(ctx, &feedbackv1.DismissWarningRequest{RequestId: "lw-1", WarningId: id}); status.Code(err) != codes.InvalidArgument ||
		!strings.Contains(err.Error(), "note") {
		t.Fatalf("dismissed without a note: %v", err)
	}
	// On the console: the warnings page lists it; its dismiss form (CSRF,
	// a note) dismisses it.
	u := addConsoleUser(t, s, "lw-zj-07", "dispatcher:"+zhijiang)
	if code, page := u.get("/warnings"); code != http.StatusOK || !strings.Contains(page, `action="/warnings/`+id+`/dismiss"`) {
		t.Fatalf("warnings page: %d\n%s", code, page)
	}
	if code, loc := u.post("/warnings/"+id+"/dismiss", url.Values{"csrf": {u.csrf}, "request_id": {"lw-console-1"},
		"note": {"小区门口临时集中停放，已联系运营企业"}}); code != http.StatusSeeOther || loc != "/warnings?done=dismiss" {
		t.Fatalf("dismiss on the console: %d %s", code, loc)
	}
	d, err := warnings.GetWarning(ctx, &feedbackv1.GetWarningRequest{WarningId: id})
	if err != nil || d.GetWarning().GetState() != feedbackv1.WarningState_WARNING_STATE_DISMISSED || d.GetWarning().GetDismissedRise() != 4 ||
		d.GetWarning().GetActedBy().GetSubject() != zhijiang {
		t.Fatalf("after the dismissal: %v, %v", d, err)
	}

	// One more of the same: rise 5, below 4 × 1.5 — not raised again.
	ids = append(ids, warningOrders(t, ctx, s, "LW-SAME", address, time.Now().Add(-time.Minute))...)
	time.Sleep(2 * time.Second)
	if evs = warningEvents(t, ctx, s, ids); len(evs) != 2 || evs[1].GetType() != "warning.dismissed" {
		t.Fatalf("after a case more: %v, want raised and dismissed", evs)
	}
	// One more: rise 6, the further step — back, a level up, and on the
	// dispatcher's live screen as it happens.
	live := liveWarnings(t, ctx, u, id)
	ids = append(ids, warningOrders(t, ctx, s, "LW-STEP", address, time.Now().Add(-time.Minute))...)
	evs = waitWarningEvents(t, ctx, s, ids, 3)
	select {
	case line := <-live:
		if !strings.Contains(line, "第 2 次") {
			t.Errorf("the live screen showed %s", line)
		}
	case <-time.After(30 * time.Second):
		t.Error("the warning never reached the dispatcher's live screen")
	}
	again := evs[2].GetWarningRaised()
	if evs[2].GetType() != "warning.raised" || again.GetWarning().GetWarningId() != id || again.GetLevel() != 2 || again.GetReasons().GetCount() != 6 {
		t.Fatalf("after the further step: %v", evs[2])
	}
	out, err := s.gridctl(t, "warnings", "show", id, "--as", "dispatcher:"+zhijiang, "--addr", s.addrs["feedback"])
	if err != nil || !strings.Contains(out, "raised (level 2)") || !strings.Contains(out, "last dismissed at rise 4.00: back at 6.00") {
		t.Fatalf("gridctl warnings show: %v\n%s", err, out)
	}
}
