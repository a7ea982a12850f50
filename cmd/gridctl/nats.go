package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

// natsConnect connects to url as the NATS user name (natsauth): with its
// inbox prefix and the nkey seed of --nkey, else for the operator
// GRIDFLOW_NATS_NKEY_FILE (or the context file), else the seed the stack
// generated for name in <run dir>/nats/users. A default seed that does not
// exist, or that a server without users refuses, means no credentials.
func (g *globals) natsConnect(url, name string) (*nats.Conn, jetstream.JetStream, error) {
	seed := setting{g.nkey, "--nkey"}
	if seed.value == "" {
		if name == natsauth.Operator {
			seed = g.settings().get(envNKey)
		} else {
			seed = setting{natsauth.SeedFile(filepath.Dir(g.settings().get(envNKey).value), name), "default"}
		}
		if _, err := os.Stat(seed.value); seed.from == "default" && errors.Is(err, fs.ErrNotExist) {
			seed.value = ""
		}
	}
	opts, err := natsjs.User(name, seed.value)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (from %s)", err, seed.from)
	}
	extra := []nats.Option{nats.Name("gridctl")}
	if strings.Contains(url, "tls://") {
		cfg, err := g.tlsConfig()
		if err != nil {
			return nil, nil, err
		}
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		extra = append(extra, nats.Secure(cfg))
	}
	nc, err := nats.Connect(url, append(opts, extra...)...)
	if errors.Is(err, nats.ErrNkeysNotSupported) && seed.from == "default" {
		// The stack's user, found in the run dir, but a server without
		// users (an in-process test server, --nats elsewhere).
		anon, _ := natsjs.User(name, "")
		nc, err = nats.Connect(url, append(anon, extra...)...)
	}
	if err != nil {
		if seed.value == "" && errors.Is(err, nats.ErrAuthorization) {
			return nil, nil, fmt.Errorf("connect %s: %w: NATS wants a user: pass --nkey or set %s", url, err, envNKey)
		}
		return nil, nil, fmt.Errorf("connect %s as NATS user %s: %w", url, name, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

func newNATSCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "nats", Short: "Set up NATS: its users and gridflow's streams"}

	var dir string
	users := &cobra.Command{
		Use:   "users [--dir DIR]",
		Short: "Make an nkey per NATS user (kept if present) and nats-server's authorization block",
		Long: "Writes DIR/<user>.nk (an nkey seed, mode 0600) for every gridflow service, the operator (gridctl)\n" +
			"and the streams declarer, keeping the seeds that exist, and DIR/auth.conf, the authorization\n" +
			"block for nats-server -c: who publishes and consumes what (pkg/natsauth). The stack runs it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				dir = filepath.Dir(g.settings().get(envNKey).value)
			}
			if err := natsauth.Generate(dir, natsauth.Users); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "nats users in %s, authorization in %s\n", dir, natsauth.ConfigFile(dir))
			return nil
		},
	}
	users.Flags().StringVar(&dir, "dir", "", "directory of the seeds and auth.conf (default <run dir>/nats/users)")

	var (
		natsURL   string
		replicas  int
		maxAge    time.Duration
		dlqMaxAge time.Duration
		wait      time.Duration
	)
	streams := &cobra.Command{
		Use:   "streams [--replicas N] [--max-age D] [--dlq-max-age D]",
		Short: "Declare GRID, GRID_DLQ and the services' durable consumers (create or update): the one place that does",
		Long: "Creates or updates the streams GRID (grid.>) and GRID_DLQ (dlq.>), and every service's durable\n" +
			"consumer on GRID with its filter subjects (pkg/natsauth's table), as the NATS user streams (its seed:\n" +
			"--nkey, else <run dir>/nats/users/streams.nk). Services never declare them: they wait until the\n" +
			"streams exist and bind to their durables. The stack runs it after NATS starts and before the services.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if natsURL == "" {
				natsURL = g.settings().get(envNATS).value
			}
			nc, js, err := g.natsConnect(natsURL, natsauth.Streams)
			if err != nil {
				return err
			}
			defer nc.Close()
			ctx, cancel := g.ctx(cmd.Context())
			defer cancel()
			opts := natsjs.StreamOptions{Replicas: replicas, MaxAge: maxAge, DLQMaxAge: dlqMaxAge}
			// A server just started may not have JetStream ready yet; in a
			// cluster, a request sent before the nodes have elected their
			// meta leader gets no answer at all: each try has its own
			// deadline, so the next one goes to the elected leader.
			for deadline := time.Now().Add(wait); ; {
				tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
				err = natsjs.EnsureStreams(tctx, js, opts)
				tcancel()
				if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if err != nil {
				return err
			}
			for _, name := range []string{natsjs.StreamGrid, natsjs.StreamDLQ} {
				st, err := js.Stream(ctx, name)
				if err != nil {
					return err
				}
				c := st.CachedInfo().Config
				fmt.Fprintf(cmd.OutOrStdout(), "stream %s on %v declared: replicas %d, max age %s\n", c.Name, c.Subjects, c.Replicas, c.MaxAge)
			}
			for _, d := range natsauth.AllDurables() {
				if _, err := consumer.Declare(ctx, js, natsjs.StreamGrid, d.Name, d.Filter); err != nil {
					return fmt.Errorf("declaring the durable consumer %s: %w", d.Name, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "consumer %s on %s declared: filter %v\n", d.Name, natsjs.StreamGrid, d.Filter)
			}
			return nil
		},
	}
	f := streams.Flags()
	f.StringVar(&natsURL, "nats", "", "NATS URL (default: $GRIDFLOW_NATS_URL, the context file, else nats://127.0.0.1:14222)")
	f.IntVar(&replicas, "replicas", envInt("GRIDFLOW_STREAM_REPLICAS", 1), "stream replicas: 1 on one machine, 3 in a cluster (default $GRIDFLOW_STREAM_REPLICAS, else 1)")
	f.DurationVar(&maxAge, "max-age", envDuration("GRIDFLOW_STREAM_MAX_AGE", natsjs.DefaultMaxAge),
		"how long GRID keeps events (default $GRIDFLOW_STREAM_MAX_AGE, else 30 days)")
	f.DurationVar(&dlqMaxAge, "dlq-max-age", envDuration("GRIDFLOW_DLQ_MAX_AGE", 0),
		"how long GRID_DLQ keeps dead letters (default $GRIDFLOW_DLQ_MAX_AGE, else 14 days, or --max-age when shorter)")
	f.DurationVar(&wait, "wait", 10*time.Second, "keep trying this long while JetStream is not ready")
	cmd.AddCommand(users, streams, newScrubCmd(g))
	return cmd
}

// envInt is the integer in the environment variable key, else def.
func envDuration(key string, def time.Duration) time.Duration {
	d, err := time.ParseDuration(os.Getenv(key))
	if err != nil || d <= 0 {
		return def
	}
	return d
}

func envInt(key string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(key), &n); err != nil {
		return def
	}
	return n
}
