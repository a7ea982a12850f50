package outbox_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/outbox"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// While the stream cannot take events the relay reports its backlog and
// how old it is; once it can, the backlog drains to zero. Not parallel: it
// installs the global meter provider.
func TestRelayReportsItsBacklog(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	prev := otel.GetMeterProvider()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	t.Cleanup(func() { otel.SetMeterProvider(prev) })
	gauges := func() map[string]float64 {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if g, ok := m.Data.(metricdata.Gauge[float64]); ok && len(g.DataPoints) == 1 {
					got[m.Name] = g.DataPoints[0].Value
				}
			}
		}
		return got
	}
	waitFor := func(what string, cond func(map[string]float64) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for g := gauges(); !cond(g); g = gauges() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; gauges %v", what, g)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	pool, js := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := js.DeleteStream(ctx, natsjs.StreamGrid); err != nil {
		t.Fatal(err)
	}
	enqueue(t, pool, 0, 3, true)
	relay := outbox.NewRelay(pool, js, slog.New(slog.DiscardHandler), outbox.RelayOptions{PollInterval: 20 * time.Millisecond,
		GaugeInterval: 50 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()
	waitFor("a backlog of three, waiting", func(g map[string]float64) bool {
		return g[outbox.GaugePending] == 3 && g[outbox.GaugeOldestAge] > 0
	})
	if err := natsjs.EnsureStreams(ctx, js, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("the backlog to drain", func(g map[string]float64) bool {
		_, reported := g[outbox.GaugeOldestAge]
		return reported && g[outbox.GaugePending] == 0 && g[outbox.GaugeOldestAge] == 0
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
