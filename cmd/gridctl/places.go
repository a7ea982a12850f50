package main

// Issue 20, places (以房管人): gridctl place import|finding|show|list over
// classify's PlaceService.

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gridflow/gridflow/pkg/redact"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
)

// placeColumns are the import's CSV columns (README, "The place registry"):
// address and kind are required, the others may be left out of the header.
var placeColumns = []string{"address", "name", "kind", "status", "inspection_every_months", "grid_code", "retired"}

// placeBatch is how many rows one ImportPlaces call carries (its maximum).
const placeBatch = 500

func newPlaceCmd(g *globals) *cobra.Command {
	d := &dispatchFlags{}
	cmd := &cobra.Command{Use: "place", Short: "The place registry (以房管人): import a street's register, record findings, read a place's history"}
	d.register(cmd)
	withPlaces := func(cmd *cobra.Command, fn func(c classifyv1.PlaceServiceClient, x cmdCtx) error) error {
		conn, err := d.conn(g, svcClassify)
		if err != nil {
			return err
		}
		defer conn.Close()
		ctx, cancel := g.ctx(cmd.Context())
		defer cancel()
		if err := fn(classifyv1.NewPlaceServiceClient(conn), cmdCtx{ctx, cmd.OutOrStdout()}); err != nil {
			return explain(err)
		}
		return nil
	}

	importCmd := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Import a street's register of places (CSV with a header: " + strings.Join(placeColumns, ",") + ")",
		Long: "Import a street's register of places from CSV (UTF-8, a header row naming the columns:\n" +
			"  address (required), name, kind (required), status, inspection_every_months, grid_code, retired.\n" +
			"Rows go in batches of 500; a row equal to the place as registered changes nothing, so importing\n" +
			"a file again is a no-op. Each refused row is printed with its line and field. '-' reads stdin.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readArg(args[0], cmd.InOrStdin())
			if err != nil {
				return err
			}
			rows, err := parsePlaceCSV(data)
			if err != nil {
				return err
			}
			// One request id per run and batch: importing the file again is
			// a new request, answered with what it changed (nothing).
			id := newRequestID()
			var total classifyv1.ImportPlacesResponse
			for i := 0; i < len(rows); i += placeBatch {
				batch := rows[i:min(i+placeBatch, len(rows))]
				err := withPlaces(cmd, func(c classifyv1.PlaceServiceClient, x cmdCtx) error {
					resp, err := c.ImportPlaces(x.context, &classifyv1.ImportPlacesRequest{
						RequestId: fmt.Sprintf("%s-%d", id, i/placeBatch), Rows: batch})
					if err != nil {
						return err
					}
					total.Created += resp.GetCreated()
					total.Updated += resp.GetUpdated()
					total.Unchanged += resp.GetUnchanged()
					total.Refused += resp.GetRefused()
					total.Refusals = append(total.Refusals, resp.GetRefusals()...)
					return nil
				})
				if err != nil {
					return err
				}
				if len(rows) > placeBatch {
					fmt.Fprintf(cmd.ErrOrStderr(), "imported %d/%d rows\n", min(i+placeBatch, len(rows)), len(rows))
				}
			}
			if g.asJSON {
				return printProto(cmd.OutOrStdout(), &total)
			}
			w := cmd.OutOrStdout()
			for _, r := range total.GetRefusals() {
				fmt.Fprintf(w, "line %d: %s: %s\n", r.GetRow(), r.GetField(), r.GetReason())
			}
			fmt.Fprintf(w, "created=%d updated=%d unchanged=%d refused=%d\n", total.GetCreated(), total.GetUpdated(),
				total.GetUnchanged(), total.GetRefused())
			return nil
		},
	}

	var status, kind, name, note, reqID string
	finding := &cobra.Command{
		Use:   "finding ADDRESS|KEY [--status S] [--kind K] [--name N] --note TEXT",
		Short: "Record a patrol finding at a registered place (a new version); --as patrol:<worker> for a grid worker",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &classifyv1.RecordPlaceFindingRequest{RequestId: orNewID(reqID), Status: status, Kind: kind, Name: name, Note: note}
			req.PlaceKey, req.Address = placeArg(args[0])
			return withPlaces(cmd, func(c classifyv1.PlaceServiceClient, x cmdCtx) error {
				resp, err := c.RecordPlaceFinding(x.context, req)
				if err != nil {
					return err
				}
				if g.asJSON {
					return printProto(x.w, resp)
				}
				p := resp.GetPlace()
				fmt.Fprintf(x.w, "%s  v%d  %s  %s  %s (changed %v)\n", p.GetPlaceKey(), p.GetVersion(), p.GetKind(), p.GetStatus(),
					p.GetName(), resp.GetChanged())
				return nil
			})
		},
	}
	finding.Flags().StringVar(&status, "status", "", "the place's status now: active, for_rent, vacant, closed, under_renovation, demolished")
	finding.Flags().StringVar(&kind, "kind", "", "its kind (业态) now: building, residential, shop, restaurant, bar, enterprise, market, school, site, office, other")
	finding.Flags().StringVar(&name, "name", "", "its name now")
	finding.Flags().StringVar(&note, "note", "", "what was seen")
	finding.Flags().StringVar(&reqID, "request-id", "", "client request id (default: a new one)")

	var lane bool
	var from, to string
	var limit int
	show := &cobra.Command{
		Use:   "show ADDRESS|KEY [--lane] [--from YYYY-MM-DD] [--to YYYY-MM-DD]",
		Short: "A place and its history: every case, incident, source place and change at the address (its shops too), the shop, or with --lane the lane",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &classifyv1.GetPlaceHistoryRequest{Lane: lane, PageSize: 100}
			req.PlaceKey, req.Address = placeArg(args[0])
			var err error
			if req.From, err = dayFlag("from", from); err != nil {
				return err
			}
			if req.To, err = dayFlag("to", to); err != nil {
				return err
			}
			if req.To != nil {
				req.To = timestamppb.New(req.To.AsTime().Add(24 * time.Hour)) // --to names the last day
			}
			return withPlaces(cmd, func(c classifyv1.PlaceServiceClient, x cmdCtx) error {
				var all *classifyv1.GetPlaceHistoryResponse
				for {
					resp, err := c.GetPlaceHistory(x.context, req)
					if err != nil {
						return err
					}
					if all == nil {
						all = resp
					} else {
						all.Cases = append(all.Cases, resp.GetCases()...)
					}
					if resp.GetNextPageToken() == "" || (limit > 0 && len(all.Cases) >= limit) {
						all.NextPageToken = resp.GetNextPageToken()
						break
					}
					req.PageToken = resp.GetNextPageToken()
				}
				if g.asJSON {
					return printProto(x.w, all)
				}
				printHistory(x.w, all)
				return nil
			})
		},
	}
	show.Flags().BoolVar(&lane, "lane", false, "every place of the address's lane (for an address without a lane: its building)")
	show.Flags().StringVar(&from, "from", "", "cases received on or after this day (YYYY-MM-DD, Asia/Shanghai)")
	show.Flags().StringVar(&to, "to", "", "cases received on or before this day (YYYY-MM-DD, Asia/Shanghai)")
	show.Flags().IntVar(&limit, "limit", 1000, "stop after this many cases (0: all)")

	var lKind, lStatus, lStreet, lCommunity, lGrid string
	list := &cobra.Command{
		Use:   "list [--kind K] [--status S] [--street CODE] [--community CODE] [--grid CODE]",
		Short: "Registered places within reach",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &classifyv1.ListPlacesRequest{Kind: lKind, Status: lStatus, StreetCode: lStreet, CommunityCode: lCommunity,
				GridCode: lGrid, PageSize: 500}
			return withPlaces(cmd, func(c classifyv1.PlaceServiceClient, x cmdCtx) error {
				var ps []*classifyv1.Place
				for {
					resp, err := c.ListPlaces(x.context, req)
					if err != nil {
						return err
					}
					ps = append(ps, resp.GetPlaces()...)
					if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
						break
					}
				}
				if g.asJSON {
					return printProto(x.w, &classifyv1.ListPlacesResponse{Places: ps})
				}
				tw := tabwriter.NewWriter(x.w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "KEY\tNAME\tKIND\tSTATUS\tGRID\tINSPECT\tVERSION")
				for _, p := range ps {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", p.GetPlaceKey(), p.GetName(), p.GetKind(), p.GetStatus(),
						p.GetGridCode(), months(p.GetInspectionEveryMonths()), p.GetVersion())
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&lKind, "kind", "", "only this kind")
	list.Flags().StringVar(&lStatus, "status", "", "only this status")
	list.Flags().StringVar(&lStreet, "street", "", "only this street")
	list.Flags().StringVar(&lCommunity, "community", "", "only this community")
	list.Flags().StringVar(&lGrid, "grid", "", "only this grid")

	cmd.AddCommand(importCmd, finding, show, list)
	return cmd
}

