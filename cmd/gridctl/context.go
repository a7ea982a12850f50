package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// newContextCmd shows where gridctl will look for the stack, and why.
func newContextCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "context",
		Short: "Show the addresses and key directory gridctl uses, and where each comes from",
		Long:  settingsHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s := g.settings()
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			run, file := s.runDir, s.file
			if run == "" {
				run = "(none found)"
			}
			if file == "" {
				file = "(none)"
			}
			fmt.Fprintf(w, "run dir\t%s\t\n", run)
			fmt.Fprintf(w, "context file\t%s\t\n", file)
			for _, svc := range services {
				v := s.get(svc.setting)
				if g.addr != "" && svc != svcNATS {
					v = setting{g.addr, "--addr"}
				}
				fmt.Fprintf(w, "%s\t%s\t(%s)\n", svc.name, v.value, v.from)
			}
			k := s.get(envKeyDir)
			if g.keyDir != "" {
				k = setting{g.keyDir, "--key-dir"}
			}
			fmt.Fprintf(w, "keys\t%s\t(%s)\n", k.value, k.from)
			n := s.get(envNKey)
			if g.nkey != "" {
				n = setting{g.nkey, "--nkey"}
			}
			fmt.Fprintf(w, "nats user\t%s\t(%s)\n", n.value, n.from)
			if err := w.Flush(); err != nil {
				return err
			}
			return s.fileErr
		},
	}
}
