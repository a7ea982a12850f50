package main

// Self-disposal (自行处置, issue 20): a grid worker's report settled on the
// spot (gridctl patrol report --settled), the grid leader's list and check
// (gridctl selfdisposal list|check) and 自处率 (gridctl figures
// selfdisposal).

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// addSelfDisposalCommands adds patrol and selfdisposal to root, and
// selfdisposal to its figures command.
func addSelfDisposalCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newPatrolCmd(g), newSelfDisposalCmd(g))
	for _, c := range root.Commands() {
		if c.Name() == "figures" {
			c.AddCommand(newSelfDisposalFiguresCmd(g))
		}
	}
}

func newPatrolCmd(g *globals) *cobra.Command {
	d := &dispatchFlags{}
	cmd := &cobra.Command{Use: "patrol", Short: "A grid worker's patrol reports (--as patrol:<worker>)"}
	d.register(cmd)
	var reqID, grid, item, desc, note, observed string
	var lat, lng float64
	var gcj, settled bool
	var photos []string
	report := &cobra.Command{Use: "report --lat LAT --lng LNG --description TEXT [--item CODE] [--grid CODE] [--photo REF …] [--settled --note TEXT]",
		Short: "Report what was seen on patrol; --settled: settled on the spot (自行处置), with a photo and a note of what was done",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			datum := typesv1.Datum_DATUM_WGS84
			if gcj {
				datum = typesv1.Datum_DATUM_GCJ02
			}
			r := &intakev1.PatrolReport{RequestId: orNewID(reqID), GridCode: grid, CatalogueCode: item, Description: desc,
				Location: &typesv1.LatLng{Lat: lat, Lng: lng, Datum: datum}, SelfDisposed: settled, DisposalNote: note}
			for _, p := range photos {
				r.Photos = append(r.Photos, &typesv1.Attachment{Uri: p, MediaType: "image/jpeg"})
			}
			if observed != "" {
				t, err := time.Parse(time.RFC3339, observed)
				if err != nil {
					return fmt.Errorf("--observed-at %q: want RFC 3339", observed)
				}
				r.ObservedAt = timestamppb.New(t)
			}
			conn, err := d.conn(g, svcIntake)
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx, cancel := g.ctx(cmd.Context())
			defer cancel()
			resp, err := intakev1.NewIntakeServiceClient(conn).SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: r})
			if err != nil {
				return explain(err)
			}
			if g.asJSON {
				return printProto(cmd.OutOrStdout(), resp)
			}
			s := resp.GetSubmission()
			how := "reported"
			if s.GetPatrolReport().GetSelfDisposed() {
				how = "settled on the spot, waiting for the grid leader's check"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s (grid %s): %s\n", s.GetCaseNumber(), s.GetCaseId(), s.GetArea().GetGridCode(), how)
			return nil
		}}
	f := report.Flags()
	f.Float64Var(&lat, "lat", 0, "latitude (required)")
	f.Float64Var(&lng, "lng", 0, "longitude (required)")
	f.BoolVar(&gcj, "gcj02", false, "the coordinates are GCJ-02 (Chinese map apps), not WGS-84")
	f.StringVar(&desc, "description", "", "what was seen (required)")
	f.StringVar(&item, "item", "", "urban-management catalogue code (5 digits)")
	f.StringVar(&grid, "grid", "", "grid code (default: the location's grid)")
	f.StringSliceVar(&photos, "photo", nil, "photo references (gridflow-upload:<key> from the console's upload door, or URLs)")
	f.BoolVar(&settled, "settled", false, "settled on the spot (自行处置): needs --note and at least one --photo")
	f.StringVar(&note, "note", "", "with --settled: what was done on the spot")
	f.StringVar(&observed, "observed-at", "", "when it was seen, RFC 3339 (default: now)")
	f.StringVar(&reqID, "request-id", "", "idempotency key (default: a new one)")
	_ = report.MarkFlagRequired("lat")
	_ = report.MarkFlagRequired("lng")
	_ = report.MarkFlagRequired("description")
	cmd.AddCommand(report)
	return cmd
}

