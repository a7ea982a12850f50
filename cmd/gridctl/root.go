package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/tlsconfig"
	"github.com/spf13/cobra"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// globals are the flags every command shares, and the settings resolved
// behind them.
type globals struct {
	addr    string
	token   string
	keyDir  string
	nkey    string
	asJSON  bool
	tls     bool
	timeout time.Duration
	// TLS files: the CA that signed the services' certificates and, for
	// services that ask for one (GRIDFLOW_TLS_CLIENT_AUTH), gridctl's own.
	tlsCA, tlsCert, tlsKey string

	once sync.Once
	set  *settings
}

// settings resolves the environment and the context file once.
func (g *globals) settings() *settings {
	g.once.Do(func() {
		cwd, _ := os.Getwd()
		g.set = loadSettings(os.Getenv, cwd)
	})
	return g.set
}

// keys is the development key directory: --key-dir, else as settingsHelp
// says.
func (g *globals) keys() string {
	if g.keyDir != "" {
		return g.keyDir
	}
	return g.settings().get(envKeyDir).value
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "gridctl",
		Short: "Operate gridflow: tokens, reference data, work orders",
		Long: "Operate gridflow over its gRPC APIs: tokens, reference data, work orders, classifications,\n" +
			"tasks, cases. A case is named by its id, its case number (GF-…) or its hotline order number.\n\n" + settingsHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := root.PersistentFlags()
	f.StringVar(&g.addr, "addr", "", "address host:port of the service the command calls (default: $<SERVICE>_GRPC_ADDR, the context file, else e.g. intake 127.0.0.1:7101)")
	f.StringVar(&g.token, "token", os.Getenv("GRIDFLOW_TOKEN"), "bearer token (default $GRIDFLOW_TOKEN, else an admin token minted with the local development key)")
	f.StringVar(&g.keyDir, "key-dir", "", "directory of the development key pair (default: $GRIDFLOW_KEY_DIR, the context file, else <run dir>/keys)")
	f.StringVar(&g.nkey, "nkey", "", "nkey seed file of the NATS user to connect as (default: $GRIDFLOW_NATS_NKEY_FILE, the context file, else <run dir>/nats/users/<user>.nk when it exists)")
	f.BoolVar(&g.asJSON, "json", false, "print results as JSON")
	f.BoolVar(&g.tls, "tls", false, "connect with TLS (implied by --tls-ca; the system's roots without it)")
	f.StringVar(&g.tlsCA, "tls-ca", os.Getenv("GRIDFLOW_TLS_CA_FILE"), "CA file that signed the services' certificates; turns TLS on (default $GRIDFLOW_TLS_CA_FILE)")
	f.StringVar(&g.tlsCert, "tls-cert", os.Getenv("GRIDFLOW_TLS_CLIENT_CERT_FILE"), "client certificate for services that require one (default $GRIDFLOW_TLS_CLIENT_CERT_FILE)")
	f.StringVar(&g.tlsKey, "tls-key", os.Getenv("GRIDFLOW_TLS_CLIENT_KEY_FILE"), "the client certificate's key (default $GRIDFLOW_TLS_CLIENT_KEY_FILE)")
	f.DurationVar(&g.timeout, "timeout", 30*time.Second, "deadline for each call")
	root.AddCommand(newContextCmd(g), newAuthCmd(g), newReferenceCmd(g), newSubmitCmd(g), newSubmissionCmd(g), newEventsCmd(g), newDLQCmd(g), newNATSCmd(g), newDispatchCmd(g),
		newRouteCmd(g), // route explain also at the top, as operators say it
		newLoadCmd(g))
	root.AddCommand(classifyCommands(g)...)
	addFeedbackCommands(root, g)
	addListsCommands(root, g)      // the three lists (issue 20): needs import, export lists
	root.AddCommand(newUserCmd(g)) // the console's accounts

	// Levers (issue 18): every dispatcher and department action (levers.go).
	addLeverCommands(root, g)
	// Open311's api_keys (issue 19).
	root.AddCommand(newOpen311Cmd(g))
	// The place registry and place history (issue 20, places).
	root.AddCommand(newPlaceCmd(g))
	// Grid workers' tasks and the notifications' local sink (issue 20, work tasks).
	root.AddCommand(newWorkTasksCmd(g), newNotifyCmd(g))
	// Source place coordination (issue 20).
	root.AddCommand(newSourcePlaceCmd(g))
	// Self-disposal (issue 20): patrol report --settled, selfdisposal list|check, figures selfdisposal.
	addSelfDisposalCommands(root, g)
	// Early warning (issue 20).
	root.AddCommand(newWarningsCmd(g))
	return root
}

