// Command console is gridflow's web door for people: the sign-in page,
// sessions, and the signed-in pages, which call the services as the
// signed-in person (see internal/web and internal/accounts). It keeps
// people's accounts and sessions in its own schema (identity, not domain
// state) and nothing of the domain.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/config"
	"github.com/gridflow/gridflow/pkg/process"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/tlsconfig"
	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	"github.com/gridflow/gridflow/services/console/internal/accounts"
	"github.com/gridflow/gridflow/services/console/internal/api"
	"github.com/gridflow/gridflow/services/console/internal/deadletters"
	"github.com/gridflow/gridflow/services/console/internal/live"
	"github.com/gridflow/gridflow/services/console/internal/objects"
	"github.com/gridflow/gridflow/services/console/internal/open311"
	"github.com/gridflow/gridflow/services/console/internal/postgres"
	"github.com/gridflow/gridflow/services/console/internal/web"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Config is the console's configuration.
type Config struct {
	config.Base
	HTTPAddr     string `env:"CONSOLE_HTTP_ADDR, default=127.0.0.1:7180"`
	AdminAddr    string `env:"CONSOLE_ADMIN_ADDR, default=127.0.0.1:7205"`
	FeedbackAddr string `env:"FEEDBACK_GRPC_ADDR, default=127.0.0.1:7104"`
	// SigningKeyDir holds the key the console signs people's credentials
	// with: the directory's newest private key, as gridctl signs — so the
	// key every service already accepts, rotated with the rest (a separate
	// console key in the same directory would be taken for an older
	// rotation and retired). make up and the e2e stack keep the private
	// halves in GRIDFLOW_AUTH_KEY_DIR, hence the default; a deployment
	// mounts the signing key for the console alone.
	SigningKeyDir string `env:"CONSOLE_SIGNING_KEY_DIR, default=$GRIDFLOW_AUTH_KEY_DIR"`
	// TokenTTL is how long a credential the console calls a service with
	// lives: one is signed per page, so minutes are plenty, and a disabled
	// account's last credential is dead soon after.
	TokenTTL time.Duration `env:"CONSOLE_TOKEN_TTL, default=5m"`

	LockoutFailures int           `env:"CONSOLE_LOCKOUT_FAILURES, default=5"`
	LockoutDuration time.Duration `env:"CONSOLE_LOCKOUT_DURATION, default=15m"`
	SessionIdle     time.Duration `env:"CONSOLE_SESSION_IDLE, default=30m"`
	SessionMax      time.Duration `env:"CONSOLE_SESSION_MAX, default=12h"`
	// CookieSecure marks cookies Secure on plain HTTP too: set it when a
	// proxy terminates TLS in front of the console. A request that came
	// over TLS always gets Secure cookies.
	CookieSecure bool `env:"CONSOLE_COOKIE_SECURE, default=false"`

	// OIDC sign-in, on when an issuer is named (README: "The console:
	// people sign in"). The client secret is read from a file, never the
	// environment's value.
	OIDCIssuer           string `env:"CONSOLE_OIDC_ISSUER"`
	OIDCClientID         string `env:"CONSOLE_OIDC_CLIENT_ID"`
	OIDCClientSecretFile string `env:"CONSOLE_OIDC_CLIENT_SECRET_FILE"`
	OIDCRedirectURL      string `env:"CONSOLE_OIDC_REDIRECT_URL"`
	OIDCPersonClaim      string `env:"CONSOLE_OIDC_PERSON_CLAIM, default=preferred_username"`

	// The live queue, the review queue and the case page (issue 18): what
	// they read besides feedback. The live queue reads grid.> as the
	// console's NATS user (GRIDFLOW_NATS_NKEY_FILE, pkg/natsauth).
	ClassifyAddr string `env:"CLASSIFY_GRPC_ADDR, default=127.0.0.1:7102"`
	DispatchAddr string `env:"DISPATCH_GRPC_ADDR, default=127.0.0.1:7103"`
	// LiveBuffer is each open live screen's queue of rows not yet sent: a
	// screen further behind is closed and its browser reloads.
	LiveBuffer int `env:"CONSOLE_LIVE_BUFFER, default=1024"`
	// The HTTP/JSON door (issue 19): the services it proxies beside
	// feedback, and the uploads' limits.
	IntakeAddr     string   `env:"INTAKE_GRPC_ADDR, default=127.0.0.1:7101"`
	UploadMaxBytes int64    `env:"CONSOLE_UPLOAD_MAX_BYTES, default=10485760"`
	UploadTypes    []string `env:"CONSOLE_UPLOAD_TYPES, default=image/jpeg,image/png,image/webp,image/heic,image/heif,application/pdf"`
	// Open311 (issue 19): the public's door answers for one jurisdiction.
	Open311Jurisdiction string `env:"CONSOLE_OPEN311_JURISDICTION, default=gridflow"`
}

