package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/spf13/cobra"
)

// The console's people's accounts are managed through the console's admin
// API (HTTP/JSON on CONSOLE_HTTP_ADDR, an admin token), not by writing to
// its schema: the console owns its tables and hashes passwords itself, and
// gridctl needs no database URL, only what every other command needs.

const envConsole = "CONSOLE_HTTP_ADDR"

// consoleAddr is --addr, else $CONSOLE_HTTP_ADDR, else the context file's,
// else the default.
func (g *globals) consoleAddr() (setting, error) {
	if g.addr != "" {
		return setting{g.addr, "--addr"}, nil
	}
	if v := os.Getenv(envConsole); v != "" {
		return setting{v, "$" + envConsole}, nil
	}
	s := g.settings()
	if s.fileErr != nil {
		return setting{}, s.fileErr
	}
	if s.file != "" {
		kv, err := readContext(s.file)
		if err != nil {
			return setting{}, err
		}
		if v := kv[envConsole]; v != "" {
			return setting{v, s.file}, nil
		}
	}
	return setting{"127.0.0.1:7180", "default"}, nil
}

// consoleCall calls the console's admin API as admin and decodes a JSON
// answer into out (nil: none expected).
func (g *globals) consoleCall(ctx context.Context, method, path string, body, out any) error {
	where, err := g.consoleAddr()
	if err != nil {
		return err
	}
	token := g.token
	if token == "" {
		key, err := auth.SigningKey(g.keys())
		if err != nil {
			return fmt.Errorf("no --token and no development key to mint one (%v): run `gridctl auth keygen` or pass --token", err)
		}
		if token, err = auth.NewSigner(key).Issue(auth.Principal{Role: auth.RoleAdmin}, 5*time.Minute); err != nil {
			return err
		}
	}
	tlsCfg, err := g.tlsConfig()
	if err != nil {
		return err
	}
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, scheme+"://"+where.value+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("console at %s (from %s) does not answer: is the stack up (make up)? --addr or %s point gridctl elsewhere: %w",
			where.value, where.from, envConsole, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Code            string `json:"code"`
			Message         string `json:"message"`
			FieldViolations []struct {
				Field       string `json:"field"`
				Description string `json:"description"`
			} `json:"field_violations"`
		}
		if json.Unmarshal(data, &e) != nil || e.Code == "" {
			return fmt.Errorf("console at %s: %s: %s", where.value, resp.Status, strings.TrimSpace(string(data)))
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s: %s", e.Code, e.Message)
		for _, v := range e.FieldViolations {
			fmt.Fprintf(&b, "\n  %s: %s", v.Field, v.Description)
		}
		return errors.New(b.String())
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// userAccount is an account as the console's admin API answers it.
type userAccount struct {
	PersonID  string    `json:"person_id"`
	Name      string    `json:"name"`
	Principal string    `json:"principal"`
	Enabled   bool      `json:"enabled"`
	UpdatedBy string    `json:"updated_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// passwordAlphabet leaves out characters read wrongly aloud or on paper
// (0/O, 1/l/I).
const passwordAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// generatedPasswordLen characters of a 56-letter alphabet: 116 bits.
const generatedPasswordLen = 20

func generatePassword() (string, error) {
	b := make([]byte, generatedPasswordLen)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(passwordAlphabet))))
		if err != nil {
			return "", err
		}
		b[i] = passwordAlphabet[n.Int64()]
	}
	return string(b), nil
}

// readPassword is the first line of stdin with --password-stdin, else a
// generated password (generated reports which). A password is never a
// flag's value: flags end up in shell history and in ps.
func readPassword(cmd *cobra.Command, fromStdin bool) (pw string, generated bool, err error) {
	if !fromStdin {
		pw, err = generatePassword()
		return pw, true, err
	}
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, fmt.Errorf("read the password from stdin: %w", err)
	}
	pw = strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", false, errors.New("--password-stdin: stdin has no password")
	}
	return pw, false, nil
}

func printGenerated(cmd *cobra.Command, id, pw string) {
	fmt.Fprintf(cmd.ErrOrStderr(), "password for %s (shown once; give it to the person, who signs in with %s):\n", id, id)
	fmt.Fprintln(cmd.OutOrStdout(), pw)
}

func newUserCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage the people who sign in to the console (admin)",
		Long: "Manage the console's accounts: who signs in, as which principal, enabled or not.\n" +
			"Calls the console's admin API at --addr, $CONSOLE_HTTP_ADDR, the context file, else 127.0.0.1:7180,\n" +
			"as admin (--token, else a token minted with the development key).\n" +
			"A password is read from stdin (--password-stdin) or generated and printed once, never taken as a flag.",
	}

	var name, principal string
	var stdinAdd bool
	add := &cobra.Command{
		Use:   "add PERSON_ID --name NAME --principal ROLE[:SUBJECT]",
		Short: "Add an account; the person signs in with PERSON_ID",
		Example: "  gridctl user add zj-07 --name 王芳 --principal dispatcher:310106022\n" +
			"  printf '%s\\n' \"$PW\" | gridctl user add zj-08 --name 李强 --principal department:310106022-cgzd --password-stdin",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, generated, err := readPassword(cmd, stdinAdd)
			if err != nil {
				return err
			}
			ctx, cancel := g.ctx(cmd.Context())
			defer cancel()
			var out struct {
				Account userAccount `json:"account"`
			}
			if err := g.consoleCall(ctx, http.MethodPost, "/api/admin/accounts",
				map[string]string{"person_id": args[0], "name": name, "principal": principal, "password": pw}, &out); err != nil {
				return err
			}
			if g.asJSON {
				if err := printJSON(cmd.OutOrStdout(), out.Account); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(cmd.ErrOrStderr(), "account %s added: %s acting as %s\n", out.Account.PersonID, out.Account.Name, out.Account.Principal)
			}
			if generated {
				printGenerated(cmd, args[0], pw)
			}
			return nil
		},
	}
	add.Flags().StringVar(&name, "name", "", "the person's name, as the audit shows it (required)")
	add.Flags().StringVar(&principal, "principal", "", "who they act as: dispatcher:<street>, district:<district>, department:<code>, hotline, secretary:<community>, patrol:<worker>, admin (required)")
	add.Flags().BoolVar(&stdinAdd, "password-stdin", false, "read the password from the first line of stdin (default: generate one and print it once)")
	_ = add.MarkFlagRequired("name")
	_ = add.MarkFlagRequired("principal")

	setEnabled := func(use, short, action string) *cobra.Command {
		return &cobra.Command{
			Use: use + " PERSON_ID", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx, cancel := g.ctx(cmd.Context())
				defer cancel()
				if err := g.consoleCall(ctx, http.MethodPost, "/api/admin/accounts/"+url.PathEscape(args[0])+"/"+action, nil, nil); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "account %s %sd\n", args[0], action)
				return nil
			},
		}
	}

	var stdinReset bool
	reset := &cobra.Command{
		Use:   "reset PERSON_ID",
		Short: "Give an account a new password; ends its sessions and lifts a lockout",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, generated, err := readPassword(cmd, stdinReset)
			if err != nil {
				return err
			}
			ctx, cancel := g.ctx(cmd.Context())
			defer cancel()
			if err := g.consoleCall(ctx, http.MethodPost, "/api/admin/accounts/"+url.PathEscape(args[0])+"/password",
				map[string]string{"password": pw}, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "account %s: password reset, its sessions ended\n", args[0])
			if generated {
				printGenerated(cmd, args[0], pw)
			}
			return nil
		},
	}
	reset.Flags().BoolVar(&stdinReset, "password-stdin", false, "read the password from the first line of stdin (default: generate one and print it once)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := g.ctx(cmd.Context())
			defer cancel()
			var out struct {
				Accounts []userAccount `json:"accounts"`
			}
			if err := g.consoleCall(ctx, http.MethodGet, "/api/admin/accounts", nil, &out); err != nil {
				return err
			}
			if g.asJSON {
				return printJSON(cmd.OutOrStdout(), out.Accounts)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PERSON_ID\tNAME\tPRINCIPAL\tSTATE\tUPDATED\tBY")
			for _, a := range out.Accounts {
				state := "enabled"
				if !a.Enabled {
					state = "disabled"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.PersonID, a.Name, a.Principal, state, localTime(a.UpdatedAt), a.UpdatedBy)
			}
			return tw.Flush()
		},
	}

	cmd.AddCommand(add, setEnabled("disable", "Disable an account; its sessions end at once", "disable"),
		setEnabled("enable", "Enable a disabled account", "enable"), reset, list)
	return cmd
}
