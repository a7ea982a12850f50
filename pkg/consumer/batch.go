package consumer

import (
	"context"
	"errors"
	"fmt"

	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/jackc/pgx/v5"
)

// BatchHandler applies a batch of events inside one transaction, the one
// that also records them as handled (see the package doc for when the
// runner hands over more than one message at a time). It gives each message
// of b an outcome — Apply or Each run a Handler for it in a savepoint, Fail
// refuses it — and returns nil; the runner then commits what was handled and
// acks, dead-letters or retries each message by its own outcome.
//
// Returning an error fails the batch as a whole: the transaction rolls back
// and the runner handles each of its messages again in a transaction of its
// own, so that a message which breaks the transaction (or the handler) fails
// alone and its neighbours are not retried on its account.
type BatchHandler func(ctx context.Context, b *Batch) error

// Batch is the messages of one transaction, in arrival order, as a
// BatchHandler sees them. Messages already handled (redeliveries of a
// committed event) are acked by the runner and not included.
type Batch struct {
	tx    pgx.Tx
	scope func(context.Context) (context.Context, func(bool))
	msgs  []Message
	ctxs  []context.Context
	outs  []outcome
}

type outcome struct {
	set bool
	dup bool // already handled: acked, never given to the handler
	err error
}

// Tx is the batch's transaction. What a handler writes here outside Apply
// commits with the messages handled; if none is handled the transaction
// rolls back whole.
func (b *Batch) Tx() pgx.Tx { return b.tx }

// Messages are the batch's messages in arrival order.
func (b *Batch) Messages() []Message { return b.msgs }

// Context is the context to handle message i in: the batch's deadline and
// the message's own trace, so that what it publishes continues its trace.
func (b *Batch) Context(i int) context.Context { return b.ctxs[i] }

// Apply runs h for message i and records the result as its outcome. h runs
// in a savepoint of the batch's transaction: if it fails (or panics) its
// writes, and only its, roll back, and the other messages carry on. A batch
// of one message needs no savepoint: its failure rolls the transaction back.
// Each message takes one outcome; Apply on a message that has one already
// returns an error without running h.
func (b *Batch) Apply(i int, h Handler) error {
	if b.outs[i].set {
		return fmt.Errorf("consumer: message %d (%s) already has an outcome", i, b.msgs[i].EventID)
	}
	ctx, msg := b.ctxs[i], b.msgs[i]
	var err error
	if len(b.msgs) == 1 {
		err = call(ctx, b.tx, msg, h)
	} else {
		// pgx runs a nested transaction as a savepoint; what it enqueues
		// joins the batch's only if it is released.
		sctx, end := b.scope(ctx)
		err = pgdb.InTx(sctx, b.tx, func(sp pgx.Tx) error { return call(sctx, sp, msg, h) })
		end(err == nil)
	}
	b.outs[i] = outcome{set: true, err: err}
	return err
}

// Settle runs f for message i without a savepoint and records its result as
// the message's outcome — for a BatchHandler that applies each message in
// memory and writes what the successful ones changed itself, in Tx, once
// they all have an outcome. f must not write to the database: nothing undoes
// a failed f's writes. If the handler's own writes fail it returns the error
// and the runner handles each message again alone. A panic in f is an
// ordinary (retried) error, as in Apply.
func (b *Batch) Settle(i int, f func() error) error {
	if b.outs[i].set {
		return fmt.Errorf("consumer: message %d (%s) already has an outcome", i, b.msgs[i].EventID)
	}
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("handler panicked: %v", p)
			}
		}()
		return f()
	}()
	b.outs[i] = outcome{set: true, err: err}
	return err
}

// Each applies h to every message without an outcome, in arrival order.
func (b *Batch) Each(h Handler) {
	for i := range b.msgs {
		if !b.outs[i].set {
			_ = b.Apply(i, h) // the outcome is recorded
		}
	}
}

// Fail gives message i the outcome err without running anything for it —
// for a message refused before anything was written for it (a payload that
// does not decode: wrap err with Permanent). Fail(i, nil) is a programming
// error and is recorded as a (retried) failure.
func (b *Batch) Fail(i int, err error) {
	if err == nil {
		err = errors.New("consumer: Batch.Fail without an error")
	}
	if !b.outs[i].set {
		b.outs[i] = outcome{set: true, err: err}
	}
}

// call turns a handler panic into an ordinary (retried) error: one bad event
// must not take the replica and every other consumer in it down.
func call(ctx context.Context, tx pgx.Tx, msg Message, h Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return h(ctx, tx, msg)
}

// Savepointed is a Handler as a BatchHandler, for NewBatch: what arrived
// for a worker shares one transaction and one commit, each message in its own
// savepoint, in arrival order — for a handler that needs nothing of its
// neighbours but whose transaction per message cost more than its work.
func Savepointed(h Handler) BatchHandler { return perMessage(h) }

// perMessage is the BatchHandler behind a Handler: each message in order,
// each in its own savepoint. New gives it batches of one message, so a
// Handler keeps a transaction per message.
func perMessage(h Handler) BatchHandler {
	return func(_ context.Context, b *Batch) error {
		b.Each(h)
		return nil
	}
}
