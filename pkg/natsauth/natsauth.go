// Package natsauth says who may do what on NATS — one user per service and
// one per operator tool — and makes what the local stack needs to enforce
// it: an nkey per user (its seed in a file only that user's process reads)
// and nats-server's authorization block, which holds only public keys.
//
// The rules, for every service user:
//   - it publishes only the subjects it owns (DESIGN.md's event table) and
//     its own dead letters, dlq.<its durable>.>;
//   - it consumes only through its own durable consumers on GRID: it may
//     read the info of and pull from those, and ack their messages
//     ($JS.ACK.GRID.<durable>.>), and no other consumer. It cannot create,
//     change or delete a durable, its own included: the durables, with
//     their filters, are declared with the streams, so a service cannot
//     widen its own filter to read subjects it was not given;
//   - it receives replies only on its own inbox prefix, _INBOX_<service>.>
//     (it subscribes to nothing else: no live view of grid.> around
//     JetStream), so it cannot read the replies meant for another;
//   - it cannot read stream messages directly (STREAM.MSG.GET, DIRECT.GET)
//     and cannot create, change, purge or delete a stream.
//
// Streams and durable consumers are declared in one place, by the streams
// user (gridctl nats streams in the stack's setup step), from this table;
// services only look them up. The streams user also scrubs the streams
// (gridctl nats scrub-contacts): it reads GRID and GRID_DLQ through
// ephemeral ordered consumers, lists GRID's consumers (their ack floors),
// purges GRID and GRID_DLQ, deletes single dead letters and publishes their
// masked copies on dlq.>; it cannot pull from or delete a durable consumer.
// The
// operator user (gridctl) reads GRID and GRID_DLQ through ephemeral ordered
// consumers and may read any consumer's info (its lag), but cannot publish,
// pull from or change a durable consumer, or declare streams.
//
// The ops user (gridctl dlq replay) replays dead letters: it reads GRID_DLQ
// as the operator does, publishes a dead letter back on
// grid.replay.<durable>.<original subject> — which only that durable's
// filter takes (pkg/consumer) — and then deletes it from GRID_DLQ. It reads
// nothing of GRID and publishes no domain subject, so it cannot speak in a
// service's name to every consumer; the operator user, which reads
// everything, stays read-only. A separate user, rather than more rights for
// the operator, keeps the everyday reading seed harmless: the replay seed is
// handed only to whoever is on call.
//
// A service that watches its own events (dispatch's WatchTasks) may create
// ephemeral ordered consumers on GRID whose filter lies within what it
// publishes. The console, which publishes nothing, watches grid.> the same
// way for its live queue (one ordered consumer per process): it reads the
// events people are shown, as they are stored, and nothing else. Their names are random, so pulling from them needs
// CONSUMER.MSG.NEXT.GRID.*; every durable of the table that is not its own
// is then denied by name, so it still cannot pull from another's durable.
package natsauth

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nkeys"
)

// Stream names (natsjs's; repeated here so the table reads on its own).
const (
	streamGrid = "GRID"
	streamDLQ  = "GRID_DLQ"
)

// User names: the services', the operator's and the streams declarer's.
const (
	Intake   = "intake"
	Classify = "classify"
	Dispatch = "dispatch"
	Feedback = "feedback"
	Operator = "gridctl"
	Streams  = "streams"
	Ops      = "ops"
	// Console is the console's user: its live queue's reader.
	Console = "console"
)

// User is one NATS user and what it may do.
type User struct {
	// Name is the user's name, also its inbox prefix's suffix.
	Name string
	// Publish are the subjects it owns (DESIGN.md, "Events and subjects").
	Publish []string
	// Durables are the durable consumers it runs on GRID, with the
	// subjects each is given; each may also publish its dead letters.
	Durables []Durable
	// Watch are filters, within Publish, of the ephemeral ordered consumers
	// it may create on GRID (dispatch's feed of a department's tasks).
	Watch []string
	// Read marks the operator: ephemeral consumers on GRID and GRID_DLQ
	// with any filter, and every consumer's info.
	Read bool
	// DeclareStreams marks the one user that creates, updates and scrubs
	// GRID and GRID_DLQ.
	DeclareStreams bool
	// Replay marks the user that replays dead letters: it reads and deletes
	// from GRID_DLQ and publishes on grid.replay.>.
	Replay bool
}

// Durable is a durable consumer on GRID: its name, <service>-<purpose>,
// and its filter subjects. The service's consumer runs with exactly this
// filter; the setup step declares it.
type Durable struct {
	Name   string
	Filter []string
}

