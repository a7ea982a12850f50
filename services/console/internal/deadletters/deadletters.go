// Package deadletters counts GRID_DLQ's dead letters per durable consumer
// for the console's escalation board (issue 18), narrowed to what the
// signed-in person may see.
//
// It reads one thing: GRID_DLQ's stream info with a subjects filter, which
// answers a count per subject and no message — the least the console's
// NATS user needs (pkg/natsauth: every service user may read GRID_DLQ's
// info, for its own dead-letter gauge; the console reads no dead letter,
// so no citizen text and no personal data reach it this way). A dead
// letter's subject is dlq.<durable>.<original subject>, and the original
// ends in its routing keys (DESIGN.md, "Events and subjects"), so the
// counts are narrowed by area without reading a message: a street's
// dispatcher counts the dead letters of its street's subjects, a
// district's of its district's, admin every one.
package deadletters

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/services/console/internal/web"
	"github.com/nats-io/nats.go/jetstream"
)

// Counter counts dead letters through the console's JetStream connection.
type Counter struct {
	JS jetstream.JetStream
}

// Count returns the dead letters per durable that p may see, by durable
// name; durables without any are left out.
func (c Counter) Count(ctx context.Context, p auth.Principal) ([]web.DeadLetterCount, error) {
	st, err := c.JS.Stream(ctx, natsjs.StreamDLQ)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", natsjs.StreamDLQ, err)
	}
	// Info pages through the subjects itself (the server answers them in
	// pages when there are many).
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(consumer.DeadLetterPrefix+">"))
	if err != nil {
		return nil, fmt.Errorf("stream %s info: %w", natsjs.StreamDLQ, err)
	}
	scope := policy.ScopeOf(p)
	per := map[string]int{}
	for subject, n := range info.State.Subjects {
		durable, original, ok := consumer.DeadLetterSubject(subject)
		if !ok || !Visible(scope, durable, original) {
			continue
		}
		per[durable] += int(n)
	}
	out := make([]web.DeadLetterCount, 0, len(per))
	for d, n := range per {
		out = append(out, web.DeadLetterCount{Durable: d, Count: n})
	}
	slices.SortFunc(out, func(a, b web.DeadLetterCount) int { return strings.Compare(a.Durable, b.Durable) })
	return out, nil
}

// Visible reports whether scope may see a dead letter that durable left on
// original: admin sees every one; a street or district scope the ones
// whose subject's routing keys lie in its area; every other scope none
// (the board is the dispatchers'). A subject whose keys cannot be read
// (not one of DESIGN.md's forms) is admin's alone.
func Visible(scope policy.Scope, durable, original string) bool {
	if scope.Kind == policy.All {
		return true
	}
	// A replay that failed again may carry its replay subject.
	original = strings.TrimPrefix(original, consumer.ReplaySubject(durable, ""))
	district, street, ok := areaOf(original)
	if !ok {
		return false
	}
	switch scope.Kind {
	case policy.Street, policy.District:
		return scope.AllowsCase(policy.CaseFacts{District: district, Street: street})
	}
	return false
}

// areaOf reads the district and street keys of a grid subject:
// grid.case.<event>.<district>.<street>[.emergency],
// grid.incident.<event>.<district>.<street>,
// grid.task.<event>.<dept>.<district>.<street>.
func areaOf(subject string) (district, street string, ok bool) {
	t := strings.Split(subject, ".")
	if len(t) < 5 || t[0] != "grid" {
		return "", "", false
	}
	switch t[1] {
	case "case", "incident":
		return t[3], t[4], true
	case "task":
		if len(t) < 6 {
			return "", "", false
		}
		return t[4], t[5], true
	}
	return "", "", false
}
