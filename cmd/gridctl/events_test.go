package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// gridctl runs the CLI in process and returns what it printed.
func gridctl(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	root := newRoot()
	var out, errb strings.Builder
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(""))
	root.SetArgs(args)
	err = root.ExecuteContext(ctx)
	return out.String(), errb.String(), err
}

// streamEvent is one event put on stream GRID as a service's relay would.
type streamEvent struct {
	subject string
	env     *eventsv1.Envelope
}

var tailEvents = func() []streamEvent {
	at := timestamppb.New(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)) // 10:00 in Shanghai
	caseID := "0194f5c0-0000-7000-8000-000000000001"
	return []streamEvent{
		{"grid.case.received.310106.310106022", &eventsv1.Envelope{Type: "case.received", CaseId: caseID, OccurredAt: at,
			Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{CaseId: caseID,
				CaseNumber: "GF-20260302-000001", Title: "楼上噪声"}}}},
		{"grid.case.classified.310106.310106022", &eventsv1.Envelope{Type: "case.classified", CaseId: caseID, OccurredAt: at,
			Payload: &eventsv1.Envelope_CaseClassified{CaseClassified: &eventsv1.CaseClassified{CaseId: caseID,
				CaseNumber: "GF-20260302-000001", ItemCode: "H04001", ClassificationVersion: 1}}}},
		{"grid.task.dispatched.310106022-pcs.310106.310106022", &eventsv1.Envelope{Type: "task.dispatched", CaseId: caseID, OccurredAt: at,
			Payload: &eventsv1.Envelope_TaskDispatched{TaskDispatched: &eventsv1.TaskDispatched{Rule: "noise"}}}},
		{"grid.task.acknowledged.310106022-pcs.310106.310106022", &eventsv1.Envelope{Type: "task.acknowledged", CaseId: caseID, OccurredAt: at,
			Payload: &eventsv1.Envelope_TaskAcknowledged{TaskAcknowledged: &eventsv1.TaskAcknowledged{Note: "马上到"}}}},
	}
}()

// natsWithEvents starts an in-process NATS with gridflow's streams holding
// tailEvents, and returns its URL.
func natsWithEvents(t *testing.T) (string, jetstream.JetStream) {
	t.Helper()
	ns, js := testenv.JetStream(t)
	for i, e := range tailEvents {
		e.env.EventId = fmt.Sprintf("event-%d", i+1)
		data, err := proto.Marshal(e.env)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(context.Background(), e.subject, data, jetstream.WithMsgID(e.env.EventId)); err != nil {
			t.Fatal(err)
		}
	}
	return ns.ClientURL(), js
}

// events tail against a real NATS: the last N events, or the last N on a
// subject, one line each or as JSON envelopes; it ends by itself unless
// it follows.
func TestEventsTail(t *testing.T) {
	url, _ := natsWithEvents(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string // per line: subject, type and what the line shows of the payload
	}{
		{"last 2", []string{"--last", "2"}, []string{
			"03-02 10:00:00 grid.task.dispatched.310106022-pcs.310106.310106022 task.dispatched rule:",
			"03-02 10:00:00 grid.task.acknowledged.310106022-pcs.310106.310106022 task.acknowledged note:",
		}},
		{"more than there are", []string{"--last", "10"}, []string{
			"03-02 10:00:00 grid.case.received.310106.310106022 case.received GF-20260302-000001 楼上噪声",
			"03-02 10:00:00 grid.case.classified.310106.310106022 case.classified case_number:",
			"grid.task.dispatched.", "grid.task.acknowledged.",
		}},
		{"subject", []string{"--last", "1", "--subject", "grid.case.>"}, []string{
			"03-02 10:00:00 grid.case.classified.310106.310106022 case.classified case_number:",
		}},
		{"subject with fewer events than asked", []string{"--last", "3", "--subject", "grid.case.received.>"}, []string{
			"03-02 10:00:00 grid.case.received.310106.310106022 case.received GF-20260302-000001 楼上噪声",
		}},
		{"subject beyond the last N of the stream", []string{"--last", "2", "--subject", "grid.case.>"}, []string{
			"grid.case.received.", "grid.case.classified.",
		}},
		{"subject without events", []string{"--last", "2", "--subject", "grid.incident.>"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := gridctl(t, append([]string{"events", "tail", "--nats", url, "--timeout", "20s"}, tc.args...)...)
			if err != nil {
				t.Fatalf("events tail %v: %v\n%s", tc.args, err, out)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if out == "" {
				lines = nil
			}
			if len(lines) != len(tc.want) {
				t.Fatalf("events tail %v printed %d lines, want %d:\n%s", tc.args, len(lines), len(tc.want), out)
			}
			for i, w := range tc.want {
				if got := strings.Join(strings.Fields(lines[i]), " "); !strings.Contains(got, w) {
					t.Errorf("line %d = %q, want it to contain %q", i+1, got, w)
				}
			}
			if strings.Contains(out, "_id:") {
				t.Errorf("ids are printed:\n%s", out)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		out, _, err := gridctl(t, "--json", "events", "tail", "--nats", url, "--timeout", "20s", "--last", "2")
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(strings.NewReader(out))
		var types []string
		for {
			var env struct {
				EventID string          `json:"eventId"`
				Type    string          `json:"type"`
				Ack     json.RawMessage `json:"taskAcknowledged"`
			}
			if err := dec.Decode(&env); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("--json output is not JSON objects: %v\n%s", err, out)
			}
			if env.EventID == "" {
				t.Errorf("envelope without its event id: %+v", env)
			}
			types = append(types, env.Type)
		}
		if strings.Join(types, " ") != "task.dispatched task.acknowledged" {
			t.Errorf("--json printed %v, want the last two envelopes", types)
		}
	})

	t.Run("follow", func(t *testing.T) {
		// --follow keeps printing until it is stopped; its timeout is no error.
		out, _, err := gridctl(t, "events", "tail", "--nats", url, "--last", "1", "--follow", "--timeout", "1s")
		if err != nil || strings.Count(out, "\n") != 1 || !strings.Contains(out, "task.acknowledged") {
			t.Errorf("events tail --follow = %v\n%s", err, out)
		}
	})

	t.Run("stream with a gap", func(t *testing.T) {
		// An age-limited stream loses its oldest events, and a message can
		// be deleted: sequence numbers are no count of events.
		url, js := natsWithEvents(t)
		st, err := js.Stream(context.Background(), natsjs.StreamGrid)
		if err != nil {
			t.Fatal(err)
		}
		for _, seq := range []uint64{1, 3} {
			if err := st.DeleteMsg(context.Background(), seq); err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range []string{"2", "5"} {
			out, _, err := gridctl(t, "events", "tail", "--nats", url, "--timeout", "20s", "--last", n)
			if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(out, "case.classified") || !strings.Contains(out, "task.acknowledged") {
				t.Errorf("events tail --last %s = %v\n%s\nwant the two events left", n, err, out)
			}
		}
	})

	t.Run("no nats", func(t *testing.T) {
		_, _, err := gridctl(t, "events", "tail", "--nats", "nats://127.0.0.1:1", "--last", "1")
		if err == nil || !strings.Contains(err.Error(), "nats://127.0.0.1:1") {
			t.Errorf("err = %v, want it to name the URL dialled", err)
		}
	})
}
