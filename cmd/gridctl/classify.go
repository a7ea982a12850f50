package main

import (
	"cmp"

	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/gridflow/gridflow/pkg/redact"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// classifyCommands are the commands over the classify service: the
// catalogue, the review queue, classifications, incidents, and the export of
// dispatchers' corrections as training data.
func classifyCommands(g *globals) []*cobra.Command {
	return []*cobra.Command{newCatalogueCmd(g), newReviewCmd(g), newClassifyCmd(g), newIncidentCmd(g), newExportCmd(g)}
}

// withClassify dials classify and runs fn with a client and a deadline.
func withClassify(g *globals, cmd *cobra.Command, fn func(c classifyv1.ClassifyServiceClient, ctx cmdCtx) error) error {
	conn, err := g.dial(svcClassify)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := g.ctx(cmd.Context())
	defer cancel()
	if err := fn(classifyv1.NewClassifyServiceClient(conn), cmdCtx{ctx, cmd.OutOrStdout()}); err != nil {
		return explain(err)
	}
	return nil
}

// cmdCtx is a call's deadline and where its output goes.
type cmdCtx struct {
	context context.Context
	w       io.Writer
}

// classificationRequest names the case a person typed.
func classificationRequest(arg string) (*classifyv1.GetClassificationRequest, error) {
	ref, err := caseref.Parse(arg)
	if err != nil {
		return nil, err
	}
	id, number, orderNo := ref.Fields()
	return &classifyv1.GetClassificationRequest{CaseId: id, CaseNumber: number, HotlineOrderNo: orderNo}, nil
}

// urgencyFlag reads --urgency: a name of pkg/reference's vocabulary, or ""
// for unspecified.
func urgencyFlag(s string) (typesv1.Urgency, error) {
	u := reference.Urgency(strings.ToLower(s))
	if !u.Valid() {
		return 0, fmt.Errorf("--urgency %q: want normal, urgent or emergency", s)
	}
	return wire.UrgencyOut(u), nil
}

// appealTypeFlag reads --appeal-type the same way.
func appealTypeFlag(s string) (typesv1.AppealType, error) {
	a := reference.AppealType(strings.ToLower(s))
	if a != "" && !a.Valid() {
		return 0, fmt.Errorf("--appeal-type %q: want consultation, help, complaint, report, suggestion or praise", s)
	}
	return wire.AppealTypeOut(a), nil
}

// sourceFlag reads --source the same way.
func sourceFlag(s string) (typesv1.Source, error) {
	src := reference.Source(strings.ToLower(s))
	if src != "" && !src.Valid() {
		return 0, fmt.Errorf("--source %q: want hotline, patrol or secretary", s)
	}
	return wire.SourceOut(src), nil
}

func urgencyName(u typesv1.Urgency) string {
	return strings.ToLower(strings.TrimPrefix(u.String(), "URGENCY_"))
}

func classifyRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "gridctl-" + hex.EncodeToString(b[:])
}

func newCatalogueCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "catalogue", Short: "The catalogue (both trees) as classify serves it"}
	var tree, class string
	list := &cobra.Command{
		Use:   "list [--tree urban|hotline] [--class CODE]",
		Short: "List classes and items",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &classifyv1.ListCatalogueRequest{ClassCode: class, PageSize: 500}
			switch tree {
			case "":
			case "urban":
				req.Tree = classifyv1.CatalogueTree_CATALOGUE_TREE_URBAN
			case "hotline":
				req.Tree = classifyv1.CatalogueTree_CATALOGUE_TREE_HOTLINE
			default:
				return fmt.Errorf("--tree %q: want urban or hotline", tree)
			}
			return withClassify(g, cmd, func(c classifyv1.ClassifyServiceClient, x cmdCtx) error {
				tw := tabwriter.NewWriter(x.w, 0, 4, 2, ' ', 0)
				if !g.asJSON {
					fmt.Fprintln(tw, "CODE\tNAME\tURGENCY\tWINDOW\tPOWER\tSYNONYMS")
				}
				for {
					resp, err := c.ListCatalogue(x.context, req)
					if err != nil {
						return err
					}
					for _, it := range resp.GetItems() {
						if g.asJSON {
							if err := printProto(x.w, it); err != nil {
								return err
							}
							continue
						}
						name := it.GetName()
						if !it.GetIsClass() {
							name = "  " + name
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", it.GetCode(), name, urgencyName(it.GetDefaultUrgency()),
							it.GetDuplicateWindow().AsDuration(), it.GetPower(), strings.Join(it.GetSynonyms(), "、"))
					}
					if resp.GetNextPageToken() == "" {
						return tw.Flush()
					}
					req.PageToken = resp.GetNextPageToken()
				}
			})
		},
	}
	list.Flags().StringVar(&tree, "tree", "", "only this tree: urban or hotline")
	list.Flags().StringVar(&class, "class", "", "only the items of this class code")
	show := &cobra.Command{
		Use:   "show CODE|NAME",
		Short: "Show one class or item, by code or by name or synonym",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &classifyv1.GetCatalogueItemRequest{Key: &classifyv1.GetCatalogueItemRequest_Name{Name: args[0]}}
			if strings.IndexFunc(args[0], func(r rune) bool { return r > 127 }) < 0 {
				req.Key = &classifyv1.GetCatalogueItemRequest_Code{Code: args[0]}
			}
			return withClassify(g, cmd, func(c classifyv1.ClassifyServiceClient, x cmdCtx) error {
				resp, err := c.GetCatalogueItem(x.context, req)
				if err != nil {
					return err
				}
				return printProto(x.w, resp.GetItem())
			})
		},
	}
	cmd.AddCommand(list, show)
	return cmd
}

func newReviewCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "review", Short: "The review queue: cases the model was not sure about"}
	var district, street string
	var all bool
	list := &cobra.Command{
		Use:   "list [--street CODE] [--district CODE] [--all]",
		Short: "List the review queue, oldest first (with --all, resolved reviews too)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &classifyv1.ListReviewQueueRequest{DistrictCode: district, StreetCode: street, IncludeResolved: all, PageSize: 200}
			return withClassify(g, cmd, func(c classifyv1.ClassifyServiceClient, x cmdCtx) error {
				for {
					resp, err := c.ListReviewQueue(x.context, req)
					if err != nil {
						return err
					}
					for _, r := range resp.GetReviews() {
						if g.asJSON {
							if err := printProto(x.w, r); err != nil {
								return err
							}
							continue
						}
						printReview(x.w, r)
					}
					if resp.GetNextPageToken() == "" {
						return nil
					}
					req.PageToken = resp.GetNextPageToken()
				}
			})
		},
	}
	list.Flags().StringVar(&district, "district", "", "only this district")
	list.Flags().StringVar(&street, "street", "", "only this street")
	list.Flags().BoolVar(&all, "all", false, "include resolved reviews")
	cmd.AddCommand(list, decisionCmd(g, "resolve", "File a case in the review queue under an item"))
	return cmd
}

// printReview is one entry of review list: the case, its state (and the
// item it was filed under), the text on one line, the model's choices.
func printReview(w io.Writer, r *classifyv1.Review) {
	var choices []string
	for _, ch := range r.GetChoices() {
		choices = append(choices, fmt.Sprintf("%s %s %.2f", ch.GetItemCode(), ch.GetItemName(), ch.GetConfidence()))
	}
	state := strings.ToLower(strings.TrimPrefix(r.GetState().String(), "REVIEW_STATE_"))
	if cl := r.GetClassification(); cl != nil {
		state += " → " + cl.GetItemCode() + " " + cl.GetItemName()
	}
	fmt.Fprintf(w, "%s  %s  queued %s  fallback %s  [%s]\n    %s\n    choices: %s\n", r.GetCaseId(), r.GetCaseNumber(),
		localTime(r.GetQueuedAt().AsTime()), localTime(r.GetFallbackAt().AsTime()), state,
		oneLine(r.GetTitle()+" "+r.GetContent(), 80), strings.Join(choices, "; "))
}

