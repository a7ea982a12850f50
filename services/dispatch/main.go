// Command dispatch is gridflow's dispatch service. Until its issue lands it serves
// gRPC health and its admin port only, so the stack has its final shape.
package main

import (
	"context"

	"github.com/gridflow/gridflow/pkg/config"
	"github.com/gridflow/gridflow/pkg/process"
)

// Config is the dispatch service's configuration.
type Config struct {
	config.Base
	GRPCAddr  string `env:"DISPATCH_GRPC_ADDR, default=127.0.0.1:7103"`
	AdminAddr string `env:"DISPATCH_ADMIN_ADDR, default=127.0.0.1:7203"`
}

func main() { process.Main(run) }

func run(ctx context.Context) error {
	cfg, err := config.Load[Config](ctx)
	if err != nil {
		return err
	}
	env, err := process.Start(ctx, "dispatch", cfg.Base, cfg)
	if err != nil {
		return err
	}
	defer env.Telemetry.Shutdown(context.WithoutCancel(ctx)) //nolint:errcheck // best effort at exit
	return process.HealthOnly(ctx, env, cfg.GRPCAddr, "DISPATCH_GRPC_ADDR", cfg.AdminAddr, "DISPATCH_ADMIN_ADDR", cfg.ShutdownTimeout)
}
