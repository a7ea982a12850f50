package natsjs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Scrubbing: a stream that kept what an older version published — events
// with a caller's clear contact — is made to stop holding it, without
// losing an event a durable consumer has not handled and without changing
// anything a consumer's idempotency relies on.
//
//   - GRID: the messages on the given subjects up to the last one that
//     holds clear data are purged (by subject and sequence), once every
//     durable consumer whose filter overlaps those subjects has acked past
//     that sequence. Nothing is re-published on GRID: a copy would get a new
//     sequence and, outside the duplicate window, be delivered again to
//     every consumer; the services already hold what they need in their own
//     tables (DESIGN.md), so the purged history is not needed.
//   - GRID_DLQ: dead letters are for a person to look at, and no durable
//     consumer reads them, so each one holding clear data is replaced by its
//     masked copy (same subject and headers, the reason kept) and then
//     deleted.
//
// Running it again finds nothing left to do.

// ScrubOptions say what to scrub and how.
type ScrubOptions struct {
	// Subjects of GRID whose old messages may hold clear data.
	Subjects []string
	// Mask returns a message's masked copy and whether it held clear data
	// (false: leave it alone). An error stops the scrub.
	Mask func(data []byte) (masked []byte, clear bool, err error)
	// Wait is how long to wait for the durable consumers to ack past the
	// last message to purge.
	Wait time.Duration
	// DryRun finds and counts, changes nothing.
	DryRun bool
}

// ScrubReport says what a scrub found and did.
type ScrubReport struct {
	// GridScanned messages on Subjects, GridClear of them holding clear
	// data, the last at GridLastClear; GridPurged were purged (every
	// message on Subjects up to GridLastClear).
	GridScanned, GridClear int
	GridLastClear          uint64
	GridPurged             uint64
	// DLQScanned dead letters, DLQClear of them holding clear data, each
	// replaced by its masked copy (DLQReplaced).
	DLQScanned, DLQClear, DLQReplaced int
}

