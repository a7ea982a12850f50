package main

import (
	"context"
	"fmt"
	"time"

	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/redact"
	"github.com/spf13/cobra"
)

// scrubSubjects are the subjects of intake's events that carried a
// caller's contact (and free text) before intake masked them.
var scrubSubjects = []string{"grid.case.received.>", "grid.case.answered.>", "grid.case.followed_up.>"}

// newScrubCmd is `gridctl nats scrub-contacts`: the one-off migration that
// makes GRID and GRID_DLQ stop holding the clear contacts an older intake
// published (natsjs.ScrubContacts).
func newScrubCmd(g *globals) *cobra.Command {
	var (
		natsURL string
		wait    time.Duration
		dryRun  bool
	)
	cmd := &cobra.Command{
		Use:   "scrub-contacts [--dry-run] [--wait D]",
		Short: "Make GRID and GRID_DLQ stop holding callers' clear contacts published before intake masked them",
		Long: "Run once after upgrading intake to the version that masks its events, with the services running.\n" +
			"GRID: finds the last message on grid.case.{received,answered,followed_up}.> that holds a clear\n" +
			"contact, waits (--wait) until every durable consumer reading those subjects has acked past it, and\n" +
			"purges those subjects up to it — nothing is re-published on GRID, so no consumer sees an event twice.\n" +
			"GRID_DLQ: replaces each dead letter holding a clear contact by its masked copy (reason kept).\n" +
			"As the NATS user streams (its seed: --nkey, else <run dir>/nats/users/streams.nk). Running it again\n" +
			"finds nothing to do.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if natsURL == "" {
				natsURL = g.settings().get(envNATS).value
			}
			nc, js, err := g.natsConnect(natsURL, natsauth.Streams)
			if err != nil {
				return err
			}
			defer nc.Close()
			// The wait for the consumers comes on top of --timeout.
			ctx, cancel := context.WithTimeout(cmd.Context(), g.timeout+wait)
			defer cancel()
			r, err := natsjs.ScrubContacts(ctx, js, natsjs.ScrubOptions{Subjects: scrubSubjects, Mask: redact.EnvelopeBytes,
				Wait: wait, DryRun: dryRun})
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "GRID: %d messages on %v, %d with a clear contact (the last at sequence %d), %d purged\n",
				r.GridScanned, scrubSubjects, r.GridClear, r.GridLastClear, r.GridPurged)
			fmt.Fprintf(out, "GRID_DLQ: %d dead letters, %d with a clear contact, %d replaced by masked copies\n",
				r.DLQScanned, r.DLQClear, r.DLQReplaced)
			if err != nil {
				return err
			}
			if dryRun {
				fmt.Fprintln(out, "dry run: nothing changed")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&natsURL, "nats", "", "NATS URL (default: $GRIDFLOW_NATS_URL, the context file, else nats://127.0.0.1:14222)")
	f.DurationVar(&wait, "wait", 2*time.Minute, "how long to wait for the durable consumers to catch up before purging")
	f.BoolVar(&dryRun, "dry-run", false, "count what holds a clear contact; change nothing")
	return cmd
}
