package main

import (
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// Open311 (issue 19): the public's api_keys, through the console's admin
// API like the accounts (gridctl user).

type open311Key struct {
	ID        string    `json:"key_id"`
	Name      string    `json:"name"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	Revoked   bool      `json:"revoked"`
}

func newOpen311Cmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "open311", Short: "The public's Open311 door: its api_keys (admin)"}
	keyCmd := &cobra.Command{Use: "key", Short: "Issue, list and revoke Open311 api_keys (each is the principal public:<key id>)"}
	add := &cobra.Command{
		Use:     "add NAME",
		Short:   "Issue an api_key for NAME (an app, a partner); prints the key once, on stdout",
		Example: "  gridctl open311 key add 随申办市民云",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := g.ctx(cmd.Context())
			defer cancel()
			var out struct {
				Key    open311Key `json:"key"`
				APIKey string     `json:"api_key"`
			}
			if err := g.consoleCall(ctx, http.MethodPost, "/api/admin/open311/keys", map[string]string{"name": args[0]}, &out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "key %s (public:%s) for %s; the api_key below is shown this once:\n", out.Key.ID, out.Key.ID, out.Key.Name)
			fmt.Fprintln(cmd.OutOrStdout(), out.APIKey)
			return nil
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the keys (never the keys themselves)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := g.ctx(cmd.Context())
			defer cancel()
			var out struct {
				Keys []open311Key `json:"keys"`
			}
			if err := g.consoleCall(ctx, http.MethodGet, "/api/admin/open311/keys", nil, &out); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY ID\tNAME\tREVOKED\tCREATED\tBY")
			for _, k := range out.Keys {
				fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\n", k.ID, k.Name, k.Revoked, k.CreatedAt.In(shanghai).Format("2006-01-02 15:04"), k.CreatedBy)
			}
			return tw.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke KEY_ID",
		Short: "Revoke a key: the door refuses it at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := g.ctx(cmd.Context())
			defer cancel()
			if err := g.consoleCall(ctx, http.MethodPost, "/api/admin/open311/keys/"+url.PathEscape(args[0])+"/revoke", nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "key %s revoked\n", args[0])
			return nil
		},
	}
	keyCmd.AddCommand(add, list, revoke)
	cmd.AddCommand(keyCmd)
	return cmd
}
