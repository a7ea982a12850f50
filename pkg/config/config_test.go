package config

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sethvargo/go-envconfig"
)

type sample struct {
	Addr     string        `env:"X_ADDR, default=127.0.0.1:1"`
	DB       string        `env:"X_DB"`
	Token    string        `env:"X_TOKEN" secret:"true"`
	Interval time.Duration `env:"X_INTERVAL, default=2s"`
}

func (s *sample) Validate() error { return nil }

func TestLoadAndAttrs(t *testing.T) {
	t.Parallel()
	l := envconfig.MapLookuper(map[string]string{
		"X_DB":    "postgres://u:secret@h/db",
		"X_TOKEN": "abc",
	})
	cfg, err := LoadFrom[sample](context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	want := sample{Addr: "127.0.0.1:1", DB: "postgres://u:secret@h/db", Token: "abc", Interval: 2 * time.Second}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	got := Attrs(cfg)
	var rendered []string
	for _, a := range got {
		rendered = append(rendered, a.(interface{ String() string }).String())
	}
	wantAttrs := []string{"X_ADDR=127.0.0.1:1", "X_DB=postgres://u:%2A%2A%2A%2A@h/db", "X_TOKEN=****", "X_INTERVAL=2s"}
	if diff := cmp.Diff(wantAttrs, rendered); diff != "" {
		t.Errorf("attrs mismatch (-want +got):\n%s", diff)
	}
}

// Out of the box TLS is off and the limits are the documented ones.
func TestBaseDefaults(t *testing.T) {
	t.Parallel()
	b, err := LoadFrom[Base](context.Background(), envconfig.MapLookuper(nil))
	if err != nil {
		t.Fatal(err)
	}
	if b.TLSCertFile != "" || b.TLSKeyFile != "" || b.TLSCAFile != "" || b.TLSClientAuth {
		t.Errorf("TLS on by default: %+v", b)
	}
	if b.GRPCMaxRecvBytes != 4<<20 || b.DatabaseStatementTimeout != 30*time.Second {
		t.Errorf("limits = %d bytes, %v; want 4 MiB, 30s", b.GRPCMaxRecvBytes, b.DatabaseStatementTimeout)
	}
}

// choice is a setting with its own decoder, as pkg/lane.Run and
// pkg/ratelimit.Limits are.
type choice string

func (c *choice) EnvDecode(s string) error {
	if s != "a" && s != "b" {
		return fmt.Errorf("choice %q: want a or b", s)
	}
	*c = choice(s)
	return nil
}

type nested struct {
	Base
	Choice choice `env:"X_CHOICE, default=a"`
	Need   string `env:"X_NEED, required"`
}

// A setting that does not decode stops the load with an error naming its
// environment variable, not the Go fields envconfig walked through: that
// is what an operator can look for and change.
func TestLoadNamesTheVariable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"X_NEED": "x", "GRIDFLOW_DATABASE_MAX_CONNS": "abc"},
			`config: GRIDFLOW_DATABASE_MAX_CONNS: strconv.ParseInt: parsing "abc": invalid syntax`},
		{map[string]string{"X_NEED": "x", "GRIDFLOW_SHUTDOWN_TIMEOUT": "soon"},
			`config: GRIDFLOW_SHUTDOWN_TIMEOUT: time: invalid duration "soon"`},
		{map[string]string{"X_NEED": "x", "X_CHOICE": "c"}, `config: X_CHOICE: choice "c": want a or b`},
		// envconfig names a missing required variable itself.
		{map[string]string{}, `config: Need: missing required value: X_NEED`},
	}
	for _, c := range cases {
		_, err := LoadFrom[nested](ctx, envconfig.MapLookuper(c.env))
		if err == nil || err.Error() != c.want {
			t.Errorf("LoadFrom(%v) = %v, want %s", c.env, err, c.want)
		}
	}
	// Behind a prefix, the variable as it is set.
	_, err := LoadFrom[nested](ctx, envconfig.PrefixLookuper("P_", envconfig.MapLookuper(map[string]string{"P_X_NEED": "x", "P_X_CHOICE": "z"})))
	if want := `config: P_X_CHOICE: choice "z": want a or b`; err == nil || err.Error() != want {
		t.Errorf("prefixed: %v, want %s", err, want)
	}
	// A mistake in the tags is the code's, not the variable's looked up
	// before it.
	type badTag struct {
		A string `env:"X_A"`
		B string `env:"X_B, nonsense"`
	}
	_, err = LoadFrom[badTag](ctx, envconfig.MapLookuper(map[string]string{"X_A": "a"}))
	if err == nil || strings.Contains(err.Error(), "X_A") || !errors.Is(err, envconfig.ErrUnknownOption) {
		t.Errorf("a bad tag: %v, want envconfig's unknown option, naming no variable", err)
	}
	// What loads is unchanged by the naming.
	cfg, err := LoadFrom[nested](ctx, envconfig.MapLookuper(map[string]string{"X_NEED": "x", "X_CHOICE": "b"}))
	if err != nil || cfg.Choice != "b" || cfg.Need != "x" || cfg.DatabaseMaxConns != 16 {
		t.Errorf("LoadFrom = %+v, %v", cfg, err)
	}
}