// Validate checks the rules the tags cannot say.
func (c Config) Validate() error {
	switch {
	case c.LockoutFailures < 1:
		return fmt.Errorf("CONSOLE_LOCKOUT_FAILURES must be at least 1, got %d", c.LockoutFailures)
	case c.LockoutDuration <= 0:
		return fmt.Errorf("CONSOLE_LOCKOUT_DURATION must be positive, got %s", c.LockoutDuration)
	case c.SessionIdle <= 0 || c.SessionMax <= 0:
		return fmt.Errorf("CONSOLE_SESSION_IDLE and CONSOLE_SESSION_MAX must be positive")
	case c.SessionIdle > c.SessionMax:
		return fmt.Errorf("CONSOLE_SESSION_IDLE (%s) is longer than CONSOLE_SESSION_MAX (%s)", c.SessionIdle, c.SessionMax)
	case c.SigningKeyDir == "":
		return fmt.Errorf("CONSOLE_SIGNING_KEY_DIR is unset (and GRIDFLOW_AUTH_KEY_DIR, its default, too): the console needs the key directory's signing key to call the services as the signed-in person")
	case c.OIDCIssuer != "" && (c.OIDCClientID == "" || c.OIDCClientSecretFile == "" || c.OIDCRedirectURL == ""):
		return fmt.Errorf("CONSOLE_OIDC_ISSUER needs CONSOLE_OIDC_CLIENT_ID, CONSOLE_OIDC_CLIENT_SECRET_FILE and CONSOLE_OIDC_REDIRECT_URL")
	case c.TokenTTL <= 0 || c.TokenTTL > time.Hour:
		return fmt.Errorf("CONSOLE_TOKEN_TTL must be between 0 and 1h, got %s", c.TokenTTL)
	case c.LiveBuffer < 1:
		return fmt.Errorf("CONSOLE_LIVE_BUFFER must be at least 1, got %d", c.LiveBuffer)
	// The HTTP/JSON door (issue 19).
	case c.UploadMaxBytes <= 0 || c.UploadMaxBytes > 1<<30:
		return fmt.Errorf("CONSOLE_UPLOAD_MAX_BYTES must be between 1 and 1 GiB, got %d", c.UploadMaxBytes)
	case len(c.UploadTypes) == 0:
		return fmt.Errorf("CONSOLE_UPLOAD_TYPES names no media type: nothing could be uploaded")
	}
	return nil
}

func main() { process.Main(run) }

