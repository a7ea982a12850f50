package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/redact"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

func newEventsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "events", Short: "Read the GRID event stream"}
	var (
		natsURL string
		subject string
		last    int
		follow  bool
		timeout time.Duration
	)
	tail := &cobra.Command{
		Use:   "tail [--last N] [--follow]",
		Short: "Print events from stream GRID, one line each",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			if natsURL == "" {
				natsURL = g.settings().get(envNATS).value
			}
			nc, js, err := g.natsConnect(natsURL, natsauth.Operator)
			if err != nil {
				return err
			}
			defer nc.Close()
			stream, err := js.Stream(ctx, natsjs.StreamGrid)
			if err != nil {
				return fmt.Errorf("stream %s: %w", natsjs.StreamGrid, err)
			}
			// The subject's message count, from the same snapshot as the
			// stream's sequence numbers: --last N counts events on the
			// subject, not positions in the stream, and an age-limited
			// stream no longer starts at 1.
			info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject))
			if err != nil {
				return err
			}
			var matching uint64
			for _, n := range info.State.Subjects {
				matching += n
			}
			cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverNewPolicy}
			remaining, skip := -1, uint64(0)
			if last > 0 {
				n := min(uint64(last), matching)
				if !follow {
					remaining = int(n)
				}
				if matching == info.State.Msgs && info.State.NumDeleted == 0 {
					// Every event matches and none is missing in between:
					// the last n are the last n sequence numbers.
					cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
					cfg.OptStartSeq = info.State.LastSeq - n + 1
				} else {
					// Which sequence number the n-th last match has is not
					// known without reading: read the matches from the first
					// and skip all but the last n.
					cfg.DeliverPolicy = jetstream.DeliverAllPolicy
					skip = matching - n
				}
			}
			if remaining == 0 {
				return nil
			}
			cons, err := stream.OrderedConsumer(ctx, cfg)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for remaining != 0 {
				msg, err := cons.Next(jetstream.FetchContext(ctx))
				if err != nil {
					// Once the deadline passed or the user stopped it, Next
					// fails with errors of its own ("invalid jetstream
					// option: context deadline already exceeded", which it
					// says from the deadline, a moment before ctx.Err does):
					// the context and its deadline say what happened.
					if ended(ctx) {
						if remaining > 0 {
							return fmt.Errorf("timed out with %d of the last %d events unread", remaining, last)
						}
						return nil
					}
					if errors.Is(err, nats.ErrTimeout) {
						continue // nothing new yet: keep following
					}
					return err
				}
				if skip > 0 {
					skip--
					continue
				}
				printEvent(w, msg, g.asJSON)
				if remaining > 0 {
					remaining--
				}
			}
			return nil
		},
	}
	f := tail.Flags()
	f.StringVar(&natsURL, "nats", "", "NATS URL (default: $GRIDFLOW_NATS_URL, the context file, else nats://127.0.0.1:14222)")
	f.StringVar(&subject, "subject", "grid.>", "subject filter, e.g. grid.case.*.310106.310106022")
	f.IntVar(&last, "last", 0, "start with the last N events")
	f.BoolVar(&follow, "follow", false, "keep printing new events")
	f.DurationVar(&timeout, "timeout", 0, "give up after this long (0: never)")
	cmd.AddCommand(tail)
	return cmd
}

// ended reports whether ctx is done or its deadline has passed.
func ended(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ctx.Err() != nil || (ok && !time.Now().Before(dl))
}

func printEvent(w io.Writer, msg jetstream.Msg, asJSON bool) {
	var env eventsv1.Envelope
	if err := proto.Unmarshal(msg.Data(), &env); err != nil {
		fmt.Fprintf(w, "%s  (not an envelope: %v)\n", msg.Subject(), err)
		return
	}
	// What the stream holds is masked already; an event an older intake
	// published before the stream was scrubbed is masked here, so the tail
	// never prints a clear contact.
	redact.Envelope(&env)
	if asJSON {
		_ = printProto(w, &env)
		return
	}
	at := env.GetOccurredAt().AsTime().In(shanghai).Format("01-02 15:04:05")
	var detail string
	switch {
	case env.GetCaseReceived() != nil:
		detail = env.GetCaseReceived().GetCaseNumber() + "  " + env.GetCaseReceived().GetTitle()
	case env.GetCaseAnswered() != nil:
		detail = env.GetCaseAnswered().GetCaseNumber() + "  " + env.GetCaseAnswered().GetTitle()
	default:
		detail = summary(&env)
	}
	fmt.Fprintf(w, "%s  %-44s %-14s %s\n", at, msg.Subject(), env.GetType(), detail)
}

// idField matches ids, which say nothing to a person reading the stream.
var idField = regexp.MustCompile(`\b\w*_id: ?"[^"]*" ?`)

// summary renders any other payload on one line, cut to a screen's width.
func summary(env *eventsv1.Envelope) string {
	m := env.ProtoReflect()
	od := m.Descriptor().Oneofs().ByName("payload")
	if od == nil {
		return ""
	}
	fd := m.WhichOneof(od)
	if fd == nil {
		return ""
	}
	text := prototext.MarshalOptions{}.Format(m.Get(fd).Message().Interface())
	text = idField.ReplaceAllString(strings.Join(strings.Fields(text), " "), "")
	if r := []rune(text); len(r) > 110 {
		text = string(r[:110]) + "…"
	}
	return text
}
