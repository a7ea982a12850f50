// Package config reads a service's typed configuration from the environment,
// once, at start. Nothing else in gridflow calls os.Getenv: each service has
// one struct with `env` tags (github.com/sethvargo/go-envconfig syntax,
// e.g. `env:"INTAKE_GRPC_ADDR, default=127.0.0.1:7101"`), and logs it with
// secrets masked through Attrs.
package config

import (
	"context"
	"errors"
	"fmt"
	"go/token"
	"log/slog"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// Validator is implemented by configs with rules beyond their tags.
type Validator interface{ Validate() error }

// Load fills a T from the environment, applies defaults and validates it.
// A setting that does not decode stops it with an error naming the
// variable (config: GRIDFLOW_DATABASE_MAX_CONNS: strconv.ParseInt: …).
func Load[T any](ctx context.Context) (T, error) {
	return LoadFrom[T](ctx, envconfig.OsLookuper())
}

// LoadFrom is Load with an explicit lookuper (tests, gridctl flags).
func LoadFrom[T any](ctx context.Context, l envconfig.Lookuper) (T, error) {
	var cfg T
	k := &keyed{Lookuper: l}
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &cfg, Lookuper: k}); err != nil {
		return cfg, named(err, k.last)
	}
	if v, ok := any(&cfg).(Validator); ok {
		if err := v.Validate(); err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
	}
	return cfg, nil
}

// keyed remembers the variable envconfig looked up last. envconfig looks a
// field's variable up, decodes what it found at once and stops at the first
// error, so when it fails, the last variable looked up is the setting at
// fault; its own error names the Go field (Base: DatabaseMaxConns), which
// tells an operator nothing.
type keyed struct {
	envconfig.Lookuper
	last string
}

func (k *keyed) Lookup(key string) (string, bool) {
	k.last = k.Key(key)
	return k.Lookuper.Lookup(key)
}

// Key is the variable key names once the wrapped lookuper's prefix is
// added (envconfig's keyed lookupers); the key itself otherwise.
func (k *keyed) Key(key string) string {
	if p, ok := k.Lookuper.(interface{ Key(string) string }); ok {
		return p.Key(key)
	}
	return key
}

// Unwrap gives envconfig the lookuper a default's ${VAR} is expanded with:
// the innermost one, as without the wrapper, and unrecorded.
func (k *keyed) Unwrap() envconfig.Lookuper {
	if u, ok := k.Lookuper.(interface{ Unwrap() envconfig.Lookuper }); ok {
		return u.Unwrap()
	}
	return k.Lookuper
}

// ownMessage are envconfig's errors that keep its own message: a missing
// required variable, which it names itself, and its errors about a struct
// and its tags, which are the code's, not a value's, and raised before (or
// without) a lookup, so the variable looked up last is not theirs.
var ownMessage = []error{envconfig.ErrMissingRequired, envconfig.ErrInvalidEnvvarName, envconfig.ErrLookuperNil,
	envconfig.ErrMissingKey, envconfig.ErrNoInitNotPtr, envconfig.ErrNotPtr, envconfig.ErrNotStruct,
	envconfig.ErrPrefixNotStruct, envconfig.ErrPrivateField, envconfig.ErrRecursivePointer, envconfig.ErrRecursiveStruct,
	envconfig.ErrRequiredAndDefault, envconfig.ErrUnknownOption}

// named is envconfig's error err about the variable key: it names key in
// place of the Go fields it ran through, unless err is one of ownMessage.
func named(err error, key string) error {
	if key == "" || slices.ContainsFunc(ownMessage, func(e error) bool { return errors.Is(err, e) }) {
		return fmt.Errorf("config: %w", err)
	}
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			break
		}
		field, ok := strings.CutSuffix(err.Error(), ": "+inner.Error())
		if !ok || !token.IsIdentifier(field) {
			break
		}
		err = inner
	}
	return fmt.Errorf("config: %s: %w", key, err)
}

// Attrs renders cfg as slog attributes keyed by environment variable, with
// fields tagged `secret:"true"` masked and URL passwords redacted.
func Attrs(cfg any) []any {
	var out []any
	walk(reflect.ValueOf(cfg), &out)
	return out
}

func walk(v reflect.Value, out *[]any) {
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("env")
		name, _, _ := strings.Cut(tag, ",")
		name = strings.TrimSpace(name)
		if name == "" {
			walk(v.Field(i), out)
			continue
		}
		val := fmt.Sprint(v.Field(i).Interface())
		if f.Tag.Get("secret") == "true" && val != "" {
			val = "****"
		} else {
			val = redactURL(val)
		}
		*out = append(*out, slog.String(name, val))
	}
}

func redactURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "****")
		return u.String()
	}
	return s
}