// decisionCmd is review resolve and classify reclassify.
func decisionCmd(g *globals, use, short string) *cobra.Command {
	var urgency, note, requestID string
	c := &cobra.Command{
		Use:   use + " CASE ITEM_CODE [--urgency U] [--note TEXT] [--request-id ID]",
		Short: short + " (CASE: case id, case number or hotline order number)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := urgencyFlag(urgency)
			if err != nil {
				return err
			}
			if requestID == "" {
				requestID = classifyRequestID()
			}
			req, err := classificationRequest(args[0])
			if err != nil {
				return err
			}
			return withClassify(g, cmd, func(c classifyv1.ClassifyServiceClient, x cmdCtx) error {
				caseID := req.GetCaseId()
				if caseID == "" { // a case number or order number: classify knows the id
					got, err := c.GetClassification(x.context, req)
					if err != nil {
						return err
					}
					if caseID = got.GetReview().GetCaseId(); caseID == "" && len(got.GetVersions()) > 0 {
						caseID = got.GetVersions()[0].GetCaseId()
					}
				}
				var cl *classifyv1.Classification
				if use == "resolve" {
					resp, err := c.ResolveReview(x.context, &classifyv1.ResolveReviewRequest{RequestId: requestID, CaseId: caseID,
						ItemCode: args[1], Urgency: u, Note: note})
					if err != nil {
						return err
					}
					cl = resp.GetClassification()
				} else {
					resp, err := c.Reclassify(x.context, &classifyv1.ReclassifyRequest{RequestId: requestID, CaseId: caseID,
						ItemCode: args[1], Urgency: u, Note: note})
					if err != nil {
						return err
					}
					cl = resp.GetClassification()
				}
				return printClassification(x.w, cl, g.asJSON)
			})
		},
	}
	c.Flags().StringVar(&urgency, "urgency", "", "override the urgency: normal, urgent or emergency")
	c.Flags().StringVar(&note, "note", "", "why (kept with the correction)")
	c.Flags().StringVar(&requestID, "request-id", "", "idempotency key (default: a fresh one)")
	return c
}

func printClassification(w io.Writer, c *classifyv1.Classification, asJSON bool) error {
	if asJSON {
		return printProto(w, c)
	}
	inc := ""
	if c.GetIncidentId() != "" {
		inc = fmt.Sprintf("  incident %s (%d reports, primary %s)", c.GetIncidentId(), c.GetIncidentReports(), c.GetPrimaryCaseId())
	}
	flags := []string{}
	if !c.GetDispatchable() {
		flags = append(flags, "not dispatchable")
	}
	if c.GetUnreviewed() {
		flags = append(flags, "unreviewed")
	}
	fmt.Fprintf(w, "v%d  %s %s  %s  %s  conf %.2f  model %s%s  %s\n    %s\n", c.GetVersion(), c.GetItemCode(), c.GetItemName(),
		urgencyName(c.GetUrgency()), strings.ToLower(strings.TrimPrefix(c.GetMethod().String(), "CLASSIFICATION_METHOD_")),
		c.GetConfidence(), c.GetModelVersion(), inc, strings.Join(append(flags, c.GetLabels()...), ", "), c.GetReason())
	return nil
}

func newClassifyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "classify", Short: "Classifications: show, reclassify; reload the model"}
	show := &cobra.Command{
		Use:   "show CASE",
		Short: "A case's classification history, newest first (CASE: case id, case number or hotline order number)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := classificationRequest(args[0])
			if err != nil {
				return err
			}
			return withClassify(g, cmd, func(c classifyv1.ClassifyServiceClient, x cmdCtx) error {
				resp, err := c.GetClassification(x.context, req)
				if err != nil {
					return err
				}
				if g.asJSON {
					return printProto(x.w, resp)
				}
				if r := resp.GetReview(); r != nil {
					fmt.Fprintf(x.w, "review: %s since %s\n", strings.ToLower(strings.TrimPrefix(r.GetState().String(), "REVIEW_STATE_")),
						localTime(r.GetQueuedAt().AsTime()))
				}
				for _, v := range resp.GetVersions() {
					if err := printClassification(x.w, v, false); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	reload := &cobra.Command{
		Use:   "reload",
		Short: "Reload the model, keyword rules and reference data without a restart (admin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClassify(g, cmd, func(c classifyv1.ClassifyServiceClient, x cmdCtx) error {
				resp, err := c.ReloadModel(x.context, &classifyv1.ReloadModelRequest{})
				if err != nil {
					return err
				}
				if g.asJSON {
					return printProto(x.w, resp)
				}
				fmt.Fprintf(x.w, "model %s (was %s) from %s, %d labels; %d keyword rules; reference %s\n", resp.GetModelVersion(),
					resp.GetPreviousModelVersion(), resp.GetSource(), resp.GetLabels(), resp.GetKeywordRules(), resp.GetReferenceDigest())
				if f := resp.GetFigures(); f != nil && resp.GetModelVersion() != resp.GetPreviousModelVersion() {
					fmt.Fprintf(x.w, "held-out: %s; the previous live model: %s\n", figures(f), figures(resp.GetPreviousFigures()))
				} else if f != nil {
					fmt.Fprintf(x.w, "held-out: %s\n", figures(f))
				}
				// issue 15, the item model
				printItemModel(x.w, resp.GetItemModelVersion(), resp.GetPreviousItemModelVersion(), resp.GetItemFigures(), resp.GetPreviousItemFigures())
				return nil
			})
		},
	}
	models := &cobra.Command{
		Use:   "models",
		Short: "The model registry: every model asked to go live, its sources, figures and the gate's decision, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClassify(g, cmd, func(c classifyv1.ClassifyServiceClient, x cmdCtx) error {
				req := &classifyv1.ListModelsRequest{PageSize: 100}
				var all []*classifyv1.Model
				for {
					resp, err := c.ListModels(x.context, req)
					if err != nil {
						return err
					}
					all = append(all, resp.GetModels()...)
					if resp.GetNextPageToken() == "" {
						break
					}
					req.PageToken = resp.GetNextPageToken()
				}
				if g.asJSON {
					for _, m := range all {
						if err := printProto(x.w, m); err != nil {
							return err
						}
					}
					return nil
				}
				printModels(x.w, all)
				return nil
			})
		},
	}
	retrain := &cobra.Command{
		Use:   "retrain",
		Short: "Train a model now from the city's history and the dispatchers' corrections; it goes live only through the gate (admin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClassify(g, cmd, func(c classifyv1.ClassifyServiceClient, x cmdCtx) error {
				resp, err := c.RetrainModel(x.context, &classifyv1.RetrainModelRequest{})
				if err != nil {
					return err
				}
				if g.asJSON {
					return printProto(x.w, resp)
				}
				fmt.Fprintf(x.w, "model %s is live (was %s); held-out: %s; the previous live model: %s\n", resp.GetModelVersion(),
					resp.GetPreviousModelVersion(), figures(resp.GetFigures()), figures(resp.GetPreviousFigures()))
				// issue 15, the item model
				printItemModel(x.w, resp.GetItemModelVersion(), resp.GetPreviousItemModelVersion(), resp.GetItemFigures(), resp.GetPreviousItemFigures())
				return nil
			})
		},
	}
	cmd.AddCommand(show, decisionCmd(g, "reclassify", "Write a new classification version of a case under another item"), reload, models, retrain)
	return cmd
}

// figures is a model's held-out figures in one phrase.
func figures(f *classifyv1.ModelFigures) string {
	if f == nil {
		return "not measured"
	}
	return fmt.Sprintf("accuracy %.4f macro-F1 %.4f n=%d", f.GetAccuracy(), f.GetMacroF1(), f.GetN())
}

