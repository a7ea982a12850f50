package webhooks

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/notify"
	"github.com/gridflow/gridflow/pkg/pause"
)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func validID(id string) bool {
	_, err := uuid.Parse(id)
	return err == nil
}

// Claimed is a delivery the worker holds: what to send and where.
type Claimed struct {
	Delivery
	Secret  []byte
	Payload []byte // the event's envelope, protobuf
}

// Queue is the worker's side of the store.
type Queue interface {
	// Claim takes up to n pending deliveries due at now, counts the attempt
	// about to be made and holds them until lease ends (so a worker that
	// dies mid-send leaves them to another after the lease).
	Claim(ctx context.Context, now time.Time, n int, lease time.Duration) ([]Claimed, error)
	// Delivered, Retry and Kill record an attempt's outcome.
	Delivered(ctx context.Context, id string, at time.Time) error
	Retry(ctx context.Context, id string, at, next time.Time, reason string) error
	Kill(ctx context.Context, id string, at time.Time, reason string) error
	// Release gives back a claim whose try a shutdown interrupted: the try
	// is not counted and the delivery is due at once, for the next worker.
	Release(ctx context.Context, id string, at time.Time) error
}

// Worker sends due deliveries. Replicas run one each: claims skip what
// another holds.
type Worker struct {
	Queue   Queue
	Sender  notify.Sender
	Backoff notify.Backoff
	// Body turns a stored envelope into what is POSTed (JSON).
	Body func(payload []byte) ([]byte, error)
	// Poll is how often the table is looked at when idle (1 s).
	Poll time.Duration
	// Batch deliveries claimed at once (32), each sent in turn.
	Batch int
	// Lease is how long a claim holds a delivery (1 min): longer than a
	// send may take.
	Lease time.Duration
	Now   func() time.Time
	Log   *slog.Logger
}

// Run sends deliveries until ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	poll := w.Poll
	if poll <= 0 {
		poll = time.Second
	}
	for {
		n, err := w.Once(ctx)
		if err != nil && ctx.Err() == nil {
			w.Log.WarnContext(ctx, "webhook deliveries: claim failed", "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		if !pause.For(ctx, poll) {
			return nil
		}
	}
}

// Once claims one batch of due deliveries and sends them; it returns how
// many it claimed.
func (w *Worker) Once(ctx context.Context) (int, error) {
	now := w.now()
	batch, lease := w.Batch, w.Lease
	if batch <= 0 {
		batch = 32
	}
	if lease <= 0 {
		lease = time.Minute
	}
	claimed, err := w.Queue.Claim(ctx, now, batch, lease)
	if err != nil {
		return 0, err
	}
	for i, c := range claimed {
		if err := w.send(ctx, c); err != nil {
			// A claim counts its try in advance: those not tried are given
			// back, or a shutdown between two sends would leave each with a
			// try it never made and the lease to wait out (issue 17: a
			// delivery then died one real try early).
			for _, rest := range claimed[i+1:] {
				w.release(ctx, rest)
			}
			return len(claimed), err
		}
	}
	return len(claimed), nil
}

// release gives c back, its try not counted, within a few seconds of
// ctx's end.
func (w *Worker) release(ctx context.Context, c Claimed) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := w.Queue.Release(rctx, c.ID, w.now()); err != nil {
		w.Log.WarnContext(rctx, "webhook delivery: release failed; the lease hands it on", "delivery", c.ID, "err", err)
	}
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now().UTC()
	}
	return time.Now().UTC()
}

func (w *Worker) send(ctx context.Context, c Claimed) error {
	body, err := w.Body(c.Payload)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, w.leaseOr(time.Minute)/2)
		err = w.Sender.Send(sctx, notify.Message{ID: c.EventID, Type: c.EventType, To: c.URL, Secret: c.Secret,
			Body: body, ContentType: "application/json"})
		cancel()
	}
	at := w.now()
	log := w.Log.With("delivery", c.ID, "webhook", c.WebhookID, "department", c.Department, "event", c.EventID, "attempt", c.Attempts)
	if err != nil && ctx.Err() != nil {
		// Shutting down: the try was cut short, so it does not count and
		// the next worker takes it at once (a process killed outright
		// leaves it to the lease instead, the try counted).
		w.release(ctx, c)
		return ctx.Err()
	}
	// A try that was made is recorded even when a shutdown comes right
	// after it, within a few seconds.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	switch {
	case err == nil:
		log.InfoContext(ctx, "webhook delivered")
		err = w.Queue.Delivered(rctx, c.ID, at)
	case w.Backoff.Dead(c.Attempts):
		log.WarnContext(ctx, "webhook delivery dead after its last try", "err", err)
		err = w.Queue.Kill(rctx, c.ID, at, err.Error())
	default:
		next := at.Add(w.Backoff.Wait(c.Attempts))
		log.InfoContext(ctx, "webhook delivery failed; retrying", "err", err, "next", next)
		err = w.Queue.Retry(rctx, c.ID, at, next, err.Error())
	}
	if err != nil {
		return err
	}
	return ctx.Err()
}

func (w *Worker) leaseOr(d time.Duration) time.Duration {
	if w.Lease > 0 {
		return w.Lease
	}
	return d
}
