package telemetry

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// Without an exporter spans are not recorded, yet they still carry trace ids
// that reach logs and event headers.
func TestWithoutExporterSpansHaveIDsButAreNotRecorded(t *testing.T) {
	t.Setenv("OTEL_TRACES_SAMPLER", "")
	tel, err := Setup(context.Background(), Config{Service: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	ctx, span := otel.Tracer("test").Start(context.Background(), "op")
	defer span.End()
	if span.IsRecording() {
		t.Error("span is recorded though nothing exports it")
	}
	if !span.SpanContext().HasTraceID() {
		t.Fatal("span has no trace id")
	}
	h := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, h)
	if h["traceparent"] == "" {
		t.Error("no traceparent propagated")
	}
}