// dial connects to svc — at --addr, else where the settings say — with the
// bearer token attached to every call. A service that does not answer is
// reported with the address dialled and where it came from, so a stack on
// other ports is a message away from being found.
func (g *globals) dial(svc service) (*grpc.ClientConn, error) { return g.dialAs(svc, g.token) }

// dialAs is dial with another token ("": an admin token minted with the
// development key).
func (g *globals) dialAs(svc service, token string) (*grpc.ClientConn, error) {
	where := setting{g.addr, "--addr"}
	if g.addr == "" {
		where = g.settings().get(svc.setting)
	}
	if err := g.settings().fileErr; err != nil && g.addr == "" {
		return nil, err
	}
	addr := where.value
	if token == "" {
		key, err := auth.SigningKey(g.keys())
		if err != nil {
			return nil, fmt.Errorf("no --token and no development key to mint one (%v): run `gridctl auth keygen` or pass --token", err)
		}
		token, err = auth.NewSigner(key).Issue(auth.Principal{Role: auth.RoleAdmin}, time.Hour)
		if err != nil {
			return nil, err
		}
	}
	creds, err := g.transport()
	if err != nil {
		return nil, err
	}
	return grpc.NewClient(addr,
		grpc.WithTransportCredentials(creds),
		// Client streams (gridctl needs import, issue 20) carry the token
		// too; their deadline is the command's.
		grpc.WithStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
			return streamer(ctx, desc, cc, method, opts...)
		}),
		grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			// Every call has a deadline: --timeout when the command set
			// none, so no call waits on a service for ever.
			if _, ok := ctx.Deadline(); !ok {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, g.timeout)
				defer cancel()
			}
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
			err := inv(ctx, method, req, reply, cc, opts...)
			if status.Code(err) == codes.Unavailable {
				return status.Errorf(codes.Unavailable, "%s at %s (from %s) does not answer: is the stack up (make up)? "+
					"--addr or %s point gridctl elsewhere: %s", svc.name, addr, where.from, svc.setting, status.Convert(err).Message())
			}
			return err
		}))
}

// tlsConfig is the client side of TLS the flags ask for; nil for plaintext.
func (g *globals) tlsConfig() (*tls.Config, error) {
	if !g.tls && g.tlsCA == "" && g.tlsCert == "" {
		return nil, nil
	}
	cfg, err := tlsconfig.Client{CAFile: g.tlsCA, CertFile: g.tlsCert, KeyFile: g.tlsKey}.Config()
	if err != nil {
		return nil, fmt.Errorf("--tls-ca, --tls-cert, --tls-key: %w", err)
	}
	return cfg, nil
}

func (g *globals) transport() (credentials.TransportCredentials, error) {
	cfg, err := g.tlsConfig()
	if err != nil || cfg == nil {
		return insecure.NewCredentials(), err
	}
	return credentials.NewTLS(cfg), nil
}

func (g *globals) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, g.timeout)
}

// printProto writes m as JSON. protojson varies its whitespace on purpose
// (from one build to the next), but --json output is grepped and diffed:
// encoding/json indents it the same way every time.
func printProto(w io.Writer, m proto.Message) error {
	b, err := protojson.Marshal(m)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// explain renders a gRPC error with its field violations, one per line.
func explain(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", st.Code(), st.Message())
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fmt.Fprintf(&b, "\n  %s: %s", v.GetField(), v.GetDescription())
			}
		case *errdetails.RetryInfo:
			fmt.Fprintf(&b, "\n  retry in: %s", d.GetRetryDelay().AsDuration())
		case *errdetails.ResourceInfo:
			label := "resource"
			if st.Code() == codes.AlreadyExists {
				label = "existing"
			}
			fmt.Fprintf(&b, "\n  %s: %s", label, d.GetResourceName())
		}
	}
	return errors.New(b.String())
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// shanghai is how people in the city read times (DESIGN.md: days and hours
// in Asia/Shanghai).
var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

func localTime(t time.Time) string { return t.In(shanghai).Format("2006-01-02 15:04:05 MST") }
