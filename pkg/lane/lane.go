// Package lane is the emergency lane of the event subjects: an emergency
// case queues behind no routine work in any stage (issue 17).
//
// The events that carry a case towards its first task — case.received
// (intake) and case.classified (classify) — are published, for a case of
// emergency urgency, on their usual subject with one more routing key at the
// end:
//
//	grid.case.received.<district>.<street>            routine
//	grid.case.received.<district>.<street>.emergency  emergency
//
// Routine durables take exactly two routing keys after the event
// (Routine: grid.case.received.*.*); a durable of its own per stage takes
// the emergency lane (Emergency: grid.case.received.*.*.emergency), handled
// one message at a time with no batching wait. Every filter ending in ">"
// (feedback's grid.case.>, a subscriber's grid.case.received.>) still takes
// both lanes, so nothing that reads everything has to change; a street's
// screen that names both routing keys exactly (grid.*.*.<district>.<street>)
// adds grid.*.*.<district>.<street>.emergency.
//
// Task events keep their subjects: task.dispatched is the page, and a
// department's watch (grid.task.*.<dept>.>) sees it the moment it is stored.
package lane

import (
	"context"
	"fmt"
	"strings"
)

// Token is the routing key that marks the emergency lane.
const Token = "emergency"

// Subject is subject in the lane its case's urgency puts it in: unchanged
// for routine work, with the emergency token appended for an emergency.
func Subject(subject string, emergency bool) string {
	if !emergency {
		return subject
	}
	return subject + "." + Token
}

// IsEmergency reports whether subject is in the emergency lane.
func IsEmergency(subject string) bool { return strings.HasSuffix(subject, "."+Token) }

// Routine is the filter of the routine lane of an event's subjects, given
// as grid.<entity>.<event>: its district and street, nothing after.
func Routine(event string) string { return event + ".*.*" }

// Emergency is the filter of the emergency lane of an event's subjects.
func Emergency(event string) string { return event + ".*.*." + Token }

type emergencyKey struct{}

// WithEmergency marks ctx as the emergency lane's work: a transaction run
// with it (an emergency consumer's) has every event it enqueues published
// on the outbox's emergency path, whatever its subject — task.dispatched
// above all, the page that keeps its usual subject.
func WithEmergency(ctx context.Context) context.Context {
	return context.WithValue(ctx, emergencyKey{}, true)
}

// InEmergency reports whether ctx was marked by WithEmergency.
func InEmergency(ctx context.Context) bool {
	v, _ := ctx.Value(emergencyKey{}).(bool)
	return v
}

// Run is which lanes one process of a service runs (issue 17). A service
// whose stage has an emergency lane (classify, dispatch) can run it in a
// process of its own: on a loaded host an emergency then never waits for a
// CPU behind the routine work of its own process — that process's
// goroutines, which the Go scheduler runs first come, first served, and its
// threads, which the kernel schedules among everything else. A process
// that mostly sleeps is run at once when an emergency wakes it.
type Run struct {
	// Routine: the routine durables, the API, the timers and the rest of
	// the service's background work, and the outbox's poller.
	Routine bool
	// Emergency: the emergency lane's durables.
	Emergency bool
}

// The settings of Run.
const (
	RunAll       = "all"       // one process runs both lanes (the default)
	RunRoutine   = "routine"   // beside a process that runs RunEmergency
	RunEmergency = "emergency" // beside a process that runs RunRoutine
)

// EnvDecode implements go-envconfig's Decoder, so a bad setting stops the
// start; pkg/config names the variable (CLASSIFY_LANES, DISPATCH_LANES).
func (r *Run) EnvDecode(s string) error {
	switch s {
	case RunAll, "":
		*r = Run{Routine: true, Emergency: true}
	case RunRoutine:
		*r = Run{Routine: true}
	case RunEmergency:
		*r = Run{Emergency: true}
	default:
		return fmt.Errorf("lanes %q: want %s, %s or %s", s, RunAll, RunRoutine, RunEmergency)
	}
	return nil
}

// String is the setting r decodes from (the start's configuration line).
func (r Run) String() string {
	switch {
	case r.Routine && r.Emergency:
		return RunAll
	case r.Routine:
		return RunRoutine
	case r.Emergency:
		return RunEmergency
	}
	return "none"
}
