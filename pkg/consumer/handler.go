package consumer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
)

// Message is one delivered event as a handler sees it. The runner owns
// acknowledgement: a handler only returns nil, a transient error or a
// Permanent one.
type Message struct {
	Subject string
	Data    []byte
	Headers nats.Header
	// EventID is the Nats-Msg-Id header (the outbox sets it to the event
	// id), or "seq:<stream sequence>" for a message published without one.
	EventID string
	// NumDelivered counts deliveries of this message to the durable
	// consumer, this one included (1 on the first delivery).
	NumDelivered uint64
	// StreamSeq is the message's sequence in the stream.
	StreamSeq uint64
	// Published is when the stream stored the message.
	Published time.Time
	// ReplayOf is, for a dead letter replayed (gridctl dlq replay), its
	// sequence in GRID_DLQ; Subject and EventID are then the original
	// event's. Zero otherwise.
	ReplayOf uint64
}

// Handler applies one event inside tx, the transaction that also records the
// event as handled: either both commit or neither does. Returning an error
// rolls back what it wrote; wrap it with Permanent when retrying cannot help.
// Given to New, a Handler has a transaction of its own per message; given to
// Batch.Apply or Batch.Each, tx is a savepoint of the batch's transaction.
//
// Delivery is at least once and order is not guaranteed (redeliveries,
// replicas, Concurrency > 1 without an OrderKey): a handler must cope with
// events arriving late or out of order, e.g. by ignoring a version older
// than the one it holds.
type Handler func(ctx context.Context, tx pgx.Tx, msg Message) error

// Permanent marks err as one that retrying cannot cure (a malformed payload,
// a reference that will never resolve): the message goes to the dead-letter
// stream at once instead of being redelivered. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return "permanent: " + e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Decoding adapts a handler of decoded payloads. A payload that does not
// decode is poison: the same bytes will never decode, so it is dead-lettered
// at once rather than redelivered.
func Decoding[T any](decode func([]byte) (T, error), h func(ctx context.Context, tx pgx.Tx, msg Message, v T) error) Handler {
	return func(ctx context.Context, tx pgx.Tx, msg Message) error {
		v, err := decode(msg.Data)
		if err != nil {
			return Permanent(fmt.Errorf("decode %s: %w", msg.Subject, err))
		}
		return h(ctx, tx, msg, v)
	}
}
