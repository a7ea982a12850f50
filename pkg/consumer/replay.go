package consumer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Replaying a dead letter puts it back in front of the one durable consumer
// that dead-lettered it, and of no other: it is published on GRID as
// grid.replay.<durable>.<original subject>, a subject every durable's filter
// includes for its own name (DurableConfig) and no other filter matches. The
// runner hands it to the handler under its original subject and event id,
// so the consumer's record of handled events still decides: an event that
// was handled meanwhile is acked as a duplicate, not applied twice. It gets
// MaxDeliver fresh deliveries, and if it fails again it is dead-lettered
// again like any other message.
//
// Who may replay is NATS's to say: only a user allowed to publish
// grid.replay.> (pkg/natsauth's ops user, gridctl dlq replay).
const (
	// ReplayPrefix starts every replay subject.
	ReplayPrefix = "grid.replay."
	// HeaderReplayOf is the GRID_DLQ sequence of the dead letter a replay
	// was made from.
	HeaderReplayOf = "Gridflow-Replay-Of"
	// DeadLetterPrefix starts every dead letter's subject:
	// dlq.<durable>.<original subject>.
	DeadLetterPrefix = "dlq."
)

// ReplaySubject is the subject on which a dead letter of durable, first
// published on original, is replayed.
func ReplaySubject(durable, original string) string {
	return ReplayPrefix + durable + "." + original
}

// replayFilter is the filter subject that gives durable its replays.
func replayFilter(durable string) string { return ReplayPrefix + durable + ".>" }

// DeadLetterSubject splits a dead letter's subject into the durable that
// dead-lettered it and the subject it was first published on.
func DeadLetterSubject(subject string) (durable, original string, ok bool) {
	rest, found := strings.CutPrefix(subject, DeadLetterPrefix)
	if !found {
		return "", "", false
	}
	durable, original, ok = strings.Cut(rest, ".")
	if !ok || durable == "" || original == "" {
		return "", "", false
	}
	return durable, original, true
}

// ReplayMsg makes the message that replays the dead letter stored at
// sequence seq of GRID_DLQ on subject with data and headers, and the
// Nats-Msg-Id to publish it with: one per dead letter, so that a replay
// retried within GRID's duplicate window (the first publish answered, its
// ack lost) is stored once.
func ReplayMsg(subject string, seq uint64, data []byte, hdr nats.Header) (*nats.Msg, string, error) {
	durable, original, ok := DeadLetterSubject(subject)
	if !ok {
		return nil, "", fmt.Errorf("%q is not a dead letter's subject (dlq.<durable>.<original subject>)", subject)
	}
	out := nats.NewMsg(ReplaySubject(durable, original))
	out.Data = data
	for k, vs := range hdr {
		if strings.HasPrefix(k, "Nats-") {
			continue
		}
		out.Header[k] = append([]string(nil), vs...)
	}
	out.Header.Set(HeaderReplayOf, strconv.FormatUint(seq, 10))
	return out, "replay:" + durable + ":" + strconv.FormatUint(seq, 10), nil
}

// fromReplay turns a replayed message back into the message it replays:
// its original subject and event id (the dead letter's HeaderDLQMsgID, else
// the original stream sequence, as toMessage names an event without an id).
// It reports false for a message that is not a replay to durable.
func fromReplay(durable string, jm jetstream.Msg, msg *Message) bool {
	original, ok := strings.CutPrefix(jm.Subject(), ReplayPrefix+durable+".")
	if !ok || original == "" {
		return false
	}
	hdr := jm.Headers()
	msg.Subject = original
	msg.ReplayOf, _ = strconv.ParseUint(hdr.Get(HeaderReplayOf), 10, 64)
	switch {
	case hdr.Get(HeaderDLQMsgID) != "":
		msg.EventID = hdr.Get(HeaderDLQMsgID)
	case hdr.Get(HeaderDLQStreamSeq) != "":
		msg.EventID = "seq:" + hdr.Get(HeaderDLQStreamSeq)
	}
	return true
}
