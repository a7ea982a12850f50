package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/spf13/cobra"
)

// denyListName is the deny list's name in the key directory, where gridctl
// appends to it unless --deny-list or $GRIDFLOW_AUTH_DENY_LIST_FILE (the
// services' own setting) says otherwise; make up's services read it there.
const denyListName = "revoked"

func newAuthCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "auth", Short: "Keys, tokens and revocations"}
	var rotate bool
	keygen := &cobra.Command{
		Use:   "keygen [--rotate]",
		Short: "Create the first Ed25519 key pair in --key-dir unless it exists; --rotate adds a new signing key",
		Long: "Without --rotate, creates the first key pair unless the directory has one (make up runs it every time).\n" +
			"--rotate adds a new key pair, which becomes the key gridctl signs with; services that read the\n" +
			"directory (GRIDFLOW_AUTH_KEY_DIR) take it at their next reload (SIGHUP, or within\n" +
			"GRIDFLOW_AUTH_RELOAD_INTERVAL) and accept the previous keys' tokens for GRIDFLOW_AUTH_KEY_OVERLAP more.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := g.keys()
			if rotate {
				if _, err := os.Stat(dir); err != nil {
					return fmt.Errorf("--rotate: %w (run `gridctl auth keygen` first)", err)
				}
				id, err := auth.RotateKey(dir, time.Now())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "rotated: key %s in %s is now the signing key; the previous keys stay valid for the services' GRIDFLOW_AUTH_KEY_OVERLAP\n", id, dir)
				return nil
			}
			created, err := auth.EnsureKeyPair(dir)
			if err != nil {
				return err
			}
			state := "kept existing"
			if created {
				state = "created"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s key pair in %s (%s, %s)\n", state, dir, auth.PrivateKeyFile, auth.PublicKeyFile)
			return nil
		},
	}
	keygen.Flags().BoolVar(&rotate, "rotate", false, "add a new key pair and make it the signing key")

	var role, subject, service, keyFile string
	var person auth.Person
	var ttl time.Duration
	issue := &cobra.Command{
		Use:   "issue --role ROLE [--subject S] [--person-id ID --person-name NAME]",
		Short: "Print a signed token (on the last line) for a principal",
		Long: "Roles: hotline, patrol (subject: worker id), secretary (community code), dispatcher (street code),\n" +
			"district (district code), department (department code), admin; system only with --service, for a\n" +
			"service's calls to another, and never for a person. --person-id and --person-name name the person\n" +
			"the token is for: every event their calls cause records them as its actor. Signed with the newest\n" +
			"key in --key-dir by default. The token's id (for `auth revoke`) is printed on stderr.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := issuedPrincipal(role, subject, service, person)
			if err != nil {
				return err
			}
			var key ed25519.PrivateKey
			if keyFile != "" {
				key, err = auth.LoadPrivateKey(keyFile)
			} else {
				key, err = auth.SigningKey(g.keys())
			}
			if err != nil {
				return fmt.Errorf("signing key: %w (run `gridctl auth keygen` first)", err)
			}
			tok, id, err := auth.NewSigner(key).IssueWithID(p, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "token for %s, valid %s, id %s\n", p.Actor(), ttl, id)
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	issue.Flags().StringVar(&role, "role", "", "principal role (required)")
	issue.Flags().StringVar(&subject, "subject", "", "principal subject (worker, community, street, district or department code)")
	issue.Flags().StringVar(&service, "service", "", "with --role system: the service the token is for (intake, classify, dispatch, feedback, console)")
	issue.Flags().StringVar(&person.ID, "person-id", "", "the person the token is for (staff id; with --person-name)")
	issue.Flags().StringVar(&person.Name, "person-name", "", "the person's name, as the audit trail shows it")
	issue.Flags().StringVar(&keyFile, "key", "", "private key file (default: the newest key in --key-dir)")
	issue.Flags().DurationVar(&ttl, "ttl", 24*time.Hour, "validity")
	_ = issue.MarkFlagRequired("role")

	var tokenID, principal, reason, denyFile string
	var before string
	revoke := &cobra.Command{
		Use:   "revoke (--id JTI | --principal P [--before TIME]) [--reason TEXT]",
		Short: "Revoke a token by its id, or a principal's tokens issued before a time",
		Long: "Appends to the deny list (--deny-list; default $GRIDFLOW_AUTH_DENY_LIST_FILE, else <key-dir>/revoked).\n" +
			"Every service reloads it within GRIDFLOW_AUTH_RELOAD_INTERVAL (or at once on SIGHUP) and then answers\n" +
			"the revoked tokens UNAUTHENTICATED (token revoked).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r := auth.Revocation{Token: tokenID, Reason: reason, At: time.Now().UTC()}
			switch {
			case (tokenID == "") == (principal == ""):
				return errors.New("give exactly one of --id and --principal")
			case tokenID != "" && before != "":
				return errors.New("--before goes with --principal")
			case principal != "":
				p, err := auth.ParsePrincipal(principal)
				if err != nil {
					return fmt.Errorf("--principal: %w", err)
				}
				r.Principal = p.String()
				if before != "" {
					if r.At, err = time.Parse(time.RFC3339, before); err != nil {
						return fmt.Errorf("--before %q: want RFC 3339 (2026-12-03T15:00:00+08:00)", before)
					}
				}
			}
			if denyFile == "" {
				denyFile = os.Getenv("GRIDFLOW_AUTH_DENY_LIST_FILE")
			}
			if denyFile == "" {
				denyFile = filepath.Join(g.keys(), denyListName)
			}
			if err := auth.AppendDenyList(denyFile, r); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked: %s\n(in %s; services refuse it after their next reload: SIGHUP, or within GRIDFLOW_AUTH_RELOAD_INTERVAL)\n", r.Line(), denyFile)
			return nil
		},
	}
	revoke.Flags().StringVar(&tokenID, "id", "", "the token's id (jti), as `auth issue` printed it")
	revoke.Flags().StringVar(&principal, "principal", "", "revoke every token of this principal (role[:subject]) issued before --before")
	revoke.Flags().StringVar(&before, "before", "", "with --principal: the cut-off, RFC 3339 (default now)")
	revoke.Flags().StringVar(&reason, "reason", "", "why, for the record")
	revoke.Flags().StringVar(&denyFile, "deny-list", "", "deny list file (default $GRIDFLOW_AUTH_DENY_LIST_FILE, else <key-dir>/revoked)")
	cmd.AddCommand(keygen, issue, revoke)
	return cmd
}

// issuedPrincipal is the principal `auth issue` mints for. Settled in issue
// 14: system is for service-to-service calls only — a system token names a
// service (--service) and is never issued to a person.
func issuedPrincipal(role, subject, service string, person auth.Person) (auth.Principal, error) {
	p := auth.Principal{Role: auth.Role(role), Subject: subject, Person: person}
	if p.Role == auth.RoleSystem {
		switch {
		case service == "":
			return p, errors.New("--role system is for service-to-service calls: name the service with --service, never a person")
		case subject != "":
			return p, errors.New("--role system takes --service, not --subject")
		case !person.IsZero():
			return p, errors.New("--role system is never issued to a person: drop --person-id and --person-name")
		}
		p.Subject = service
	} else if service != "" {
		return p, fmt.Errorf("--service goes with --role system only")
	}
	if (person.ID == "") != (person.Name == "") {
		return p, errors.New("--person-id and --person-name go together")
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("--role %s --subject %q: %w", role, subject, err)
	}
	return p, nil
}