// Base is the configuration every gridflow service shares. Services embed it
// in their own struct beside their addresses.
type Base struct {
	LogLevel          slog.Level    `env:"GRIDFLOW_LOG_LEVEL, default=info"`
	OTLPEndpoint      string        `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	DatabaseURL       string        `env:"GRIDFLOW_DATABASE_URL, default=postgres://gridflow@127.0.0.1:15432/gridflow?sslmode=disable"`
	DatabaseMaxConns  int32         `env:"GRIDFLOW_DATABASE_MAX_CONNS, default=16"`
	NATSURL           string        `env:"GRIDFLOW_NATS_URL, default=nats://127.0.0.1:14222"`
	NATSNkeyFile      string        `env:"GRIDFLOW_NATS_NKEY_FILE"` // the service's NATS user, its nkey seed (pkg/natsauth); unset: none
	AuthPublicKeyFile string        `env:"GRIDFLOW_AUTH_PUBLIC_KEY_FILE, default=.run/keys/dev-ed25519.pub"`
	ReferenceDir      string        `env:"GRIDFLOW_REFERENCE_DIR"`
	ShutdownTimeout   time.Duration `env:"GRIDFLOW_SHUTDOWN_TIMEOUT, default=10s"`
	// RequestRetention is how long a write request's id and first result
	// are kept for idempotent retries (pkg/idempotency); a client retrying
	// later than this is treated as new.
	RequestRetention time.Duration `env:"GRIDFLOW_REQUEST_RETENTION, default=720h"`

	// AuthKeyDir holds the public key (*.pub) of every signing key in
	// force: the first one and each rotation (gridctl auth keygen --rotate).
	// When set it wins over AuthPublicKeyFile.
	AuthKeyDir string `env:"GRIDFLOW_AUTH_KEY_DIR"`
	// AuthKeyOverlap is how long a key's tokens stay valid after the next
	// key was made; then they are refused. Tokens live 24h by default, so
	// two days let every token issued before a rotation run out, with a day
	// to hand the new key to every signer.
	AuthKeyOverlap time.Duration `env:"GRIDFLOW_AUTH_KEY_OVERLAP, default=48h"`
	// AuthDenyListFile lists revoked token ids and principals (gridctl auth
	// revoke appends); a missing file is an empty list, unset is none.
	AuthDenyListFile string `env:"GRIDFLOW_AUTH_DENY_LIST_FILE"`
	// AuthReloadInterval is how often the keys and the deny list are
	// checked for changes (and reloaded when they changed), so a
	// revocation reaches every service without a signal; SIGHUP reloads at
	// once. 0: only on SIGHUP.
	AuthReloadInterval time.Duration `env:"GRIDFLOW_AUTH_RELOAD_INTERVAL, default=10s"`

	// DatabaseStatementTimeout bounds every SQL statement (PostgreSQL's
	// statement_timeout; 0: the server's own). The slowest statements a
	// service runs in normal work take milliseconds; a city's year of
	// metrics a few seconds. Migrations are not bound by it.
	DatabaseStatementTimeout time.Duration `env:"GRIDFLOW_DATABASE_STATEMENT_TIMEOUT, default=30s"`
	// GRPCMaxRecvBytes bounds one request message; larger ones are refused
	// with RESOURCE_EXHAUSTED before they are decoded.
	GRPCMaxRecvBytes int `env:"GRIDFLOW_GRPC_MAX_RECV_BYTES, default=4194304"`

	// TLS is off unless a certificate is named (make run serves plaintext on
	// loopback; deploy/ mounts certificates from a Secret). The service's
	// certificate and key serve gRPC, and are shown to NATS when it asks
	// for a client certificate.
	TLSCertFile string `env:"GRIDFLOW_TLS_CERT_FILE"`
	TLSKeyFile  string `env:"GRIDFLOW_TLS_KEY_FILE"`
	// TLSCAFile is the CA the service trusts: the NATS server's
	// certificate (a tls:// GRIDFLOW_NATS_URL) and, with TLSClientAuth,
	// its gRPC clients' certificates. Empty: the system's roots for NATS.
	TLSCAFile string `env:"GRIDFLOW_TLS_CA_FILE"`
	// TLSClientAuth makes every gRPC client present a certificate signed by
	// TLSCAFile (mutual TLS), beside its bearer token.
	TLSClientAuth bool `env:"GRIDFLOW_TLS_CLIENT_AUTH, default=false"`
	// PostgreSQL's TLS is GRIDFLOW_DATABASE_URL's own, read by pgx:
	// sslmode=verify-full&sslrootcert=/etc/gridflow/tls/ca.crt (and
	// sslcert, sslkey for a client certificate).
}
