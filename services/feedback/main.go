// Command feedback is gridflow's feedback service. Until its issue lands it serves
// gRPC health and its admin port only, so the stack has its final shape.
package main

import (
	"context"

	"github.com/gridflow/gridflow/pkg/config"
	"github.com/gridflow/gridflow/pkg/process"
)

// Config is the feedback service's configuration.
type Config struct {
	config.Base
	GRPCAddr  string `env:"FEEDBACK_GRPC_ADDR, default=127.0.0.1:7104"`
	AdminAddr string `env:"FEEDBACK_ADMIN_ADDR, default=127.0.0.1:7204"`
}

func main() { process.Main(run) }

func run(ctx context.Context) error {
	cfg, err := config.Load[Config](ctx)
	if err != nil {
		return err
	}
	env, err := process.Start(ctx, "feedback", cfg.Base, cfg)
	if err != nil {
		return err
	}
	defer env.Telemetry.Shutdown(context.WithoutCancel(ctx)) //nolint:errcheck // best effort at exit
	return process.HealthOnly(ctx, env, cfg.GRPCAddr, "FEEDBACK_GRPC_ADDR", cfg.AdminAddr, "FEEDBACK_ADMIN_ADDR", cfg.ShutdownTimeout)
}
