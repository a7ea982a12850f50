package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// The runner reports its consumer's lag and dead letters as the server
// counts them. Not parallel: it installs the global meter provider.
func TestGaugesReportLagAndDeadLetters(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	prev := otel.GetMeterProvider()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	t.Cleanup(func() { otel.SetMeterProvider(prev) })

	e := setup(t, nil)
	release := make(chan struct{})
	h := func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		if msg.EventID == "ev-bad" {
			return consumer.Permanent(errors.New("poison"))
		}
		<-release
		return nil
	}
	r, err := consumer.New(e.js, e.pool, consumer.Config{Name: "test-gauges", Subjects: []string{subject},
		GaugeInterval: 50 * time.Millisecond}, h, e.log)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		e.publish(t, fmt.Sprintf("ev-%d", i), "x", nil)
	}
	e.publish(t, "ev-bad", "x", nil)
	start(t, r)
	gauges := func() map[string]float64 {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if g, ok := m.Data.(metricdata.Gauge[float64]); ok {
					for _, dp := range g.DataPoints {
						if v, _ := dp.Attributes.Value("consumer"); v.AsString() == "test-gauges" {
							got[m.Name] = dp.Value
						}
					}
				}
			}
		}
		return got
	}
	// The first message holds the only worker: all six are delivered and
	// unacked.
	eventually(t, "six messages ack-pending", func() bool { return gauges()[consumer.GaugeAckPending] == 6 })
	if g := gauges(); g[consumer.GaugePending] != 0 || g[consumer.GaugeDeadLetters] != 0 {
		t.Errorf("gauges %v, want nothing pending undelivered and no dead letter yet", g)
	}
	close(release)
	eventually(t, "the consumer to settle with one dead letter", func() bool {
		g := gauges()
		return g[consumer.GaugeAckPending] == 0 && g[consumer.GaugePending] == 0 && g[consumer.GaugeDeadLetters] == 1
	})
}
