package config

import (
	"context"
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
