package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/spf13/cobra"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
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

// newReferenceHistoryCmd lists dispatch's recorded loads of reference data:
// dispatch is where the rules decide, so its record says which 责任清单
// routed a case and who put it in force.
func newReferenceHistoryCmd(g *globals) *cobra.Command {
	d := &dispatchFlags{}
	var limit int
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List dispatch's loads of reference data: at start and on every reload, with who, when, the digest and the outcome",
		Long: "Dispatch records the reference set each of its processes starts with and every reload after it (SIGHUP):\n" +
			"who asked, when, the digest before and after, and the outcome (a failed reload keeps the set in force and\n" +
			"records the loader's problems). Newest first. Admin and dispatchers (--as dispatcher:<street>) may read it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit <= 0 {
				return fmt.Errorf("--limit must be positive")
			}
			var all []*dispatchv1.ReferenceReload
			token := ""
			for len(all) < limit {
				resp, err := call(cmd, g, d, func(ctx context.Context, c dispatchv1.DispatchServiceClient) (*dispatchv1.ListReferenceReloadsResponse, error) {
					return c.ListReferenceReloads(ctx, &dispatchv1.ListReferenceReloadsRequest{PageSize: int32(min(limit-len(all), 200)), PageToken: token})
				})
				if err != nil {
					return err
				}
				all = append(all, resp.GetReloads()...)
				if token = resp.GetNextPageToken(); token == "" {
					break
				}
			}
			if g.asJSON {
				return printProto(cmd.OutOrStdout(), &dispatchv1.ListReferenceReloadsResponse{Reloads: all, NextPageToken: token})
			}
			return printReloads(cmd.OutOrStdout(), all)
		},
	}
	d.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", 50, "list at most this many loads, newest first")
	return cmd
}

// printReloads is reference history's table; digests are cut to 12 hex
// digits (--json has them whole), an error to its first line.
func printReloads(w io.Writer, rs []*dispatchv1.ReferenceReload) error {
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
	fmt.Fprintln(tw, "TIME\tBY\tOUTCOME\tDIGEST\tPREVIOUS\tINSTANCE\tERROR")
	for _, r := range rs {
		errLine, _, _ := strings.Cut(r.GetError(), "\n")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", when(r.GetTime()), r.GetBy(),
			enumName(r.GetOutcome().String(), "REFERENCE_RELOAD_OUTCOME_"), short(r.GetDigest()), short(r.GetPreviousDigest()),
			r.GetInstance(), errLine)
	}
	return tw.Flush()
}
