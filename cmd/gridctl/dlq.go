package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/redact"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// deadLetter is one message of GRID_DLQ as an operator reads it.
type deadLetter struct {
	Seq        uint64      `json:"sequence"`
	Durable    string      `json:"durable"`
	Subject    string      `json:"subject"` // the original subject
	EventID    string      `json:"event_id,omitempty"`
	Reason     string      `json:"reason"`
	Deliveries int         `json:"deliveries,omitempty"`
	ReplayOf   uint64      `json:"replay_of,omitempty"` // it failed again after a replay of this dead letter
	At         time.Time   `json:"dead_lettered_at"`
	Headers    nats.Header `json:"headers,omitempty"`
	data       []byte
}

func toDeadLetter(m jetstream.Msg) (deadLetter, error) {
	meta, err := m.Metadata()
	if err != nil {
		return deadLetter{}, err
	}
	h := m.Headers()
	d := deadLetter{Seq: meta.Sequence.Stream, Subject: m.Subject(), At: meta.Timestamp, Headers: h, data: m.Data(),
		EventID: h.Get(consumer.HeaderDLQMsgID), Reason: h.Get(natsjs.HeaderDLQReason)}
	if durable, original, ok := consumer.DeadLetterSubject(m.Subject()); ok {
		d.Durable, d.Subject = durable, original
	}
	if d.EventID == "" && h.Get(consumer.HeaderDLQStreamSeq) != "" {
		d.EventID = "seq:" + h.Get(consumer.HeaderDLQStreamSeq)
	}
	d.Deliveries, _ = strconv.Atoi(h.Get(consumer.HeaderDLQDeliveries))
	d.ReplayOf, _ = strconv.ParseUint(h.Get(consumer.HeaderReplayOf), 10, 64)
	return d, nil
}

// dlqFilter is the GRID_DLQ subject filter for one durable's dead letters,
// or for all of them.
func dlqFilter(durable string) string {
	if durable == "" {
		return consumer.DeadLetterPrefix + ">"
	}
	return consumer.DeadLetterPrefix + durable + ".>"
}

// checkDurable refuses a durable name pkg/natsauth's table does not hold:
// nothing consumes its replays, and nothing dead-letters under it.
func checkDurable(name string) error {
	if name == "" {
		return nil
	}
	var known []string
	for _, d := range natsauth.AllDurables() {
		if d.Name == name {
			return nil
		}
		known = append(known, d.Name)
	}
	return fmt.Errorf("--durable %q: not a durable consumer of gridflow's (one of %s)", name, strings.Join(known, ", "))
}

// parseSeqs reads the GRID_DLQ sequence numbers given as arguments.
func parseSeqs(args []string) ([]uint64, error) {
	seqs := make([]uint64, 0, len(args))
	for _, a := range args {
		n, err := strconv.ParseUint(a, 10, 64)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("sequence %q: want a GRID_DLQ sequence number, a positive integer (gridctl dlq list shows them)", a)
		}
		seqs = append(seqs, n)
	}
	return seqs, nil
}

// readDeadLetters reads the dead letters matching filter from sequence
// start to last (the end of GRID_DLQ as its info stood), calling each for
// every one, until each returns false. It fetches in batches: reading one
// message at a time (Next) failed with "no responders" mid-read on a NATS
// cluster (e2e's cluster test).
func readDeadLetters(ctx context.Context, st jetstream.Stream, filter string, start, last uint64, each func(deadLetter) bool) error {
	start = max(start, 1) // an empty stream's first sequence is 0
	if last == 0 || start > last {
		return nil
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter},
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: start})
	if err != nil {
		return err
	}
	for {
		batch, err := cons.Fetch(100, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			d, err := toDeadLetter(m)
			if err != nil {
				return err
			}
			if d.Seq > last || !each(d) {
				return nil
			}
			meta, _ := m.Metadata()
			if d.Seq == last || (meta != nil && meta.NumPending == 0) {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return err
		}
		if got == 0 {
			return nil // nothing more matches
		}
	}
}

