//go:build bench

package e2e

import (
	"context"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// routineBackends runs the PostgreSQL backends that serve the routine
// stages at their lower CPU priority (README, "Scheduling groups"): the
// postmaster starts a session of its own, so every backend shares one
// scheduling group, and there an emergency lane's commit competes with the
// routine stages' statements unless they yield. Backends are told apart
// by application_name: gridflow-<schema>, and gridflow-<svc>-emergency for
// the emergency lanes (startLanes). Twice a second it renices the routine
// backends it has not seen yet (a pool opens connections as it needs
// them), until the returned function is called.
func routineBackends(t *testing.T, dbURL string, nice int, routine []string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		db, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Logf("routine backends' priority: %v", err)
			return
		}
		defer db.Close(context.Background())
		seen := map[int]bool{}
		tk := time.NewTicker(500 * time.Millisecond)
		defer tk.Stop()
		for {
			backends, err := pgBackends(ctx, db)
			if err != nil && ctx.Err() == nil {
				t.Logf("routine backends' priority: %v", err)
			}
			for pid, name := range backends {
				if seen[pid] || !slices.Contains(routine, name) {
					continue
				}
				seen[pid] = true
				if err := syscall.Setpriority(syscall.PRIO_PROCESS, pid, nice); err != nil {
					t.Logf("routine backends' priority: backend %d (%s): %v", pid, name, err)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}
