package dispatch

import (
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
)

// TestLeversKeepThePowerGuarantee: a dispatcher's Reassign and Arbitrate and
// a bureau's Forward naming a lead without the power the case's item needs
// are FAILED_PRECONDITION naming the missing power, and change nothing;
// co-handlers need no power.
func TestLeversKeepThePowerGuarantee(t *testing.T) {
	t.Parallel()
	// inArbitration: the noise case's lead rejected twice.
	inArbitration := func(t *testing.T) *fixture {
		f := routed(t)
		f.must(func(env *Env) error {
			_, _, err := f.c.Reject(env, f.taskOf(zj+"-pcs").ID, Rejection{Reason: NotMyArea, Area: lf})
			return err
		})
		f.must(func(env *Env) error {
			_, _, err := f.c.Reject(env, f.taskOf(lf+"-pcs").ID, Rejection{Reason: NotMyDuty})
			return err
		})
		return f
	}
	// atBureau: the police bureau leads the noise case and has signed for it.
	atBureau := func(t *testing.T) *fixture {
		f := routed(t)
		f.must(func(env *Env) error { _, err := f.c.Reassign(env, "", "310106-gafj", ""); return err })
		f.must(func(env *Env) error {
			_, err := f.c.Acknowledge(env, f.taskOf("310106-gafj").ID, time.Time{}, "")
			return err
		})
		return f
	}
	// fireLane: police lead, 城管 co-handles (占用消防通道, 09013).
	fireLane := func(t *testing.T) *fixture {
		recv := at("2026-03-02 10:00")
		f := newFixture(t, recv)
		f.must(func(env *Env) error { f.c.Received(env, "N", noiseFacts(recv, zj)); return nil })
		f.must(func(env *Env) error { f.c.Classified(env, "N", class(1, "09013", "", recv, zj)); return nil })
		return f
	}
	// unknownItem: classified as an item the reference data does not know.
	unknownItem := func(t *testing.T) *fixture {
		recv := at("2026-03-02 10:00")
		f := newFixture(t, recv)
		f.must(func(env *Env) error { f.c.Received(env, "N", noiseFacts(recv, zj)); return nil })
		f.must(func(env *Env) error { f.c.Classified(env, "N", class(1, "06999", "", recv, zj)); return nil })
		return f
	}
	tests := []struct {
		name  string
		setup func(*testing.T) *fixture
		op    func(f *fixture, env *Env) error
		want  string // in the FAILED_PRECONDITION message; "" : allowed
		lead  string // the lead afterwards
	}{
		{"reassign a noise case to the education bureau", routed,
			func(f *fixture, env *Env) error { _, err := f.c.Reassign(env, "", "310106-jyj", ""); return err },
			"310106-jyj may not lead case GF-20260302-000001: it lacks power public_security (公安) needed by H04001 噪声扰民", zj + "-pcs"},
		{"reassign the lead task by id", routed,
			func(f *fixture, env *Env) error {
				_, err := f.c.Reassign(env, f.taskOf(zj+"-pcs").ID, zj+"-cgzd", "")
				return err
			},
			"310106022-cgzd may not lead case GF-20260302-000001: it lacks power public_security", zj + "-pcs"},
		{"reassign to the street desk", routed,
			func(f *fixture, env *Env) error { _, err := f.c.Reassign(env, "", zj+"-cyzx", ""); return err },
			"310106022-cyzx may not lead", zj + "-pcs"},
		{"reassign to the district police bureau", routed,
			func(f *fixture, env *Env) error { _, err := f.c.Reassign(env, "", "310106-gafj", ""); return err },
			"", "310106-gafj"},
		{"reassign a co-handler's part to a unit without the power", fireLane,
			func(f *fixture, env *Env) error {
				_, err := f.c.Reassign(env, f.taskOf(zj+"-cgzd").ID, "310106-jyj", "")
				return err
			},
			"", zj + "-pcs"},
		{"arbitrate to the education bureau", inArbitration,
			func(f *fixture, env *Env) error { _, err := f.c.Arbitrate(env, "310106-jyj", ""); return err },
			"cannot arbitrate: 310106-jyj may not lead case GF-20260302-000001: it lacks power public_security", ""},
		{"arbitrate to the police bureau", inArbitration,
			func(f *fixture, env *Env) error { _, err := f.c.Arbitrate(env, "310106-gafj", ""); return err },
			"", "310106-gafj"},
		{"forward the lead to the bureau's traffic police", atBureau,
			func(f *fixture, env *Env) error {
				_, _, err := f.c.Forward(env, f.taskOf("310106-gafj").ID, "310106-jjzd", "")
				return err
			},
			"cannot forward: 310106-jjzd may not lead case GF-20260302-000001: it lacks power public_security", "310106-gafj"},
		{"forward the lead to a police station", atBureau,
			func(f *fixture, env *Env) error {
				_, _, err := f.c.Forward(env, f.taskOf("310106-gafj").ID, lf+"-pcs", "")
				return err
			},
			"", lf + "-pcs"},
		{"forward a co-handler's part to a unit without the power", fireLane,
			func(f *fixture, env *Env) error {
				if _, err := f.c.Reassign(env, f.taskOf(zj+"-cgzd").ID, "310106-gafj", ""); err != nil {
					return err
				}
				co := f.c.active("310106-gafj")
				if _, err := f.c.Acknowledge(env, co.ID, time.Time{}, ""); err != nil {
					return err
				}
				_, _, err := f.c.Forward(env, co.ID, "310106-jjzd", "")
				return err
			},
			"", zj + "-pcs"},
		{"an item the reference data does not know", unknownItem,
			func(f *fixture, env *Env) error { _, err := f.c.Reassign(env, "", "310106-gafj", ""); return err },
			"classified as 06999, which the reference data in force does not know", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := tt.setup(t)
			_, err := f.do(func(env *Env) error { return tt.op(f, env) })
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else if fault.KindOf(err) != fault.FailedPrecondition || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want FAILED_PRECONDITION with %q", err, tt.want)
			}
			lead := ""
			if l := f.c.lead(); l != nil {
				lead = l.Department
			}
			if lead != tt.lead {
				t.Errorf("lead %q, want %q", lead, tt.lead)
			}
			if l := f.c.lead(); l != nil {
				if err := refSet.CanLead(l.Department, f.c.Class.Item); err != nil {
					t.Errorf("the lead breaks the guarantee: %v", err)
				}
			}
		})
	}
}
