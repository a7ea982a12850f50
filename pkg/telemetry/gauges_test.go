package telemetry

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// collect reads the gauges' current values by name.
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			g, ok := m.Data.(metricdata.Gauge[float64])
			if !ok {
				continue
			}
			for _, dp := range g.DataPoints {
				if v, _ := dp.Attributes.Value("consumer"); v.AsString() != "c-1" {
					t.Errorf("%s without its attribute: %v", m.Name, dp.Attributes)
				}
				got[m.Name] = dp.Value
			}
		}
	}
	return got
}

// Polled gauges report the last poll's values, nothing before the first
// poll or after a failed one, and stop with their context.
func TestPolledGauges(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	prev := otel.GetMeterProvider()
	otel.SetMeterProvider(mp)
	t.Cleanup(func() { otel.SetMeterProvider(prev) })

	var fail atomic.Bool
	var n atomic.Int64
	polled := make(chan struct{}, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		PolledGauges{Scope: "test", Attrs: []attribute.KeyValue{attribute.String("consumer", "c-1")},
			Gauges: map[string]string{"test_backlog": "rows waiting", "test_age_seconds": "oldest row's age"},
			Every:  20 * time.Millisecond,
			Poll: func(context.Context) (map[string]float64, error) {
				defer func() { polled <- struct{}{} }()
				if fail.Load() {
					return nil, errors.New("database away")
				}
				return map[string]float64{"test_backlog": float64(n.Add(1)), "test_age_seconds": 1.5}, nil
			}}.Run(ctx, slog.New(slog.DiscardHandler))
	}()
	<-polled
	<-polled
	got := collect(t, reader)
	if got["test_backlog"] < 1 || got["test_age_seconds"] != 1.5 {
		t.Errorf("gauges = %v, want the last poll's", got)
	}
	fail.Store(true)
	<-polled
	<-polled
	if got := collect(t, reader); len(got) != 0 {
		t.Errorf("after a failed poll the gauges report %v, want nothing", got)
	}
	cancel()
	<-done
}
