// Package logging builds the JSON slog logger every gridflow process uses.
// Each record made with a context that carries an OpenTelemetry span gets
// trace_id and span_id, so a log line leads to its trace. Phone numbers in
// the message, in string attributes and in errors are masked (pkg/redact)
// before the line is written: no code path can print a caller's clear
// phone, whatever text ends up in a log line.
package logging

import (
	"context"
	"io"
	"log/slog"

	"github.com/gridflow/gridflow/pkg/redact"

	"go.opentelemetry.io/otel/trace"
)

// New returns a JSON logger for service writing to w at level.
func New(w io.Writer, service string, level slog.Leveler) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: maskPhones})
	return slog.New(traceHandler{h}).With(slog.String("service", service))
}

// maskPhones masks phone numbers in every string and error a record
// carries (the message too: slog passes it here).
func maskPhones(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); redact.Text(s) != s {
			return slog.String(a.Key, redact.Text(s))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok && err != nil {
			if s := err.Error(); redact.Text(s) != s {
				return slog.String(a.Key, redact.Text(s))
			}
		}
	}
	return a
}

type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(attrs)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}
