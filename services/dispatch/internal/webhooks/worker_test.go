package webhooks

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/notify"
)

// queue is a Queue in memory that records what the worker tells it; a
// call made with a context already ended fails, as the database's would.
type queue struct {
	mu                                sync.Mutex
	claim                             []Claimed
	delivered, retried, killed, freed []string
}

func (q *queue) Claim(context.Context, time.Time, int, time.Duration) ([]Claimed, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := q.claim
	q.claim = nil
	return c, nil
}

func (q *queue) note(ctx context.Context, to *[]string, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	*to = append(*to, id)
	return nil
}

func (q *queue) Delivered(ctx context.Context, id string, _ time.Time) error {
	return q.note(ctx, &q.delivered, id)
}
func (q *queue) Retry(ctx context.Context, id string, _, _ time.Time, _ string) error {
	return q.note(ctx, &q.retried, id)
}
func (q *queue) Kill(ctx context.Context, id string, _ time.Time, _ string) error {
	return q.note(ctx, &q.killed, id)
}
func (q *queue) Release(ctx context.Context, id string, _ time.Time) error {
	return q.note(ctx, &q.freed, id)
}

// sender answers each try with answer and calls during it (a shutdown).
type sender struct {
	tried  []string
	answer error
	during func()
}

func (s *sender) Send(_ context.Context, m notify.Message) error {
	s.tried = append(s.tried, m.ID)
	if s.during != nil {
		s.during()
	}
	return s.answer
}

// A shutdown that comes during the first try of a claimed batch: the try
// that was made is recorded (its outcome, or given back when it failed and
// may have been cut short), and the deliveries not tried are given back —
// none keeps an attempt it never made, nor waits out the lease (issue 17:
// TestWebhookRetriesWithBackoffSurvivesARestartAndDeadLetters saw a
// delivery die one real try early).
func TestShutdownGivesBackWhatWasNotTried(t *testing.T) {
	for _, tt := range []struct {
		name             string
		answer           error
		delivered, freed []string
	}{
		{"the try arrived", nil, []string{"e1"}, []string{"e2", "e3"}},
		{"the try failed", errors.New("receiver answered 500"), nil, []string{"e1", "e2", "e3"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, stop := context.WithCancel(context.Background())
			q := &queue{}
			for _, id := range []string{"e1", "e2", "e3"} {
				q.claim = append(q.claim, Claimed{Delivery: Delivery{ID: id, EventID: id, Attempts: 1}})
			}
			s := &sender{answer: tt.answer, during: stop}
			w := &Worker{Queue: q, Sender: s, Backoff: notify.Backoff{Base: time.Second, Max: time.Minute, Attempts: 3},
				Body: func(p []byte) ([]byte, error) { return p, nil }, Log: slog.New(slog.DiscardHandler)}
			if n, err := w.Once(ctx); n != 3 || !errors.Is(err, context.Canceled) {
				t.Fatalf("Once = %d, %v; want 3 claimed and the shutdown", n, err)
			}
			if !slices.Equal(s.tried, []string{"e1"}) {
				t.Errorf("tried %v, want only e1", s.tried)
			}
			if !slices.Equal(q.delivered, tt.delivered) || !slices.Equal(q.freed, tt.freed) || len(q.retried)+len(q.killed) != 0 {
				t.Errorf("delivered %v, given back %v, retried %v, killed %v; want delivered %v, given back %v",
					q.delivered, q.freed, q.retried, q.killed, tt.delivered, tt.freed)
			}
		})
	}
}