// dlqStream opens GRID_DLQ and counts its dead letters under filter, per
// subject, in one snapshot.
func dlqStream(ctx context.Context, js jetstream.JetStream, filter string) (jetstream.Stream, *jetstream.StreamInfo, error) {
	st, err := js.Stream(ctx, natsjs.StreamDLQ)
	if err != nil {
		return nil, nil, fmt.Errorf("stream %s: %w", natsjs.StreamDLQ, err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, nil, fmt.Errorf("stream %s: %w", natsjs.StreamDLQ, err)
	}
	return st, info, nil
}

// newest reads the last n dead letters under filter, oldest first. The
// stream's sequence numbers have holes (replayed dead letters are deleted,
// other durables' interleave), so it reads back from the end in growing
// windows until it has n or reached the start.
func newest(ctx context.Context, st jetstream.Stream, info *jetstream.StreamInfo, filter string, n int) ([]deadLetter, error) {
	first, last := info.State.FirstSeq, info.State.LastSeq
	if info.State.Msgs == 0 || n <= 0 {
		return nil, nil
	}
	for window := uint64(n); ; window *= 4 {
		start := first
		if last > window && last-window+1 > first {
			start = last - window + 1
		}
		var got []deadLetter
		err := readDeadLetters(ctx, st, filter, start, last, func(d deadLetter) bool {
			got = append(got, d)
			return true
		})
		if err != nil {
			return nil, err
		}
		if len(got) >= n || start == first {
			return got[max(0, len(got)-n):], nil
		}
	}
}

// dlqCounts is how many dead letters each durable has waiting.
func dlqCounts(info *jetstream.StreamInfo) map[string]uint64 {
	counts := map[string]uint64{}
	for subj, n := range info.State.Subjects {
		durable, _, ok := consumer.DeadLetterSubject(subj)
		if !ok {
			durable = "(not a dead letter: " + subj + ")"
		}
		counts[durable] += n
	}
	return counts
}

func newDLQCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "dlq", Short: "Dead letters: list, show and replay what a consumer gave up on (stream GRID_DLQ)",
		Long: "A consumer gives up on an event it cannot handle (a permanent error, a payload that does not decode,\n" +
			"every delivery failed) and moves it to GRID_DLQ as dlq.<durable>.<original subject>, with the reason.\n" +
			"list and show read as the operator's NATS user; replay needs the ops user (its seed: --nkey, else\n" +
			"<run dir>/nats/users/ops.nk), which may put a dead letter back in front of its durable and delete it."}
	var natsURL string
	cmd.PersistentFlags().StringVar(&natsURL, "nats", "", "NATS URL (default: $GRIDFLOW_NATS_URL, the context file, else nats://127.0.0.1:14222)")
	connect := func(user string) (*nats.Conn, jetstream.JetStream, error) {
		if natsURL == "" {
			natsURL = g.settings().get(envNATS).value
		}
		return g.natsConnect(natsURL, user)
	}

	var (
		durable string
		last    int
	)
	list := &cobra.Command{
		Use:   "list [--durable NAME] [--last N]",
		Short: "Count the dead letters per durable consumer and show the newest N with their reason",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkDurable(durable); err != nil {
				return err
			}
			if last < 0 {
				return fmt.Errorf("--last %d: must not be negative", last)
			}
			nc, js, err := connect(natsauth.Operator)
			if err != nil {
				return err
			}
			defer nc.Close()
			ctx, cancel := g.ctx(cmd.Context())
			defer cancel()
			filter := dlqFilter(durable)
			st, info, err := dlqStream(ctx, js, filter)
			if err != nil {
				return err
			}
			counts := dlqCounts(info)
			letters, err := newest(ctx, st, info, filter, last)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if g.asJSON {
				return printMasked(w, func(w io.Writer) error {
					return printJSON(w, struct {
						Counts map[string]uint64 `json:"counts"`
						Newest []deadLetter      `json:"newest"`
					}{counts, letters})
				})
			}
			return printMasked(w, func(w io.Writer) error { return printDLQList(w, counts, letters) })
		},
	}
	list.Flags().StringVar(&durable, "durable", "", "only this durable consumer's dead letters (e.g. classify-cases)")
	list.Flags().IntVar(&last, "last", 10, "show the newest N dead letters")

	show := &cobra.Command{
		Use:   "show SEQ",
		Short: "Show one dead letter: its headers and its payload as JSON (phone numbers masked)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			seqs, err := parseSeqs(args)
			if err != nil {
				return err
			}
			nc, js, err := connect(natsauth.Operator)
			if err != nil {
				return err
			}
			defer nc.Close()
			ctx, cancel := g.ctx(cmd.Context())
			defer cancel()
			d, err := deadLetterAt(ctx, js, seqs[0])
			if err != nil {
				return err
			}
			return printMasked(cmd.OutOrStdout(), func(w io.Writer) error { return printDeadLetter(w, d, g.asJSON) })
		},
	}

	var all bool
	replay := &cobra.Command{
		Use:   "replay SEQ... | replay --durable NAME --all",
		Short: "Put dead letters back in front of their durable consumer, then delete them from GRID_DLQ",
		Long: "Publishes each dead letter on grid.replay.<durable>.<original subject>, which only that durable\n" +
			"consumer takes: its service handles it again under the original subject and event id, and then\n" +
			"it is deleted from GRID_DLQ. Consumers record the events they handled, so replaying an event that\n" +
			"was handled meanwhile changes nothing; one that fails again comes back to GRID_DLQ with its new\n" +
			"reason. Connects as the NATS user ops (--nkey, else <run dir>/nats/users/ops.nk).",
		RunE: func(cmd *cobra.Command, args []string) error {
			seqs, err := parseSeqs(args)
			if err != nil {
				return err
			}
			if err := checkDurable(durable); err != nil {
				return err
			}
			switch {
			case len(seqs) == 0 && !all:
				return errors.New("replay what: give the sequence numbers (gridctl dlq list), or --durable NAME --all")
			case len(seqs) > 0 && all:
				return errors.New("--all: give sequence numbers or --all, not both")
			case all && durable == "":
				return errors.New("--all: needs --durable NAME (replay one consumer's dead letters at a time)")
			}
			nc, js, err := connect(natsauth.Ops)
			if err != nil {
				return err
			}
			defer nc.Close()
			ctx, cancel := g.ctx(cmd.Context())
			defer cancel()
			var letters []deadLetter
			if all {
				st, info, err := dlqStream(ctx, js, dlqFilter(durable))
				if err != nil {
					return err
				}
				err = readDeadLetters(ctx, st, dlqFilter(durable), info.State.FirstSeq, info.State.LastSeq, func(d deadLetter) bool {
					letters = append(letters, d)
					return true
				})
				if err != nil {
					return err
				}
			} else {
				for _, seq := range seqs {
					d, err := deadLetterAt(ctx, js, seq)
					if err != nil {
						return err
					}
					if durable != "" && d.Durable != durable {
						return fmt.Errorf("sequence %d: a dead letter of %s, not of --durable %s", seq, d.Durable, durable)
					}
					letters = append(letters, d)
				}
			}
			w := cmd.OutOrStdout()
			for i, d := range letters {
				if err := replayDeadLetter(ctx, js, d); err != nil {
					return fmt.Errorf("replaying dead letter %d (%d replayed before it): %w", d.Seq, i, err)
				}
				fmt.Fprintf(w, "replayed %d to %s: %s %s\n", d.Seq, d.Durable, d.Subject, d.EventID)
			}
			fmt.Fprintf(w, "%d dead letters replayed\n", len(letters))
			return nil
		},
	}
	replay.Flags().StringVar(&durable, "durable", "", "the durable consumer whose dead letters to replay (with --all), or that the given ones must belong to")
	replay.Flags().BoolVar(&all, "all", false, "replay every dead letter of --durable")
	cmd.AddCommand(list, show, replay)
	return cmd
}