// Users is the whole table. A service's durable consumer or published
// subject that is missing here is refused by nats-server: add it here
// when a service starts consuming or publishing something new.
var Users = []User{
	{Name: Intake,
		Publish: []string{"grid.case.received.>", "grid.case.followed_up.>", "grid.case.answered.>", "grid.case.contact_read.>"},
		Durables: []Durable{{"intake-closures", []string{"grid.case.closed.>", "grid.case.reopened.>"}},
			// Only the task events that change who holds an open task
			// (intake's events.TaskSubjects).
			{"intake-tasks", []string{"grid.task.dispatched.>", "grid.task.rejected.>", "grid.task.forwarded.>",
				"grid.task.completed.>", "grid.task.completion_returned.>", "grid.task.withdrawn.>"}}}},
	// Classify and dispatch: routine work takes exactly the district and
	// street after the event; an emergency's subject has one more key and a
	// durable of its own (pkg/lane).
	{Name: Classify,
		Publish: []string{"grid.case.classified.>", "grid.case.review_needed.>", "grid.incident.>",
			// The place registry (issue 20): place.upserted, which dispatch's
			// worker tasks consume for inspection schedules.
			"grid.place.>"},
		Durables: []Durable{{"classify-cases", []string{"grid.case.received.*.*", "grid.case.answered.>"}},
			{"classify-emergencies", []string{"grid.case.received.*.*.emergency"}}}},
	{Name: Dispatch,
		Publish: []string{"grid.task.>", "grid.case.cancelled.>", "grid.case.parked.>", "grid.case.unparked.>",
			"grid.case.excluded.>", "grid.case.arbitration_opened.>", "grid.case.arbitrated.>"},
		Durables: []Durable{{"dispatch-cases", []string{"grid.case.received.*.*", "grid.case.classified.*.*",
			"grid.case.followed_up.>", "grid.case.reopened.>"}},
			{"dispatch-emergencies", []string{"grid.case.received.*.*.emergency", "grid.case.classified.*.*.emergency"}},
			// Grid workers' tasks (issue 20, work tasks): who reported a patrol
			// case, feedback's resolution, re-check, closing and reopening, and
			// classify's places (their inspection schedules).
			{"dispatch-worktasks", []string{"grid.case.received.>", "grid.case.resolved.>", "grid.case.rechecked.>",
				"grid.case.closed.>", "grid.case.reopened.>", "grid.place.upserted.>"}},
			// Source place coordination (issue 20): classify's links and leads.
			{"dispatch-coordination", []string{"grid.incident.linked.>", "grid.incident.source_place_lead.>"}}},
		Watch: []string{"grid.task.>"}},
	{Name: Feedback,
		Publish: []string{"grid.case.resolved.>", "grid.case.replied.>", "grid.case.callback_recorded.>",
			"grid.case.rechecked.>", "grid.case.reopened.>", "grid.case.closed.>", "grid.case.withdrawn.>",
			// Early warning (issue 20): feedback's warnings; the console
			// reads them through its watch on grid.>.
			"grid.warning.>"},
		// Every case, incident and task event but feedback's own (issue 17:
		// they came back to it only to be skipped as already logged);
		// services/feedback/internal/events.Subjects, which its tests keep
		// to the envelope's events and to Publish above.
		Durables: []Durable{{"feedback-events", []string{
			"grid.case.received.>", "grid.case.answered.>", "grid.case.followed_up.>", "grid.case.contact_read.>",
			"grid.case.classified.>", "grid.case.review_needed.>", "grid.incident.>",
			"grid.case.cancelled.>", "grid.case.parked.>", "grid.case.unparked.>", "grid.case.excluded.>",
			"grid.case.arbitration_opened.>", "grid.case.arbitrated.>", "grid.task.>"}},
			// The month's inspections (issue 20).
			{"feedback-inspections", []string{"grid.task.inspection_recorded.>", "grid.task.inspection_missed.>"}}}},
	// The console's live queue: one ephemeral ordered consumer on grid.>
	// per process (services/console/internal/live), no durable, nothing
	// published.
	// The escalation board's dead letters (issue 18): GRID_DLQ's counts per
	// subject through its stream info with a subjects filter
	// (services/console/internal/deadletters) — the STREAM.INFO every
	// service user holds for its dead-letter gauge, and nothing more: no
	// consumer on GRID_DLQ, no message read (TestConsoleCountsDeadLetters).
	{Name: Console, Watch: []string{"grid.>"}},
	{Name: Operator, Read: true},
	{Name: Streams, DeclareStreams: true},
	{Name: Ops, Replay: true},
}

// Lookup returns the named user of Users.
func Lookup(name string) (User, bool) {
	i := slices.IndexFunc(Users, func(u User) bool { return u.Name == name })
	if i < 0 {
		return User{}, false
	}
	return Users[i], true
}

