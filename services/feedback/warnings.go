package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/gridflow/gridflow/pkg/pause"
	"github.com/gridflow/gridflow/services/feedback/internal/warning"
)

// warningLoop evaluates the warnings every `every` until ctx ends (early
// warning, issue 20). A failed evaluation is logged and tried again at the
// next tick: the counts it would have read are still there.
func warningLoop(ctx context.Context, svc *warning.Service, every time.Duration, log *slog.Logger) {
	for {
		raised, ran, err := svc.Evaluate(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.ErrorContext(ctx, "warning evaluation failed", "err", err)
		case ran && len(raised) > 0:
			for _, w := range raised {
				log.InfoContext(ctx, "warning raised", "warning", w.ID, "kind", w.Key.Kind, "street", w.Key.Street,
					"count", w.Count, "baseline", w.Baseline, "rise", w.Rise, "level", w.Level)
			}
		}
		if !pause.For(ctx, every) {
			return
		}
	}
}