// placeArg reads a place as typed: a key has its four '|', anything else is
// an address.
func placeArg(s string) (key, addr string) {
	if strings.Count(s, "|") == 4 {
		return s, ""
	}
	return "", s
}

func months(n uint32) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%dmo", n)
}

func dayFlag(name, s string) (*timestamppb.Timestamp, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.ParseInLocation("2006-01-02", s, shanghai)
	if err != nil {
		return nil, fmt.Errorf("--%s %q: want a date YYYY-MM-DD", name, s)
	}
	return timestamppb.New(t), nil
}

func readArg(path string, stdin io.Reader) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(path)
}

// parsePlaceCSV reads the register: a header naming columns of
// placeColumns (address and kind required), then one place a line. Each
// row carries its line number, which refusals name.
func parsePlaceCSV(data []byte) ([]*classifyv1.PlaceRow, error) {
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(data), "\ufeff")))
	r.FieldsPerRecord = -1
	r.Comment = '#'
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("the CSV has no header row: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(h))
		known := false
		for _, c := range placeColumns {
			known = known || c == h
		}
		if !known {
			return nil, fmt.Errorf("header column %d %q: want one of %s", i+1, h, strings.Join(placeColumns, ", "))
		}
		col[h] = i
	}
	for _, req := range []string{"address", "kind"} {
		if _, ok := col[req]; !ok {
			return nil, fmt.Errorf("the header has no %s column", req)
		}
	}
	var rows []*classifyv1.PlaceRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := r.FieldPos(0)
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		row := &classifyv1.PlaceRow{Row: uint32(line), Address: get("address"), Name: get("name"), Kind: get("kind"),
			Status: get("status"), GridCode: get("grid_code")}
		if s := get("inspection_every_months"); s != "" {
			n, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("line %d: inspection_every_months %q: want a number of months", line, s)
			}
			v := uint32(n)
			row.InspectionEveryMonths = &v
		}
		switch s := strings.ToLower(get("retired")); s {
		case "", "false", "no", "0":
		case "true", "yes", "1":
			row.Retired = true
		default:
			return nil, fmt.Errorf("line %d: retired %q: want true or false", line, s)
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, errors.New("the CSV has no rows after its header")
	}
	return rows, nil
}

