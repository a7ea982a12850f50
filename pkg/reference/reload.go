package reference

import "time"

// ReloadOutcome is what became of one load of reference data by a running
// service.
type ReloadOutcome string

// Reload outcomes.
const (
	// Started: the set the service started with.
	Started ReloadOutcome = "started"
	// Reloaded: a reload swapped in a set with another digest.
	Reloaded ReloadOutcome = "reloaded"
	// Unchanged: a reload loaded the set already in force.
	Unchanged ReloadOutcome = "unchanged"
	// Failed: a reload did not load (a bad edit on disk); the set in force
	// stays.
	Failed ReloadOutcome = "failed"
)

// Reload records one load of reference data by a running service: who asked
// for it, when, what was in force before and after, and how it went. Every
// service records its own (pkg/reloadlog) so that a city can tell which
// rules each replica decided with at any time.
type Reload struct {
	// ID orders the records of one service (a serial).
	ID int64
	// Service is the service that loaded ("dispatch"); Instance the
	// process (host and pid), since replicas share the service's schema.
	Service  string
	Instance string
	At       time.Time
	// By is who asked: "start" for the set a process starts with, "SIGHUP"
	// for the hangup signal (the process cannot see who sent it: the
	// operator's host login is what names them), or a principal when an
	// RPC asked.
	By string
	// Digest is the set in force afterwards; Previous the one before ("" at
	// start). They are equal when the reload failed or changed nothing.
	Digest   string
	Previous string
	Outcome  ReloadOutcome
	// Error is why a reload failed: the loader's problems, each with its
	// file and line.
	Error string
}