// AllDurables lists every durable consumer of the table, for the setup
// step to declare.
func AllDurables() []Durable {
	var out []Durable
	for _, u := range Users {
		out = append(out, u.Durables...)
	}
	return out
}

// FilterOf is the filter subjects of the named durable consumer (nil when
// the table has none by that name).
func FilterOf(durable string) []string {
	for _, d := range AllDurables() {
		if d.Name == durable {
			return slices.Clone(d.Filter)
		}
	}
	return nil
}

// InboxPrefix is the user's inbox prefix (nats.CustomInboxPrefix): replies
// to its requests, and the messages it pulls, arrive below it.
func InboxPrefix(name string) string { return "_INBOX_" + name }

// Permissions are one user's nats-server permissions. Anything not allowed
// is refused; a deny wins over an allow.
type Permissions struct {
	PublishAllow   []string
	PublishDeny    []string
	SubscribeAllow []string
}

// Permissions derives u's permissions from the rules in the package doc;
// others are every user of the table (for the durables that are not u's).
func (u User) Permissions(others []User) Permissions {
	var p Permissions
	allow := func(s ...string) { p.PublishAllow = append(p.PublishAllow, s...) }
	allow("$JS.API.INFO") // readiness: JetStream answers
	allow(u.Publish...)
	for _, d := range u.Durables {
		allow("dlq."+d.Name+".>",
			"$JS.API.CONSUMER.INFO."+streamGrid+"."+d.Name,
			"$JS.API.CONSUMER.MSG.NEXT."+streamGrid+"."+d.Name,
			"$JS.ACK."+streamGrid+"."+d.Name+".>")
	}
	switch {
	case u.DeclareStreams:
		for _, s := range []string{streamGrid, streamDLQ} {
			allow("$JS.API.STREAM.CREATE."+s, "$JS.API.STREAM.UPDATE."+s, "$JS.API.STREAM.INFO."+s,
				// The scrub: read through ephemeral consumers, purge.
				"$JS.API.STREAM.PURGE."+s,
				"$JS.API.CONSUMER.CREATE."+s+".*", "$JS.API.CONSUMER.CREATE."+s+".*.>",
				"$JS.API.CONSUMER.INFO."+s+".*", "$JS.API.CONSUMER.DELETE."+s+".*",
				"$JS.API.CONSUMER.MSG.NEXT."+s+".*")
		}
		for _, o := range others {
			for _, d := range o.Durables {
				// The no-filter form serves consumers with several filter
				// subjects, the other form those with one.
				allow("$JS.API.CONSUMER.CREATE."+streamGrid+"."+d.Name,
					"$JS.API.CONSUMER.CREATE."+streamGrid+"."+d.Name+".>",
					"$JS.API.CONSUMER.INFO."+streamGrid+"."+d.Name)
			}
		}
		// The scrub: the ack floors of GRID's consumers, and dead letters
		// replaced by their masked copies.
		allow("$JS.API.CONSUMER.LIST."+streamGrid, "$JS.API.STREAM.MSG.DELETE."+streamDLQ, "dlq.>")
	case u.Read:
		for _, s := range []string{streamGrid, streamDLQ} {
			allow("$JS.API.STREAM.INFO."+s,
				"$JS.API.CONSUMER.CREATE."+s+".*", "$JS.API.CONSUMER.CREATE."+s+".*.>",
				"$JS.API.CONSUMER.INFO."+s+".*", "$JS.API.CONSUMER.DELETE."+s+".*",
				"$JS.API.CONSUMER.MSG.NEXT."+s+".*")
		}
	case u.Replay:
		s := streamDLQ
		allow("grid.replay.>", "$JS.API.STREAM.INFO."+s, "$JS.API.STREAM.MSG.DELETE."+s,
			"$JS.API.CONSUMER.CREATE."+s+".*", "$JS.API.CONSUMER.CREATE."+s+".*.>",
			"$JS.API.CONSUMER.INFO."+s+".*", "$JS.API.CONSUMER.DELETE."+s+".*",
			"$JS.API.CONSUMER.MSG.NEXT."+s+".*")
	default: // a service: it waits for the streams to exist
		allow("$JS.API.STREAM.INFO."+streamGrid, "$JS.API.STREAM.INFO."+streamDLQ)
	}
	if len(u.Watch) > 0 {
		for _, f := range u.Watch {
			allow("$JS.API.CONSUMER.CREATE." + streamGrid + ".*." + f)
		}
		allow("$JS.API.CONSUMER.INFO."+streamGrid+".*", "$JS.API.CONSUMER.DELETE."+streamGrid+".*",
			"$JS.API.CONSUMER.MSG.NEXT."+streamGrid+".*")
	}
	if len(u.Watch) > 0 || u.Read || u.DeclareStreams {
		// The wildcards above would reach every consumer: deny the
		// durables by name — deleting any of them; creating or changing any
		// (its own too: they are declared), except by the streams user,
		// which declares them; pulling from another's, and reading its
		// info unless u reads or declares.
		for _, o := range others {
			for _, d := range o.Durables {
				p.PublishDeny = append(p.PublishDeny, "$JS.API.CONSUMER.DELETE."+streamGrid+"."+d.Name)
				if !u.DeclareStreams {
					p.PublishDeny = append(p.PublishDeny,
						"$JS.API.CONSUMER.CREATE."+streamGrid+"."+d.Name, "$JS.API.CONSUMER.CREATE."+streamGrid+"."+d.Name+".>")
				}
				if slices.ContainsFunc(u.Durables, func(x Durable) bool { return x.Name == d.Name }) {
					continue
				}
				p.PublishDeny = append(p.PublishDeny, "$JS.API.CONSUMER.MSG.NEXT."+streamGrid+"."+d.Name)
				if !u.Read && !u.DeclareStreams {
					p.PublishDeny = append(p.PublishDeny, "$JS.API.CONSUMER.INFO."+streamGrid+"."+d.Name)
				}
			}
		}
	}
	p.SubscribeAllow = []string{InboxPrefix(u.Name) + ".>"}
	return p
}

