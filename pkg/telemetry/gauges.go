package telemetry

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// PolledGauges are gauges whose values come from a query — a table's
// backlog, a consumer's lag — run in the background every Every, not at
// scrape time: a scrape never waits on PostgreSQL or NATS, and several
// scrapers cost one query. Until the first poll succeeds, and after one
// fails, nothing is reported, so a value on /metrics is never a stale or
// made-up zero (an alert on absence, not on zero, sees the gap).
type PolledGauges struct {
	// Scope is the instrumentation scope (the package's import path).
	Scope string
	// Attrs label every gauge (e.g. the consumer's name).
	Attrs []attribute.KeyValue
	// Gauges maps each gauge's name to its description.
	Gauges map[string]string
	// Every is how often Poll runs (default 15s, with ±10 % jitter).
	Every time.Duration
	// Poll returns the current value of each gauge by name; a name it
	// leaves out is not reported this time.
	Poll func(ctx context.Context) (map[string]float64, error)
}

// Run polls until ctx ends. A failed poll is logged (once until the next
// success) and retried at the next tick.
func (p PolledGauges) Run(ctx context.Context, log *slog.Logger) {
	if p.Every <= 0 {
		p.Every = 15 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	meter := otel.Meter(p.Scope)
	var (
		mu     sync.Mutex
		values map[string]float64
		insts  []metric.Observable
		byName = map[metric.Float64ObservableGauge]string{}
	)
	for name, desc := range p.Gauges {
		g, err := meter.Float64ObservableGauge(name, metric.WithDescription(desc))
		if err != nil {
			log.WarnContext(ctx, "telemetry: gauge not registered", "gauge", name, "err", err)
			continue
		}
		insts = append(insts, g)
		byName[g] = name
	}
	opt := metric.WithAttributeSet(attribute.NewSet(p.Attrs...))
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		mu.Lock()
		defer mu.Unlock()
		for g, name := range byName {
			if v, ok := values[name]; ok {
				o.ObserveFloat64(g, v, opt)
			}
		}
		return nil
	}, insts...)
	if err != nil {
		log.WarnContext(ctx, "telemetry: gauges not registered", "err", err)
		return
	}
	defer func() { _ = reg.Unregister() }()

	failing := false
	for {
		pctx, cancel := context.WithTimeout(ctx, min(p.Every, 10*time.Second))
		v, err := p.Poll(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		mu.Lock()
		if err != nil {
			values = nil
		} else {
			values = v
		}
		mu.Unlock()
		switch {
		case err != nil && !failing:
			log.WarnContext(ctx, "telemetry: polling gauges failed; not reporting them until it works", "scope", p.Scope, "err", err)
			failing = true
		case err == nil && failing:
			log.InfoContext(ctx, "telemetry: polling gauges works again", "scope", p.Scope)
			failing = false
		}
		jitter := time.Duration(float64(p.Every) * (0.9 + 0.2*rand.Float64()))
		select {
		case <-ctx.Done():
			return
		case <-time.After(jitter):
		}
	}
}
