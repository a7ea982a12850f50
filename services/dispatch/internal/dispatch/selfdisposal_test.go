package dispatch

import (
	"testing"

	"github.com/gridflow/gridflow/pkg/reference"
)

// Self-disposal (issue 20): a case settled on the spot is never routed —
// whichever of its facts and classification comes first — until the grid's
// leader sends it back; then it is routed as any case, once.
func TestSelfDisposalIsHeldUntilSentBack(t *testing.T) {
	t.Parallel()
	recv := at("2026-03-02 10:00")
	settled := func() Facts {
		fs := noiseFacts(recv, zj)
		fs.SelfDisposed = true
		return fs
	}
	for _, order := range []string{"facts first", "classification first"} {
		t.Run(order, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, recv)
			received := func(env *Env) error { f.c.Received(env, "N", settled()); return nil }
			classified := func(env *Env) error {
				f.c.Classified(env, "N", class(1, "H04001", reference.Normal, recv, zj))
				return nil
			}
			if order == "facts first" {
				f.expect(nil, received)
				f.expect(nil, classified)
			} else {
				f.expect(nil, classified)
				f.expect(nil, received)
			}
			if f.c.Status != SelfDisposed || len(f.c.Tasks) != 0 || f.c.Queue != nil || f.c.RoutedWith != nil {
				t.Fatalf("held case: status %s, %d tasks, queue %v", f.c.Status, len(f.c.Tasks), f.c.Queue)
			}
			// A newer classification still routes nothing.
			f.expect(nil, func(env *Env) error {
				f.c.Classified(env, "N", class(2, "H04001", reference.Urgent, recv, zj))
				return nil
			})
			f.expect([]string{"task.dispatched " + zj + "-pcs"}, func(env *Env) error { f.c.SelfDisposalSentBack(env); return nil })
			if f.c.Status != CaseRouted {
				t.Errorf("status %s after sent back, want routed", f.c.Status)
			}
			// Redelivered: nothing more.
			f.expect(nil, func(env *Env) error { f.c.SelfDisposalSentBack(env); return nil })
		})
	}
}

// Sent back before its classification came in: routed when it does.
func TestSelfDisposalSentBackBeforeClassification(t *testing.T) {
	t.Parallel()
	recv := at("2026-03-02 10:00")
	f := newFixture(t, recv)
	fs := noiseFacts(recv, zj)
	fs.SelfDisposed = true
	f.expect(nil, func(env *Env) error { f.c.Received(env, "N", fs); return nil })
	f.expect(nil, func(env *Env) error { f.c.SelfDisposalSentBack(env); return nil })
	f.expect([]string{"task.dispatched " + zj + "-pcs"}, func(env *Env) error {
		f.c.Classified(env, "N", class(1, "H04001", reference.Normal, recv, zj))
		return nil
	})
}