func run(ctx context.Context) error {
	cfg, err := config.Load[Config](ctx)
	if err != nil {
		return err
	}
	p, err := process.Start(ctx, "console", cfg.Base, cfg)
	if err != nil {
		return err
	}
	defer p.Close()

	pool, err := p.Postgres(postgres.Schema, postgres.Migrations...)
	if err != nil {
		return err
	}
	acc, err := accounts.NewService(postgres.New(pool), accounts.Policy{
		MaxFailures: cfg.LockoutFailures, LockoutDuration: cfg.LockoutDuration,
		SessionIdle: cfg.SessionIdle, SessionMax: cfg.SessionMax, Hashing: accounts.DefaultParams,
	}, time.Now)
	if err != nil {
		return err
	}
	minter, err := web.NewMinter(cfg.SigningKeyDir, cfg.TokenTTL)
	if err != nil {
		return err
	}
	p.Log.InfoContext(ctx, "signing the people's credentials", "key_dir", cfg.SigningKeyDir, "kid", minter.KeyID(), "ttl", cfg.TokenTTL)

	// The admin API checks tokens as every service does.
	src := auth.Source{KeyDir: cfg.AuthKeyDir, Overlap: cfg.AuthKeyOverlap, DenyListFile: cfg.AuthDenyListFile}
	if src.KeyDir == "" {
		src.KeyFile = cfg.AuthPublicKeyFile
	}
	creds, err := auth.NewLive(src)
	if err != nil {
		return fmt.Errorf("credentials (GRIDFLOW_AUTH_KEY_DIR, GRIDFLOW_AUTH_PUBLIC_KEY_FILE, GRIDFLOW_AUTH_DENY_LIST_FILE): %w", err)
	}
	p.ReloadOnHangup(creds)
	p.Go(func(ctx context.Context) error { return creds.Poll(ctx, cfg.AuthReloadInterval, p.Log) })

	transport := insecure.NewCredentials()
	if cfg.TLSCAFile != "" {
		tc, err := tlsconfig.Client{CAFile: cfg.TLSCAFile, CertFile: cfg.TLSCertFile, KeyFile: cfg.TLSKeyFile}.Config()
		if err != nil {
			return fmt.Errorf("feedback client (GRIDFLOW_TLS_CA_FILE): %w", err)
		}
		transport = credentials.NewTLS(tc)
	}
	conn, err := grpc.NewClient(cfg.FeedbackAddr, grpc.WithTransportCredentials(transport),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()))
	if err != nil {
		return fmt.Errorf("feedback client (FEEDBACK_GRPC_ADDR %s): %w", cfg.FeedbackAddr, err)
	}
	defer conn.Close()

	// Expired sessions are refused when used; the sweep only keeps the
	// table small.
	p.Go(func(ctx context.Context) error {
		t := time.NewTicker(10 * time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				if n, err := acc.Sweep(ctx); err != nil {
					p.Log.WarnContext(ctx, "session sweep failed", "err", err)
				} else if n > 0 {
					p.Log.InfoContext(ctx, "expired sessions removed", "count", n)
				}
			}
		}
	})

	opts := web.Options{SecureCookies: cfg.CookieSecure}
	if cfg.OIDCIssuer != "" {
		secret, err := os.ReadFile(cfg.OIDCClientSecretFile)
		if err != nil {
			return fmt.Errorf("CONSOLE_OIDC_CLIENT_SECRET_FILE: %w", err)
		}
		if opts.OIDC, err = web.NewOIDC(ctx, web.OIDCConfig{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID,
			ClientSecret: strings.TrimSpace(string(secret)), RedirectURL: cfg.OIDCRedirectURL, PersonClaim: cfg.OIDCPersonClaim}); err != nil {
			return fmt.Errorf("CONSOLE_OIDC_ISSUER: %w", err)
		}
		p.Log.InfoContext(ctx, "OIDC sign-in offered", "issuer", cfg.OIDCIssuer, "person_claim", cfg.OIDCPersonClaim)
	}
	// The live queue, the review queue and the case page (issue 18): classify
	// and dispatch clients, and the one reader of grid.> feeding every
	// open screen.
	dial := func(addr, setting string) (*grpc.ClientConn, error) {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(transport), grpc.WithStatsHandler(otelgrpc.NewClientHandler()))
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", setting, addr, err)
		}
		return c, nil
	}
	classifyConn, err := dial(cfg.ClassifyAddr, "CLASSIFY_GRPC_ADDR")
	if err != nil {
		return err
	}
	defer classifyConn.Close()
	dispatchConn, err := dial(cfg.DispatchAddr, "DISPATCH_GRPC_ADDR")
	if err != nil {
		return err
	}
	defer dispatchConn.Close()
	js, err := p.JetStream()
	if err != nil {
		return fmt.Errorf("live queue (GRIDFLOW_NATS_URL, GRIDFLOW_NATS_NKEY_FILE): %w", err)
	}
	hub := live.NewHub(web.RenderRow, p.Log, live.Options{Buffer: cfg.LiveBuffer,
		RenderWarning: web.RenderWarning}) // early warning (issue 20)
	p.Go(func(ctx context.Context) error { return hub.Run(ctx, js) })
	opts.Live = web.LiveOptions{Classify: classifyv1.NewClassifyServiceClient(classifyConn),
		Dispatch: dispatchv1.NewDispatchServiceClient(dispatchConn), Hub: hub}
	// Places (issue 20): the place page and the case page's 此地历史 read
	// classify's PlaceService on the same connection.
	opts.Places = classifyv1.NewPlaceServiceClient(classifyConn)
	// Levers and boards (issue 18).
	ref, err := reference.Open(cfg.ReferenceDir)
	if err != nil {
		return err
	}
	p.ReloadOnHangup(ref)
	// The scoreboard's departments and the wall's grid polygons come from the
	// reference data (GRIDFLOW_REFERENCE_DIR, reloaded on SIGHUP like every
	// service's); the levers call dispatch and classify through the clients
	// above.
	opts.Boards = web.Boards{Dispatch: opts.Live.Dispatch, Classify: opts.Live.Classify, Reference: ref.Current}
	// The wall's live markers (issue 18): the hub draws an open case's
	// marker at its reported place or its grid, from the same reference data.
	hub.SetMarkerRenderer(web.MarkerRenderer(ref.Current))
	// The escalation board's dead letters (issue 18): GRID_DLQ's counts per
	// durable through the live queue's JetStream connection (stream info
	// only, pkg/natsauth), and dispatch's dead webhook deliveries.
	opts.Boards.DeadLetters = deadletters.Counter{JS: js}.Count
	opts.Boards.Webhooks = dispatchv1.NewWebhookServiceClient(dispatchConn)
	// Source place coordination (issue 20): the case page's source place block.
	opts.SourcePlaces = web.SourcePlaces{Places: classifyv1.NewSourcePlaceServiceClient(classifyConn),
		Coordination: dispatchv1.NewCoordinationServiceClient(dispatchConn)}

	// The three lists' export (issue 20): feedback's ListsService.
	opts.Lists = feedbackv1.NewListsServiceClient(conn)

	// Early warning (issue 20): the warnings page calls feedback's
	// WarningService over the same connection.
	opts.Warnings = feedbackv1.NewWarningServiceClient(conn)

	h := web.New(acc, minter, feedbackv1.NewFeedbackServiceClient(conn), creds.Verifier(), p.Log, opts)

	// The HTTP/JSON door (issue 19): /api/v1 proxies the services' RPCs with
	// the caller's own token and stores uploads in their own schema.
	root := http.NewServeMux()
	root.Handle("/", h)
	intakeConn, err := dial(cfg.IntakeAddr, "INTAKE_GRPC_ADDR")
	if err != nil {
		return err
	}
	defer intakeConn.Close()
	{
		conns := api.Conns{Feedback: conn, Intake: intakeConn, Classify: classifyConn, Dispatch: dispatchConn}
		objectsPool, err := p.Postgres(objects.Schema, objects.Migrations...)
		if err != nil {
			return err
		}
		jsonDoor, err := api.New(ctx, conns, creds.Verifier(), objects.NewPG(objectsPool), p.Log,
			api.Options{MaxUploadBytes: cfg.UploadMaxBytes, UploadTypes: cfg.UploadTypes, MaxBodyBytes: int64(cfg.GRPCMaxRecvBytes)})
		if err != nil {
			return err
		}
		root.Handle("/api/v1/", jsonDoor)
	}
	// Open311 (issue 19): the public's door, beside the people's.
	door := open311.New(open311.Keys{Store: postgres.New(pool), Now: time.Now}, minter, open311.Backends{
		Intake: intakev1.NewPublicIntakeServiceClient(intakeConn), Classify: opts.Live.Classify,
		Feedback: feedbackv1.NewPublicCaseServiceClient(conn)}, creds.Verifier(), p.Log,
		open311.Options{Jurisdiction: cfg.Open311Jurisdiction, Reference: ref.Current})
	root.Handle(open311.Prefix, door)
	root.Handle("/api/admin/open311/", door)
	if err := p.HTTP(cfg.HTTPAddr, "CONSOLE_HTTP_ADDR", root); err != nil {
		return err
	}
	if err := p.Admin(cfg.AdminAddr, "CONSOLE_ADMIN_ADDR"); err != nil {
		return err
	}
	return p.Wait()
}
