// Package notify sends one notification to one receiver: a department's
// webhook today, a grid worker's SMS or app push later. A Sender delivers a
// Message once and says whether it arrived; retrying, backoff and dead
// letters are the caller's, who keeps its deliveries in its own database so
// that a restart loses none (dispatch's webhook deliveries are the first).
//
// Every sender answers the same way: nil when the receiver took the message,
// a *Failure otherwise, whose reason the caller may store and show. Every
// failure is worth a retry: a receiver answering 4xx is most often one
// misconfigured for a while (a rotated secret, a deploy), and its owners
// mend it before the last try; after it, the dead letter waits for a person.
package notify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Message is one notification to one receiver.
type Message struct {
	// ID is the event's id, unique per notification: receivers drop a
	// repeat (a retry after a lost answer) by it.
	ID string
	// Type names what happened ("task.dispatched"), for receivers that route
	// by it without parsing the body.
	Type string
	// To is where it goes: a webhook's URL; a phone number for SMS.
	To string
	// Secret signs the message for its receiver (a webhook's shared secret);
	// never logged, never answered.
	Secret []byte
	// Body is what the receiver reads; ContentType says what it is.
	Body        []byte
	ContentType string
}

// Sender delivers one message once.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Failure is a delivery that did not arrive, with a reason fit to show to
// the receiver's owners (no secret, no body).
type Failure struct {
	Reason string
}

func (f *Failure) Error() string { return f.Reason }

// Failed returns a Failure.
func Failed(format string, args ...any) error {
	return &Failure{Reason: fmt.Sprintf(format, args...)}
}

// Backoff is exponential backoff with jitter: the wait after the n-th failed
// attempt (n from 1) is drawn uniformly from [d/2, d] with d = Base·2^(n-1)
// capped at Max ("equal jitter"): replicas and receivers coming back after
// an outage are not hit by every retry at once, and a wait never drops
// below half its step, so the schedule still backs off.
type Backoff struct {
	Base, Max time.Duration
	// Attempts is how many tries a message gets before it is dead.
	Attempts int
}

// DefaultBackoff: 10 tries, the waits between them 10 s, 20 s, … doubling
// to 30 min (each drawn in [d/2, d]): the last try comes 36 to 73 minutes
// after the first. A receiver down for a deploy or a short outage gets
// everything; one down all afternoon gets dead letters, which wait for a
// person (dispatch lists them; replaying them is not built yet).
var DefaultBackoff = Backoff{Base: 10 * time.Second, Max: 30 * time.Minute, Attempts: 10}

// Wait is the wait after the attempt-th failed attempt.
func (b Backoff) Wait(attempt int) time.Duration {
	return b.wait(attempt, rand.Float64())
}

// wait is Wait with the random draw u in [0, 1) given.
func (b Backoff) wait(attempt int, u float64) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := b.Base
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	if b.Max > 0 && d > b.Max {
		d = b.Max
	}
	return d/2 + time.Duration(u*float64(d/2))
}

// Dead reports whether a message that failed attempts times is dead.
func (b Backoff) Dead(attempts int) bool { return attempts >= b.Attempts }