// deadLetterAt reads the dead letter at seq of GRID_DLQ.
func deadLetterAt(ctx context.Context, js jetstream.JetStream, seq uint64) (deadLetter, error) {
	st, info, err := dlqStream(ctx, js, dlqFilter(""))
	if err != nil {
		return deadLetter{}, err
	}
	var found *deadLetter
	if seq >= info.State.FirstSeq && seq <= info.State.LastSeq {
		err = readDeadLetters(ctx, st, dlqFilter(""), seq, seq, func(d deadLetter) bool {
			if d.Seq == seq {
				found = &d
			}
			return false
		})
		if err != nil {
			return deadLetter{}, err
		}
	}
	if found == nil {
		return deadLetter{}, fmt.Errorf("sequence %d: no dead letter there in %s (replayed, or expired; gridctl dlq list shows what is)", seq, natsjs.StreamDLQ)
	}
	return *found, nil
}

// replayDeadLetter publishes d in front of its durable and then deletes it
// from GRID_DLQ. Run again after a failure in between, it publishes with
// the same message id (stored once within GRID's duplicate window) and the
// consumer's record of handled events makes a second copy a no-op anyway.
func replayDeadLetter(ctx context.Context, js jetstream.JetStream, d deadLetter) error {
	if err := checkDurable(d.Durable); err != nil || d.Durable == "" {
		return fmt.Errorf("dead letter %d is on no gridflow durable's subject; it cannot be replayed", d.Seq)
	}
	msg, id, err := consumer.ReplayMsg(consumer.DeadLetterPrefix+d.Durable+"."+d.Subject, d.Seq, d.data, d.Headers)
	if err != nil {
		return err
	}
	if _, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(id), jetstream.WithExpectStream(natsjs.StreamGrid)); err != nil {
		return fmt.Errorf("publish %s: %w", msg.Subject, err)
	}
	st, err := js.Stream(ctx, natsjs.StreamDLQ)
	if err != nil {
		return err
	}
	if err := st.DeleteMsg(ctx, d.Seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("replayed, but not deleted from %s (run the replay again: it is a no-op for the consumer): %w", natsjs.StreamDLQ, err)
	}
	return nil
}

