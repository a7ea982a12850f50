package events

import (
	"fmt"
	"strings"

	"github.com/gridflow/gridflow/pkg/envelope"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// TaskEventNames are the task events a webhook registration may ask for
// ("task.dispatched" …): every task payload of the envelope.
func TaskEventNames() []string {
	var out []string
	for _, f := range envelope.Payloads(&eventsv1.Envelope{}) {
		if n := envelope.FieldName(f); strings.HasPrefix(n, "task.") {
			out = append(out, n)
		}
	}
	return out
}

// WebhookBody is what a webhook receives for a task event stored as its
// envelope: the envelope in protobuf's JSON mapping, field names as in the
// .proto (snake_case), so a department reads the same names as the event
// schema. Task events carry no personal data (DESIGN.md).
func WebhookBody(payload []byte) ([]byte, error) {
	env := &eventsv1.Envelope{}
	if err := proto.Unmarshal(payload, env); err != nil {
		return nil, fmt.Errorf("webhook body: %w", err)
	}
	return protojson.MarshalOptions{UseProtoNames: true}.Marshal(env)
}
