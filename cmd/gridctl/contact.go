package main

import (
	"context"
	"fmt"
	"io"

	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/spf13/cobra"

	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
)

// newContactCmd is `gridctl case contact`: the audited read of a caller's
// full contact (IntakeService.ReadContact). Every other read masks it.
func newContactCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "contact NUMBER|ID|ORDER-NO",
		Short: "Read a hotline caller's full contact — audited: the read shows in the case's timeline",
		Long: "Calls intake's ReadContact with --token (default: admin). Allowed to the hotline, the dispatcher of\n" +
			"the case's street, the departments holding an open task on the case, and admin; an anonymous\n" +
			"caller's contact only to the hotline. Every successful read is recorded as case.contact_read, with\n" +
			"the reader and the person on the token, and shown by `gridctl case timeline`.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := caseref.Parse(args[0])
			if err != nil {
				return err
			}
			req := &intakev1.ReadContactRequest{}
			switch ref.Kind {
			case caseref.ID:
				req.Key = &intakev1.ReadContactRequest_CaseId{CaseId: ref.Value}
			case caseref.Number:
				req.Key = &intakev1.ReadContactRequest_CaseNumber{CaseNumber: ref.Value}
			default:
				req.Key = &intakev1.ReadContactRequest_HotlineOrderNo{HotlineOrderNo: ref.Value}
			}
			resp, err := callIntake(cmd, g, func(ctx context.Context, c intakev1.IntakeServiceClient) (*intakev1.ReadContactResponse, error) {
				return c.ReadContact(ctx, req)
			})
			if err != nil {
				return err
			}
			if g.asJSON {
				return printProto(cmd.OutOrStdout(), resp)
			}
			printContact(cmd.OutOrStdout(), resp)
			return nil
		},
	}
}

func printContact(w io.Writer, r *intakev1.ReadContactResponse) {
	c := r.GetContact()
	fmt.Fprintf(w, "case      %s (%s)\nname      %s\nphone     %s\naddress   %s\n", r.GetCaseNumber(), r.GetCaseId(),
		c.GetName(), c.GetPhone(), c.GetAddress())
	if c.GetAnonymous() {
		fmt.Fprintln(w, "anonymous yes: tell no one")
	}
	if c.GetNoCallback() {
		fmt.Fprintln(w, "callback  the caller asked not to be called back")
	}
	fmt.Fprintf(w, "read at   %s (recorded in the case's timeline)\n", localTime(r.GetReadAt().AsTime()))
}
