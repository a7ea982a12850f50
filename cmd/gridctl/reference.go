package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"google.golang.org/grpc"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/spf13/cobra"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

func newReferenceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "reference", Short: "Reference data (areas, catalogue, departments, rules, SLAs, calendar)"}
	check := &cobra.Command{
		Use:   "check DIR",
		Short: "Validate a city's reference data directory offline (its files over the shipped defaults)",
		Long: "Loads DIR's YAML files over the shipped defaults exactly as every service does at start and on SIGHUP,\n" +
			"and lists every problem with its file, line and entry. Exits non-zero when the set is not valid.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			report, err := reference.Check(args[0])
			fmt.Fprint(cmd.OutOrStdout(), report)
			switch {
			case err != nil && report == "":
				return err // not a validation problem: unreadable directory, bad YAML file …
			case err != nil:
				return fmt.Errorf("reference set in %s is not valid", args[0])
			}
			return nil
		},
	}
	cmd.AddCommand(check, newReferenceHistoryCmd(g))
	return cmd
}

// newReferenceHistoryCmd lists the services' recorded loads of reference
// data: every service records the set each of its processes starts with and
// every reload after it, so a city can tell which 责任清单 routed a case and
// who put it in force.
func newReferenceHistoryCmd(g *globals) *cobra.Command {
	d := &dispatchFlags{}
	var limit int
	var only string
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List the services' loads of reference data: at start and on every reload, with who, when, the digest and the outcome",
		Long: "Every service records the reference set each of its processes starts with and every reload after it\n" +
			"(SIGHUP): who asked, when, the digest before and after, and the outcome (a failed reload keeps the set in\n" +
			"force and records the loader's problems). Newest first, all services merged unless --service names one.\n" +
			"Admin, dispatchers and districts (--as dispatcher:<street>) may read it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit <= 0 {
				return fmt.Errorf("--limit must be positive")
			}
			var from []service
			for _, svc := range []service{svcIntake, svcClassify, svcDispatch, svcFeedback} {
				if only == "all" || only == svc.name {
					from = append(from, svc)
				}
			}
			if len(from) == 0 {
				return fmt.Errorf("--service %q: want intake, classify, dispatch, feedback or all", only)
			}
			var all []*typesv1.ReferenceReload
			for _, svc := range from {
				rs, err := reloadsOf(cmd, g, d, svc, limit)
				if err != nil {
					return fmt.Errorf("%s: %w", svc.name, err)
				}
				all = append(all, rs...)
			}
			slices.SortStableFunc(all, func(a, b *typesv1.ReferenceReload) int {
				return b.GetTime().AsTime().Compare(a.GetTime().AsTime())
			})
			all = all[:min(limit, len(all))]
			if g.asJSON {
				for _, r := range all {
					if err := printProto(cmd.OutOrStdout(), r); err != nil {
						return err
					}
				}
				return nil
			}
			return printReloads(cmd.OutOrStdout(), all)
		},
	}
	d.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", 50, "list at most this many loads, newest first")
	cmd.Flags().StringVar(&only, "service", "all", "whose loads: intake, classify, dispatch, feedback or all")
	return cmd
}

// reloadsOf pages through one service's ListReferenceReloads, up to limit
// records.
func reloadsOf(cmd *cobra.Command, g *globals, d *dispatchFlags, svc service, limit int) ([]*typesv1.ReferenceReload, error) {
	conn, err := d.conn(g, svc)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var out []*typesv1.ReferenceReload
	token := ""
	for len(out) < limit {
		ctx, cancel := g.ctx(cmd.Context())
		rs, next, err := reloadPage(ctx, conn, svc, int32(min(limit-len(out), 200)), token)
		cancel()
		if err != nil {
			return nil, explain(err)
		}
		out = append(out, rs...)
		if token = next; token == "" {
			break
		}
	}
	return out, nil
}

// reloadPage is one page of svc's ListReferenceReloads. Dispatch answers
// with its own copy of the record's message, field for field.
func reloadPage(ctx context.Context, conn *grpc.ClientConn, svc service, size int32, token string) ([]*typesv1.ReferenceReload, string, error) {
	switch svc {
	case svcIntake:
		resp, err := intakev1.NewIntakeServiceClient(conn).ListReferenceReloads(ctx, &intakev1.ListReferenceReloadsRequest{PageSize: size, PageToken: token})
		return resp.GetReloads(), resp.GetNextPageToken(), err
	case svcClassify:
		resp, err := classifyv1.NewClassifyServiceClient(conn).ListReferenceReloads(ctx, &classifyv1.ListReferenceReloadsRequest{PageSize: size, PageToken: token})
		return resp.GetReloads(), resp.GetNextPageToken(), err
	case svcFeedback:
		resp, err := feedbackv1.NewFeedbackServiceClient(conn).ListReferenceReloads(ctx, &feedbackv1.ListReferenceReloadsRequest{PageSize: size, PageToken: token})
		return resp.GetReloads(), resp.GetNextPageToken(), err
	}
	resp, err := dispatchv1.NewDispatchServiceClient(conn).ListReferenceReloads(ctx, &dispatchv1.ListReferenceReloadsRequest{PageSize: size, PageToken: token})
	var rs []*typesv1.ReferenceReload
	for _, r := range resp.GetReloads() {
		rs = append(rs, &typesv1.ReferenceReload{Service: r.GetService(), Instance: r.GetInstance(), Time: r.GetTime(),
			By: r.GetBy(), Digest: r.GetDigest(), PreviousDigest: r.GetPreviousDigest(),
			Outcome: typesv1.ReferenceReloadOutcome(r.GetOutcome()), Error: r.GetError()})
	}
	return rs, resp.GetNextPageToken(), err
}

// printReloads is reference history's table; digests are cut to 12 hex
// digits (--json has them whole), an error to its first line.
func printReloads(w io.Writer, rs []*typesv1.ReferenceReload) error {
	short := func(d string) string {
		if d == "" {
			return "-"
		}
		if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
			return d[:i+13]
		}
		return d
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSERVICE\tBY\tOUTCOME\tDIGEST\tPREVIOUS\tINSTANCE\tERROR")
	for _, r := range rs {
		errLine, _, _ := strings.Cut(r.GetError(), "\n")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", when(r.GetTime()), r.GetService(), r.GetBy(),
			enumName(r.GetOutcome().String(), "REFERENCE_RELOAD_OUTCOME_"), short(r.GetDigest()), short(r.GetPreviousDigest()),
			r.GetInstance(), errLine)
	}
	return tw.Flush()
}