// SeedFile is where Generate keeps the named user's nkey seed in dir.
func SeedFile(dir, name string) string { return filepath.Join(dir, name+".nk") }

// ConfigFile is the authorization block Generate writes in dir, for
// nats-server -c.
func ConfigFile(dir string) string { return filepath.Join(dir, "auth.conf") }

// Generate makes dir hold an nkey seed for every user of users (kept when
// it exists, so a restarted stack keeps its users; mode 0600) and writes
// the authorization block for their public keys to ConfigFile(dir).
func Generate(dir string, users []User) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	keys := map[string]string{}
	for _, u := range users {
		pub, err := ensureSeed(SeedFile(dir, u.Name))
		if err != nil {
			return fmt.Errorf("nats user %s: %w", u.Name, err)
		}
		keys[u.Name] = pub
	}
	conf, err := Config(users, keys)
	if err != nil {
		return err
	}
	tmp := ConfigFile(dir) + ".tmp"
	if err := os.WriteFile(tmp, conf, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, ConfigFile(dir))
}

// ensureSeed reads the user seed in path, making it first if it is
// missing, and returns its public key.
func ensureSeed(path string) (string, error) {
	seed, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		kp, err := nkeys.CreateUser()
		if err != nil {
			return "", err
		}
		if seed, err = kp.Seed(); err != nil {
			return "", err
		}
		// O_EXCL: two setups racing do not overwrite each other's seed.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return "", err
		}
		_, werr := f.Write(append(seed, '\n'))
		if err := errors.Join(werr, f.Close()); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}
	kp, err := nkeys.FromSeed(bytes.TrimSpace(seed))
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return kp.PublicKey()
}

// Config renders nats-server's authorization block for users, each by its
// public key in keys (name → key). It holds no secret.
func Config(users []User, keys map[string]string) ([]byte, error) {
	var b strings.Builder
	b.WriteString("# Generated by gridctl nats users (pkg/natsauth): one nkey user per gridflow service and\n" +
		"# operator tool. Do not edit: change pkg/natsauth's table and generate it again.\n")
	b.WriteString("authorization {\n  users = [\n")
	for _, u := range users {
		key, ok := keys[u.Name]
		if !ok || !nkeys.IsValidPublicUserKey(key) {
			return nil, fmt.Errorf("nats user %s: no valid public key", u.Name)
		}
		p := u.Permissions(users)
		fmt.Fprintf(&b, "    # %s\n    {\n      nkey: %s\n      permissions: {\n", u.Name, strconv.Quote(key))
		fmt.Fprintf(&b, "        publish: {\n          allow: %s\n", list(p.PublishAllow))
		if len(p.PublishDeny) > 0 {
			fmt.Fprintf(&b, "          deny: %s\n", list(p.PublishDeny))
		}
		fmt.Fprintf(&b, "        }\n        subscribe: { allow: %s }\n      }\n    }\n", list(p.SubscribeAllow))
	}
	b.WriteString("  ]\n}\n")
	return []byte(b.String()), nil
}

// list renders subjects quoted, so that nats-server's config reader takes
// $JS… literally rather than as a variable.
func list(subjects []string) string {
	q := make([]string, len(subjects))
	for i, s := range subjects {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
