package live

import (
	"strings"
	"time"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// Early warning (issue 20): feedback's warnings, on
// grid.warning.<event>.<district>.<street>, reach the screens of the
// people answerable for the street — a scope that reaches the whole street
// (its dispatcher, its district, admin; pkg/policy's Scope.AllowsArea) —
// and whose street filter, if any, is that street. A warning is no case:
// it has no row to keep; each event is rendered once and sent as is.

// WarningRenderer renders a warning event for the screens: an HTML
// fragment.
type WarningRenderer func(env *eventsv1.Envelope) ([]byte, error)

// warningArea reads a warning event's subject: its district and street.
func warningArea(subject string) (district, street string, ok bool) {
	t := strings.Split(subject, ".")
	if len(t) != 5 || t[0] != "grid" || t[1] != "warning" {
		return "", "", false
	}
	return t[3], t[4], true
}

// applyWarning sends a warning event to the screens that may see it; false
// when subject is not a warning's.
func (h *Hub) applyWarning(subject string, seq uint64, env *eventsv1.Envelope) bool {
	_, street, ok := warningArea(subject)
	if !ok {
		return false
	}
	if h.renderWarning == nil || known(street) == "" {
		return true
	}
	h.mu.Lock()
	var screens []*Screen
	for s := range h.screens {
		if !s.Wall && s.Scope.AllowsArea(street) && (s.Filter.Street == "" || s.Filter.Street == street) {
			screens = append(screens, s)
		}
	}
	h.mu.Unlock()
	if len(screens) == 0 {
		return true
	}
	b, err := h.renderWarning(env)
	h.renders.Add(1)
	if err != nil || b == nil {
		h.log.Error("live: warning render failed", "subject", subject, "err", err)
		return true
	}
	m := Message{Sequence: seq, HTML: b, Warning: true, Published: time.Now()}
	var late []*Screen
	for _, s := range screens {
		if !h.send(s, m) {
			late = append(late, s)
		}
	}
	if len(late) > 0 {
		h.mu.Lock()
		for _, s := range late {
			h.closeLocked(s)
		}
		h.mu.Unlock()
		h.dropped.Add(int64(len(late)))
	}
	return true
}