var selfDisposalStatuses = map[string]feedbackv1.SelfDisposalStatus{
	"pending": feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_PENDING, "confirmed": feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_CONFIRMED,
	"sent_back": feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_SENT_BACK,
}

func newSelfDisposalCmd(g *globals) *cobra.Command {
	d := &dispatchFlags{}
	cmd := &cobra.Command{Use: "selfdisposal", Short: "Self-disposals (自行处置): the grid leader's list and check (--as gridleader:<grid>)"}
	d.register(cmd)
	client := func(cmd *cobra.Command, fn func(c feedbackv1.SelfDisposalServiceClient) error) error {
		conn, err := d.conn(g, svcFeedback)
		if err != nil {
			return err
		}
		defer conn.Close()
		return fn(feedbackv1.NewSelfDisposalServiceClient(conn))
	}
	var area, status string
	var size int32
	list := &cobra.Command{Use: "list [--area CODE] [--status pending|confirmed|sent_back]",
		Short: "Self-disposals within the caller's reach, oldest first (default: those waiting for a check)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, ok := selfDisposalStatuses[status]
			if !ok {
				return fmt.Errorf("--status %q: want pending, confirmed or sent_back", status)
			}
			return client(cmd, func(c feedbackv1.SelfDisposalServiceClient) error {
				ctx, cancel := g.ctx(cmd.Context())
				defer cancel()
				var all []*feedbackv1.SelfDisposal
				req := &feedbackv1.ListSelfDisposalsRequest{AreaCode: area, Status: st, PageSize: size}
				for {
					r, err := c.ListSelfDisposals(ctx, req)
					if err != nil {
						return explain(err)
					}
					all = append(all, r.GetSelfDisposals()...)
					if r.GetNextPageToken() == "" {
						break
					}
					req.PageToken = r.GetNextPageToken()
				}
				if g.asJSON {
					return printProto(cmd.OutOrStdout(), &feedbackv1.ListSelfDisposalsResponse{SelfDisposals: all})
				}
				printSelfDisposals(cmd.OutOrStdout(), all)
				return nil
			})
		}}
	list.Flags().StringVar(&area, "area", "", "a district, street, community or grid code (default: the caller's reach)")
	list.Flags().StringVar(&status, "status", "pending", "pending, confirmed or sent_back")
	list.Flags().Int32Var(&size, "page-size", 100, "rows fetched per call")

	var ref, note, reqID string
	var confirm, sendBack bool
	check := &cobra.Command{Use: "check --case CASE (--confirm | --send-back --note TEXT) [--note TEXT]",
		Short: "Check a self-disposal: confirmed closes the case, sent back has it dispatched", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if confirm == sendBack {
				return fmt.Errorf("give exactly one of --confirm, --send-back")
			}
			if _, err := caseref.Parse(ref); err != nil {
				return fmt.Errorf("--case: %w", err)
			}
			id, err := caseID(cmd, g, d, ref)
			if err != nil {
				return err
			}
			v := feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_CONFIRMED
			if sendBack {
				v = feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_SENT_BACK
			}
			return client(cmd, func(c feedbackv1.SelfDisposalServiceClient) error {
				ctx, cancel := g.ctx(cmd.Context())
				defer cancel()
				r, err := c.CheckSelfDisposal(ctx, &feedbackv1.CheckSelfDisposalRequest{RequestId: orNewID(reqID), CaseId: id, Verdict: v, Note: note})
				if err != nil {
					return explain(err)
				}
				if g.asJSON {
					return printProto(cmd.OutOrStdout(), r)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "self-disposal of case %s %s: case is %s\n", r.GetCase().GetCaseNumber(),
					enumName(r.GetSelfDisposal().GetStatus().String(), "SELF_DISPOSAL_STATUS_"), enumName(r.GetCase().GetState().String(), "CASE_STATE_"))
				return nil
			})
		}}
	cf := check.Flags()
	cf.StringVar(&ref, "case", "", "case id, case number or hotline order number (required)")
	cf.BoolVar(&confirm, "confirm", false, "settled as the worker said: close the case")
	cf.BoolVar(&sendBack, "send-back", false, "not settled: the case is dispatched as any patrol report (needs --note)")
	cf.StringVar(&note, "note", "", "what is still wrong (required with --send-back)")
	cf.StringVar(&reqID, "request-id", "", "idempotency key (default: a new one)")
	_ = check.MarkFlagRequired("case")
	cmd.AddCommand(list, check)
	return cmd
}