// printMasked runs print into a buffer and writes what it printed with
// every phone number masked (DESIGN.md: personal data is masked outside
// intake): a dead letter is whatever a service published, poison included.
func printMasked(w io.Writer, print func(io.Writer) error) error {
	var b bytes.Buffer
	if err := print(&b); err != nil {
		return err
	}
	_, err := io.WriteString(w, redact.Phones(b.String()))
	return err
}

func printDLQList(w io.Writer, counts map[string]uint64, letters []deadLetter) error {
	durables := make([]string, 0, len(counts))
	var total uint64
	for d, n := range counts {
		durables = append(durables, d)
		total += n
	}
	sort.Strings(durables)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DURABLE\tDEAD LETTERS")
	for _, d := range durables {
		fmt.Fprintf(tw, "%s\t%d\n", d, counts[d])
	}
	fmt.Fprintf(tw, "total\t%d\n", total)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(letters) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nnewest %d:\n", len(letters))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tDEAD-LETTERED\tDURABLE\tSUBJECT\tEVENT\tREASON")
	for i := len(letters) - 1; i >= 0; i-- {
		d := letters[i]
		reason := d.Reason
		if r := []rune(reason); len(r) > 80 {
			reason = string(r[:80]) + "…"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", d.Seq, localTime(d.At), d.Durable, d.Subject, d.EventID, reason)
	}
	return tw.Flush()
}

// payloadJSON renders a dead letter's payload: the event envelope as JSON,
// or, when it is not one (a poison message), its bytes as a JSON string.
func payloadJSON(data []byte) (json.RawMessage, string) {
	var env eventsv1.Envelope
	err := proto.Unmarshal(data, &env)
	if err == nil && env.GetType() != "" {
		if b, err := protojson.Marshal(&env); err == nil {
			var out bytes.Buffer
			if json.Indent(&out, b, "", "  ") == nil {
				return out.Bytes(), ""
			}
		}
	}
	problem := "not an event envelope"
	if err != nil {
		problem += ": " + err.Error()
	}
	b, _ := json.Marshal(string(data))
	return b, problem
}

func printDeadLetter(w io.Writer, d deadLetter, asJSON bool) error {
	payload, problem := payloadJSON(d.data)
	if asJSON {
		return printJSON(w, struct {
			deadLetter
			Payload        json.RawMessage `json:"payload"`
			PayloadProblem string          `json:"payload_problem,omitempty"`
		}{d, payload, problem})
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "sequence\t%d\n", d.Seq)
	fmt.Fprintf(tw, "durable\t%s\n", d.Durable)
	fmt.Fprintf(tw, "subject\t%s\n", d.Subject)
	fmt.Fprintf(tw, "event\t%s\n", d.EventID)
	fmt.Fprintf(tw, "dead-lettered\t%s\n", localTime(d.At))
	if d.Deliveries > 0 {
		fmt.Fprintf(tw, "deliveries\t%d\n", d.Deliveries)
	}
	if d.ReplayOf > 0 {
		fmt.Fprintf(tw, "replay of\t%d (failed again)\n", d.ReplayOf)
	}
	fmt.Fprintf(tw, "reason\t%s\n", d.Reason)
	if err := tw.Flush(); err != nil {
		return err
	}
	keys := make([]string, 0, len(d.Headers))
	for k := range d.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintln(w, "headers:")
	for _, k := range keys {
		for _, v := range d.Headers[k] {
			fmt.Fprintf(w, "  %s: %s\n", k, v)
		}
	}
	if problem != "" {
		fmt.Fprintf(w, "payload (%s):\n", problem)
	} else {
		fmt.Fprintln(w, "payload:")
	}
	_, err := fmt.Fprintf(w, "%s\n", payload)
	return err
}