// itemFigures is an item model's held-out figures in one phrase (issue 15):
// the served decision's on the held-out item labels.
func itemFigures(f *classifyv1.ModelFigures) string {
	if f == nil {
		return "not measured"
	}
	return fmt.Sprintf("item_share %.4f item_precision %.4f class accuracy %.4f n=%d", f.GetItemShare(), f.GetItemPrecision(), f.GetAccuracy(), f.GetN())
}

// printItemModel prints what a reload or retraining did to the item model
// (issue 15).
func printItemModel(w io.Writer, version, previous string, f, prev *classifyv1.ModelFigures) {
	switch {
	case version == "" && previous == "":
		return
	case version != previous:
		fmt.Fprintf(w, "item model %s (was %s); held-out items: %s; the previous item model: %s\n", version, cmp.Or(previous, "none"), itemFigures(f), itemFigures(prev))
	default:
		fmt.Fprintf(w, "item model %s; held-out items: %s\n", version, itemFigures(f))
	}
}

// printModels prints the registry, one model per block.
func printModels(w io.Writer, ms []*classifyv1.Model) {
	if len(ms) == 0 {
		fmt.Fprintln(w, "no model recorded yet")
		return
	}
	for _, m := range ms {
		state := strings.ToLower(strings.TrimPrefix(m.GetState().String(), "MODEL_STATE_"))
		if m.GetKind() == "items" { // issue 15, the item model
			fmt.Fprintf(w, "%s  %-7s  items  %s  %d classes, %d examples  decided %s by %s\n", m.GetVersion(), state,
				m.GetOrigin(), m.GetLabels(), m.GetExamples(), localTime(m.GetDecidedAt().AsTime()), m.GetDecidedBy())
		} else {
			fmt.Fprintf(w, "%s  %-7s  %s  %d labels, %d examples, cv macro-F1 %.4f  decided %s by %s\n", m.GetVersion(), state,
				m.GetOrigin(), m.GetLabels(), m.GetExamples(), m.GetCvMacroF1(), localTime(m.GetDecidedAt().AsTime()), m.GetDecidedBy())
		}
		if m.GetLiveAt() != nil {
			fmt.Fprintf(w, "    made live %s by %s\n", localTime(m.GetLiveAt().AsTime()), m.GetLiveBy())
		}
		fig := figures
		if m.GetKind() == "items" {
			fig = itemFigures
		}
		fmt.Fprintf(w, "    held-out: %s", fig(m.GetFigures()))
		if m.GetAgainstVersion() != "" {
			fmt.Fprintf(w, "; live %s then: %s", m.GetAgainstVersion(), fig(m.GetAgainst()))
		}
		fmt.Fprintln(w)
		for _, s := range m.GetSources() {
			fmt.Fprintf(w, "    source %s %s weight %g: %d examples (%d held out)\n", s.GetKind(), s.GetName(), s.GetWeight(), s.GetExamples(), s.GetHeldOut())
		}
		if m.GetReason() != "" {
			fmt.Fprintf(w, "    %s\n", m.GetReason())
		}
	}
}

func newIncidentCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "incident", Short: "Incidents: several reports of one problem"}
	var district, street string
	var minReports uint32
	list := &cobra.Command{
		Use:   "list [--street CODE] [--district CODE] [--min-reports N]",
		Short: "List incidents, most recently reported first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClassify(g, cmd, func(c classifyv1.ClassifyServiceClient, x cmdCtx) error {
				resp, err := c.ListIncidents(x.context, &classifyv1.ListIncidentsRequest{DistrictCode: district, StreetCode: street,
					MinReports: minReports, PageSize: 100})
				if err != nil {
					return err
				}
				for _, inc := range resp.GetIncidents() {
					if err := printIncident(x.w, inc, g.asJSON); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	list.Flags().StringVar(&district, "district", "", "only this district")
	list.Flags().StringVar(&street, "street", "", "only this street")
	list.Flags().Uint32Var(&minReports, "min-reports", 2, "only incidents with at least this many reports")
	show := &cobra.Command{
		Use:   "show INCIDENT_ID",
		Short: "Show an incident, its reports and the incidents linked to its place",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClassify(g, cmd, func(c classifyv1.ClassifyServiceClient, x cmdCtx) error {
				resp, err := c.GetIncident(x.context, &classifyv1.GetIncidentRequest{IncidentId: args[0]})
				if err != nil {
					return err
				}
				return printIncident(x.w, resp.GetIncident(), g.asJSON)
			})
		},
	}
	cmd.AddCommand(list, show)
	return cmd
}