// printSelfDisposals writes one line a self-disposal; the worker's note is
// citizen-facing free text, printed on one line.
func printSelfDisposals(w io.Writer, sds []*feedbackv1.SelfDisposal) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tRECEIVED\tGRID\tWORKER\tITEM\tSTATUS\tPHOTOS\tNOTE")
	for _, sd := range sds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", sd.GetCaseNumber(), sd.GetReceivedAt().AsTime().In(shanghai).Format("2006-01-02 15:04"),
			sd.GetArea().GetGridCode(), sd.GetWorkerId(), sd.GetItemCode(), enumName(sd.GetStatus().String(), "SELF_DISPOSAL_STATUS_"),
			len(sd.GetPhotos()), oneLine(sd.GetNote(), 60))
	}
	tw.Flush()
}

// newSelfDisposalFiguresCmd is figures selfdisposal; it calls as the
// figures command's --as.
func newSelfDisposalFiguresCmd(g *globals) *cobra.Command {
	var area, from, to string
	cmd := &cobra.Command{Use: "selfdisposal [--area CODE] [--from YYYY-MM-DD] [--to YYYY-MM-DD]",
		Short: "自处率 per grid and per worker: self-disposed / patrol reports, confirmed, sent back (default: the last 30 days)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := figuresPeriod(from, to, 30)
			if err != nil {
				return err
			}
			as, _ := cmd.Flags().GetString("as")
			conn, err := (&dispatchFlags{as: as}).conn(g, svcFeedback)
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx, cancel := g.ctx(cmd.Context())
			defer cancel()
			r, err := feedbackv1.NewSelfDisposalServiceClient(conn).GetSelfDisposalFigures(ctx, &feedbackv1.GetSelfDisposalFiguresRequest{
				AreaCode: area, Period: p})
			if err != nil {
				return explain(err)
			}
			if g.asJSON {
				return printProto(cmd.OutOrStdout(), r)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "BY\tKEY\tREPORTS\tSELF-DISPOSED\tRATE\tCONFIRMED\tSENT BACK\tPENDING")
			row := func(by string, n *feedbackv1.SelfDisposalCount) {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f%%\t%d\t%d\t%d\n", by, n.GetKey(), n.GetReports(), n.GetSelfDisposed(), 100*n.GetRate(),
					n.GetConfirmed(), n.GetSentBack(), n.GetPending())
			}
			total := r.GetTotal()
			if total.GetKey() == "" {
				total = &feedbackv1.SelfDisposalCount{Key: r.GetAreaCode(), Reports: total.GetReports(), SelfDisposed: total.GetSelfDisposed(),
					Rate: total.GetRate(), Confirmed: total.GetConfirmed(), SentBack: total.GetSentBack(), Pending: total.GetPending()}
			}
			row("total", total)
			for _, n := range r.GetGrids() {
				row("grid", n)
			}
			for _, n := range r.GetWorkers() {
				row("worker", n)
			}
			return tw.Flush()
		}}
	cmd.Flags().StringVar(&area, "area", "", "a district, street, community or grid code (default: the caller's reach)")
	cmd.Flags().StringVar(&from, "from", "", "first day, YYYY-MM-DD in Asia/Shanghai")
	cmd.Flags().StringVar(&to, "to", "", "last day, YYYY-MM-DD in Asia/Shanghai (inclusive)")
	return cmd
}