func printHistory(w io.Writer, h *classifyv1.GetPlaceHistoryResponse) {
	level := "address"
	if h.GetLane() {
		level = "lane"
	}
	fmt.Fprintf(w, "%s %s\n", level, h.GetKey())
	if p := h.GetPlace(); p != nil {
		fmt.Fprintf(w, "place    %s  %s  %s  v%d  grid %s  inspect %s\n", p.GetName(), p.GetKind(), p.GetStatus(), p.GetVersion(),
			p.GetGridCode(), months(p.GetInspectionEveryMonths()))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RECEIVED\tCASE\tSOURCE\tITEM\tINCIDENT\tPLACE\tTITLE")
	for _, c := range h.GetCases() {
		where := c.GetPlaceKey()
		if c.GetPrivateLocation() {
			where += " (private: lane only)"
		}
		item := c.GetItemCode() + " " + c.GetItemName()
		if c.GetInReview() {
			item = "(in review)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.GetReceivedAt().AsTime().In(shanghai).Format("2006-01-02 15:04"),
			c.GetCaseNumber(), c.GetSource(), item, c.GetIncidentId(), where, oneLine(redact.Text(c.GetTitle()), 30))
	}
	_ = tw.Flush()
	for _, i := range h.GetIncidents() {
		fmt.Fprintf(w, "incident %s  %s  %d reports  source place %s\n", i.GetIncidentId(), i.GetItemCode(), i.GetReports(), i.GetSourcePlaceId())
	}
	for _, s := range h.GetSourcePlaces() {
		fmt.Fprintf(w, "source   %s  items %s\n", s.GetSourcePlaceId(), strings.Join(s.GetItemCodes(), ","))
	}
	for _, c := range h.GetChanges() {
		fmt.Fprintf(w, "change   %s  %s v%d %s by %s: %s %s %s  %s\n", c.GetAt().AsTime().In(shanghai).Format("2006-01-02 15:04"),
			c.GetPlaceKey(), c.GetVersion(), c.GetOrigin(), c.GetActor(), c.GetKind(), c.GetStatus(), c.GetName(), c.GetNote())
	}
	if h.GetNextPageToken() != "" {
		fmt.Fprintln(w, "(more: raise --limit)")
	}
}
