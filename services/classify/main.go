// Command classify is gridflow's classify service. With no arguments it
// serves (until its service issue lands: gRPC health and the admin port);
// `classify train` and `classify eval` train and measure the text classifier.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/gridflow/gridflow/pkg/config"
	"github.com/gridflow/gridflow/pkg/process"
	"github.com/gridflow/gridflow/services/classify/internal/cli"
)

// Config is the classify service's configuration.
type Config struct {
	config.Base
	GRPCAddr  string `env:"CLASSIFY_GRPC_ADDR, default=127.0.0.1:7102"`
	AdminAddr string `env:"CLASSIFY_ADMIN_ADDR, default=127.0.0.1:7202"`
}

const usage = `usage:
  classify                                   serve
  classify train --data FILE.jsonl --out MODEL [--cv 5] [--search]
  classify eval  --model MODEL --data FILE.jsonl`

func main() {
	process.Main(func(ctx context.Context) error {
		if len(os.Args) < 2 {
			return serve(ctx)
		}
		switch os.Args[1] {
		case "train":
			return cli.Train(ctx, os.Args[2:], os.Stdout, os.Stderr)
		case "eval":
			return cli.Eval(ctx, os.Args[2:], os.Stdout, os.Stderr)
		case "help", "-h", "--help":
			fmt.Println(usage)
			return nil
		default:
			return fmt.Errorf("unknown command %q\n%s", os.Args[1], usage)
		}
	})
}

func serve(ctx context.Context) error {
	cfg, err := config.Load[Config](ctx)
	if err != nil {
		return err
	}
	env, err := process.Start(ctx, "classify", cfg.Base, cfg)
	if err != nil {
		return err
	}
	defer env.Telemetry.Shutdown(context.WithoutCancel(ctx)) //nolint:errcheck // best effort at exit
	return process.HealthOnly(ctx, env, cfg.GRPCAddr, "CLASSIFY_GRPC_ADDR", cfg.AdminAddr, "CLASSIFY_ADMIN_ADDR", cfg.ShutdownTimeout)
}
