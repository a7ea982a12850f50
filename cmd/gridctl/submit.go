package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
)

func newSubmitCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "submit", Short: "Submit work to intake"}
	var file string
	wo := &cobra.Command{
		Use:   "work-order --file order.json",
		Short: "Submit a hotline work order (protojson of SubmitWorkOrderRequest; - reads stdin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var data []byte
			var err error
			if file == "-" {
				data, err = io.ReadAll(cmd.InOrStdin())
			} else {
				data, err = os.ReadFile(file)
			}
			if err != nil {
				return err
			}
			req := &intakev1.SubmitWorkOrderRequest{}
			if err := protojson.Unmarshal(data, req); err != nil {
				return fmt.Errorf("%s: not a SubmitWorkOrderRequest in protojson: %w", file, err)
			}
			resp, err := callIntake(cmd, g, func(ctx context.Context, c intakev1.IntakeServiceClient) (*intakev1.SubmitWorkOrderResponse, error) {
				return c.SubmitWorkOrder(ctx, req)
			})
			if err != nil {
				return err
			}
			if g.asJSON {
				return printProto(cmd.OutOrStdout(), resp.GetSubmission())
			}
			s := resp.GetSubmission()
			fmt.Fprintf(cmd.OutOrStdout(), "case_id=%s case_number=%s\n", s.GetCaseId(), s.GetCaseNumber())
			return nil
		},
	}
	wo.Flags().StringVar(&file, "file", "", "the request as protojson (required)")
	_ = wo.MarkFlagRequired("file")
	cmd.AddCommand(wo)
	return cmd
}

func newSubmissionCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "submission", Short: "Read submissions"}
	show := &cobra.Command{
		Use:   "show <case-id | case-number | hotline-order-no>",
		Short: "Show one submission",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := caseref.Parse(args[0])
			if err != nil {
				return err
			}
			req := &intakev1.GetSubmissionRequest{}
			switch ref.Kind {
			case caseref.ID:
				req.Key = &intakev1.GetSubmissionRequest_CaseId{CaseId: ref.Value}
			case caseref.Number:
				req.Key = &intakev1.GetSubmissionRequest_CaseNumber{CaseNumber: ref.Value}
			default:
				req.Key = &intakev1.GetSubmissionRequest_HotlineOrderNo{HotlineOrderNo: ref.Value}
			}
			resp, err := callIntake(cmd, g, func(ctx context.Context, c intakev1.IntakeServiceClient) (*intakev1.GetSubmissionResponse, error) {
				return c.GetSubmission(ctx, req)
			})
			if err != nil {
				return err
			}
			s := resp.GetSubmission()
			if g.asJSON {
				return printProto(cmd.OutOrStdout(), s)
			}
			printSubmission(cmd.OutOrStdout(), s)
			return nil
		},
	}
	cmd.AddCommand(show)
	return cmd
}

// printSubmission is submission show's listing, enums by the names gridctl
// takes and prints elsewhere.
func printSubmission(w io.Writer, s *intakev1.Submission) {
	a := s.GetArea()
	fmt.Fprintf(w, "case      %s (%s)\nsource    %s\naccepted  %s\narea      district %s street %s community %s grid %s (%s)\n",
		s.GetCaseNumber(), s.GetCaseId(), enumName(s.GetSource().String(), "SOURCE_"), localTime(s.GetAcceptedAt().AsTime()),
		a.GetDistrictCode(), a.GetStreetCode(), a.GetCommunityCode(), a.GetGridCode(), enumName(a.GetResolution().String(), "AREA_RESOLUTION_"))
	if wo := s.GetWorkOrder(); wo != nil {
		fmt.Fprintf(w, "order     %s (%s, %s)\ntitle     %s\ncontent   %s\n", wo.GetHotlineOrderNo(), enumName(wo.GetAppealType().String(), "APPEAL_TYPE_"),
			enumName(wo.GetUrgency().String(), "URGENCY_"), wo.GetTitle(), wo.GetContent())
		if wo.GetAddress() != "" {
			fmt.Fprintf(w, "address   %s\n", wo.GetAddress())
		}
	}
	for _, n := range s.GetNotes() {
		fmt.Fprintf(w, "note      %s\n", n)
	}
}

// callIntake runs one intake RPC with the global credential and timeout;
// a refusal is explained.
func callIntake[T any](cmd *cobra.Command, g *globals, fn func(context.Context, intakev1.IntakeServiceClient) (T, error)) (T, error) {
	var zero T
	conn, err := g.dial(svcIntake)
	if err != nil {
		return zero, err
	}
	defer conn.Close()
	ctx, cancel := g.ctx(cmd.Context())
	defer cancel()
	out, err := fn(ctx, intakev1.NewIntakeServiceClient(conn))
	if err != nil {
		return zero, explain(err)
	}
	return out, nil
}