// ScrubContacts scrubs GRID and GRID_DLQ as the package comment above says.
func ScrubContacts(ctx context.Context, js jetstream.JetStream, opts ScrubOptions) (ScrubReport, error) {
	var r ScrubReport
	if len(opts.Subjects) == 0 || opts.Mask == nil {
		return r, errors.New("scrub: no subjects or no mask")
	}
	grid, err := js.Stream(ctx, StreamGrid)
	if err != nil {
		return r, fmt.Errorf("scrub: %w", err)
	}
	err = scan(ctx, grid, opts.Subjects, func(m jetstream.Msg, seq uint64) error {
		r.GridScanned++
		_, clear, err := opts.Mask(m.Data())
		if err != nil {
			return fmt.Errorf("GRID message %d on %s: %w", seq, m.Subject(), err)
		}
		if clear {
			r.GridClear++
			r.GridLastClear = seq
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	if r.GridClear > 0 && !opts.DryRun {
		if err := waitAcked(ctx, grid, opts.Subjects, r.GridLastClear, opts.Wait); err != nil {
			return r, err
		}
		before, err := countOn(ctx, grid, opts.Subjects)
		if err != nil {
			return r, err
		}
		for _, s := range opts.Subjects {
			if err := grid.Purge(ctx, jetstream.WithPurgeSubject(s), jetstream.WithPurgeSequence(r.GridLastClear+1)); err != nil {
				return r, fmt.Errorf("scrub: purge GRID %s below %d: %w", s, r.GridLastClear+1, err)
			}
		}
		after, err := countOn(ctx, grid, opts.Subjects)
		if err != nil {
			return r, err
		}
		r.GridPurged = before - after
	}

	dlq, err := js.Stream(ctx, StreamDLQ)
	if err != nil {
		return r, fmt.Errorf("scrub: %w", err)
	}
	type dead struct {
		seq     uint64
		subject string
		header  nats.Header
		masked  []byte
	}
	var clear []dead
	err = scan(ctx, dlq, []string{SubjectsDLQ}, func(m jetstream.Msg, seq uint64) error {
		r.DLQScanned++
		masked, isClear, err := opts.Mask(m.Data())
		if err != nil {
			// A dead letter may be one because it did not decode: it is
			// no event, and the scrub leaves it for a person.
			return nil
		}
		if isClear {
			clear = append(clear, dead{seq, m.Subject(), m.Headers(), masked})
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	r.DLQClear = len(clear)
	if opts.DryRun {
		return r, nil
	}
	for _, d := range clear {
		msg := &nats.Msg{Subject: d.subject, Data: d.masked, Header: nats.Header{}}
		for k, v := range d.header {
			msg.Header[k] = slices.Clone(v)
		}
		// A fresh id: the original's may still be in the duplicate window.
		msg.Header.Set(nats.MsgIdHdr, "scrubbed-"+strconv.FormatUint(d.seq, 10))
		if _, err := js.PublishMsg(ctx, msg, jetstream.WithExpectStream(StreamDLQ)); err != nil {
			return r, fmt.Errorf("scrub: republish dead letter %d masked: %w", d.seq, err)
		}
		if err := dlq.DeleteMsg(ctx, d.seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return r, fmt.Errorf("scrub: delete dead letter %d: %w", d.seq, err)
		}
		r.DLQReplaced++
	}
	return r, nil
}

// scan calls fn for every message of st on subjects that is there now.
func scan(ctx context.Context, st jetstream.Stream, subjects []string, fn func(jetstream.Msg, uint64) error) error {
	n, err := countOn(ctx, st, subjects)
	if err != nil || n == 0 {
		return err
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: subjects})
	if err != nil {
		return fmt.Errorf("scrub: read %s: %w", st.CachedInfo().Config.Name, err)
	}
	for {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			return fmt.Errorf("scrub: read %s: %w", st.CachedInfo().Config.Name, err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return err
		}
		if err := fn(m, meta.Sequence.Stream); err != nil {
			return err
		}
		if meta.NumPending == 0 {
			return nil
		}
	}
}

// countOn is how many messages st holds on subjects.
func countOn(ctx context.Context, st jetstream.Stream, subjects []string) (uint64, error) {
	var n uint64
	for _, s := range subjects {
		info, err := st.Info(ctx, jetstream.WithSubjectFilter(s))
		if err != nil {
			return 0, fmt.Errorf("scrub: count %s: %w", s, err)
		}
		for _, c := range info.State.Subjects {
			n += c
		}
	}
	return n, nil
}

// waitAcked waits until every durable consumer of st whose filter overlaps
// subjects has acked every message up to seq (or has none left pending).
func waitAcked(ctx context.Context, st jetstream.Stream, subjects []string, seq uint64, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		var behind []string
		lister := st.ListConsumers(ctx)
		for ci := range lister.Info() {
			if ci.Config.Durable == "" || !overlaps(filters(ci.Config), subjects) {
				continue
			}
			if ci.AckFloor.Stream < seq && (ci.NumPending > 0 || ci.NumAckPending > 0) {
				behind = append(behind, fmt.Sprintf("%s (acked to %d, %d pending)", ci.Name, ci.AckFloor.Stream,
					ci.NumPending+uint64(ci.NumAckPending)))
			}
		}
		if err := lister.Err(); err != nil {
			return fmt.Errorf("scrub: list consumers: %w", err)
		}
		if len(behind) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("scrub: not purging GRID up to %d: durable consumers have not handled it yet: %s",
				seq, strings.Join(behind, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func filters(c jetstream.ConsumerConfig) []string {
	if c.FilterSubject != "" {
		return []string{c.FilterSubject}
	}
	if len(c.FilterSubjects) == 0 {
		return []string{">"}
	}
	return c.FilterSubjects
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if subjectsCollide(x, y) {
				return true
			}
		}
	}
	return false
}

// subjectsCollide reports whether some subject matches both patterns.
func subjectsCollide(a, b string) bool {
	at, bt := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; ; i++ {
		switch {
		case i < len(at) && at[i] == ">", i < len(bt) && bt[i] == ">":
			return true
		case i == len(at) || i == len(bt):
			return len(at) == len(bt)
		case at[i] != "*" && bt[i] != "*" && at[i] != bt[i]:
			return false
		}
	}
}
