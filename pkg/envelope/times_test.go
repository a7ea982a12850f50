package envelope_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/envelope"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/typepb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

func TestCheckTimes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		ts   *timestamppb.Timestamp
		want string // "" when valid
	}{
		{"now", timestamppb.Now(), ""},
		{"year 1", &timestamppb.Timestamp{Seconds: -62135596800}, ""},
		{"year 9999", timestamppb.New(time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)), ""},
		{"year 10000", &timestamppb.Timestamp{Seconds: 253402300800}, "not a valid timestamp"},
		{"overflow", &timestamppb.Timestamp{Seconds: 1<<63 - 1}, "not a valid timestamp"},
		{"before year 1", &timestamppb.Timestamp{Seconds: -62135596801}, "not a valid timestamp"},
		{"negative nanos", &timestamppb.Timestamp{Seconds: 1, Nanos: -1}, "not a valid timestamp"},
		{"too many nanos", &timestamppb.Timestamp{Nanos: 1e9}, "not a valid timestamp"},
	} {
		err := envelope.CheckTimes(tt.ts)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: CheckTimes = %v, want %q", tt.name, err, tt.want)
		}
		if tt.want == "" && tt.ts.CheckValid() != nil || tt.want != "" && tt.ts.CheckValid() == nil {
			t.Errorf("%s: CheckTimes disagrees with timestamppb's CheckValid (%v)", tt.name, tt.ts.CheckValid())
		}
	}
}

// Nested messages, lists and maps are walked; the path names the field.
func TestCheckTimesWalksTheMessage(t *testing.T) {
	t.Parallel()
	bad := &timestamppb.Timestamp{Seconds: -1 << 62}
	if err := envelope.CheckTimes(&typepb.Type{Name: "ok"}); err != nil {
		t.Errorf("no timestamps: %v", err)
	}
	// A Struct holds a map of Values holding lists: no timestamps, walked.
	s, _ := structpb.NewStruct(map[string]any{"a": []any{1.0, map[string]any{"b": "c"}}})
	if err := envelope.CheckTimes(s); err != nil {
		t.Errorf("struct: %v", err)
	}
	if err := envelope.CheckTimes(bad); err == nil {
		t.Error("a bad timestamp at the top passes")
	}
	now := timestamppb.Now()
	good := &eventsv1.Envelope{OccurredAt: now, Payload: &eventsv1.Envelope_TaskCompleted{TaskCompleted: &eventsv1.TaskCompleted{
		Task: &eventsv1.TaskRef{Deadlines: &eventsv1.Deadlines{Complete: &eventsv1.Deadline{Due: now}}}}}}
	if err := envelope.CheckTimes(good); err != nil {
		t.Errorf("good envelope: %v", err)
	}
	deep := proto.Clone(good).(*eventsv1.Envelope)
	deep.GetTaskCompleted().GetTask().GetDeadlines().GetComplete().Due = bad
	if err := envelope.CheckTimes(deep); err == nil || !strings.Contains(err.Error(), "task_completed.task.deadlines.complete.due") {
		t.Errorf("a bad deadline: %v, want it named", err)
	}
	listed := &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseResolved{CaseResolved: &eventsv1.CaseResolved{
		Results: []*eventsv1.TaskResult{{CompletedAt: now}, {CompletedAt: bad}}}}}
	if err := envelope.CheckTimes(listed); err == nil || !strings.Contains(err.Error(), "results[1].completed_at") {
		t.Errorf("a bad time in a list: %v, want it named", err)
	}
}
