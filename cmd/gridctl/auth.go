package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/spf13/cobra"
)

func newAuthCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "auth", Short: "Development keys and tokens"}
	keygen := &cobra.Command{
		Use:   "keygen",
		Short: "Create the development Ed25519 key pair in --key-dir unless it exists",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			created, err := auth.EnsureKeyPair(g.keys())
			if err != nil {
				return err
			}
			state := "kept existing"
			if created {
				state = "created"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s key pair in %s (%s, %s)\n", state, g.keys(), auth.PrivateKeyFile, auth.PublicKeyFile)
			return nil
		},
	}
	var role, subject, keyFile string
	var ttl time.Duration
	issue := &cobra.Command{
		Use:   "issue --role ROLE [--subject S]",
		Short: "Print a signed token (on the last line) for a principal",
		Long: "Roles: hotline, patrol (subject: worker id), secretary (community code), dispatcher (street code),\n" +
			"district (district code), department (department code), admin. Signed with the development key by default.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := auth.Principal{Role: auth.Role(role), Subject: subject}
			if err := p.Validate(); err != nil {
				return fmt.Errorf("--role %s --subject %q: %w", role, subject, err)
			}
			if keyFile == "" {
				keyFile = filepath.Join(g.keys(), auth.PrivateKeyFile)
			}
			key, err := auth.LoadPrivateKey(keyFile)
			if err != nil {
				return fmt.Errorf("signing key: %w (run `gridctl auth keygen` first)", err)
			}
			tok, err := auth.NewSigner(key).Issue(p, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "token for %s, valid %s\n", p, ttl)
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	issue.Flags().StringVar(&role, "role", "", "principal role (required)")
	issue.Flags().StringVar(&subject, "subject", "", "principal subject (worker, community, street, district or department code)")
	issue.Flags().StringVar(&keyFile, "key", "", "private key file (default <key-dir>/"+auth.PrivateKeyFile+")")
	issue.Flags().DurationVar(&ttl, "ttl", 24*time.Hour, "validity")
	_ = issue.MarkFlagRequired("role")
	cmd.AddCommand(keygen, issue)
	return cmd
}
