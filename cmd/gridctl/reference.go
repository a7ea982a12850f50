package main

import (
	"fmt"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/spf13/cobra"
)

func newReferenceCmd() *cobra.Command {
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
	cmd.AddCommand(check)
	return cmd
}