func printIncident(w io.Writer, inc *classifyv1.Incident, asJSON bool) error {
	if asJSON {
		return printProto(w, inc)
	}
	state := "closed"
	if inc.GetOpen() {
		state = "open"
	}
	fmt.Fprintf(w, "%s  %s %s  %d reports  %s%s  %s  at %q  %s … %s\n    cases: %s\n", inc.GetIncidentId(), inc.GetItemCode(),
		inc.GetItemName(), inc.GetReports(), urgencyName(inc.GetUrgency()), map[bool]string{true: " (raised)"}[inc.GetUrgencyRaised()],
		state, inc.GetPlaceKey(), localTime(inc.GetFirstReportedAt().AsTime()), localTime(inc.GetLastReportedAt().AsTime()),
		strings.Join(inc.GetCaseIds(), " "))
	if inc.GetSourcePlaceId() != "" {
		fmt.Fprintf(w, "    source place %s, linked: %s\n", inc.GetSourcePlaceId(), strings.Join(inc.GetLinkedIncidentIds(), " "))
	}
	return nil
}

func newExportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "export", Short: "Export data for offline work"}
	var out, label, after string
	corrections := &cobra.Command{
		Use:   "corrections [--out FILE] [--label item|first-level] [--after RFC3339]",
		Short: "Write dispatchers' corrections as training data (JSONL {\"id\",\"label\",\"text\"}, what `classify train` reads; phone numbers in the text masked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if label != "item" && label != "first-level" {
				return fmt.Errorf("--label %q: want item or first-level", label)
			}
			req := &classifyv1.ListCorrectionsRequest{PageSize: 1000}
			if after != "" {
				t, err := time.Parse(time.RFC3339, after)
				if err != nil {
					return fmt.Errorf("--after: %w", err)
				}
				req.CorrectedAfter = timestamppb.New(t)
			}
			w := cmd.OutOrStdout()
			if out != "" && out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			n := 0
			err := withClassify(g, cmd, func(c classifyv1.ClassifyServiceClient, x cmdCtx) error {
				enc := json.NewEncoder(w)
				enc.SetEscapeHTML(false)
				for {
					resp, err := c.ListCorrections(x.context, req)
					if err != nil {
						return err
					}
					for _, co := range resp.GetCorrections() {
						l := co.GetItemCode()
						if label == "first-level" {
							l = co.GetFirstLevelClass()
						}
						if l == "" || strings.TrimSpace(co.GetText()) == "" {
							continue
						}
						// A citizen's phone number inside the text is
						// personal data: the file leaves the service.
						if err := enc.Encode(map[string]string{"id": co.GetCaseNumber(), "label": l, "text": redact.Phones(co.GetText())}); err != nil {
							return err
						}
						n++
					}
					if resp.GetNextPageToken() == "" {
						return nil
					}
					req.PageToken = resp.GetNextPageToken()
				}
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d corrections written\n", n)
			return nil
		},
	}
	corrections.Flags().StringVar(&out, "out", "", "file to write (default stdout)")
	corrections.Flags().StringVar(&label, "label", "item", "label to write: item (catalogue code) or first-level (hotline class name)")
	corrections.Flags().StringVar(&after, "after", "", "only corrections after this time (RFC3339)")
	cmd.AddCommand(corrections)
	return cmd
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
