package policy_test

import (
	"testing"

	"github.com/gridflow/gridflow/pkg/policy"
)

// The lead unit of an open source place (issue 20) reads the linked tasks
// and their cases; only reads fill Leads, so a write's facts (without them)
// still confine a department to its own tasks.
func TestLeadsExtendADepartmentsReads(t *testing.T) {
	t.Parallel()
	lead := policy.Scope{Kind: policy.Department, Code: "310106-sthjj"}
	other := policy.Scope{Kind: policy.Department, Code: "310106022-lhsrs"}
	read := policy.CaseFacts{District: "310106", Street: "310106022", Departments: []string{"310106022-pcs"}, Leads: []string{"310106-sthjj"}}
	write := read
	write.Leads = nil
	for _, tc := range []struct {
		name string
		got  bool
		want bool
	}{
		{"the lead reads the linked case", lead.AllowsCase(read), true},
		{"the lead reads the station's linked task", lead.AllowsTask("310106022-pcs", read), true},
		{"the lead acts on the station's task: no", lead.AllowsTask("310106022-pcs", write), false},
		{"another unit reads the linked case: no", other.AllowsCase(read), false},
		{"another unit reads the station's task: no", other.AllowsTask("310106022-pcs", read), false},
		{"the holder reads its own task", policy.Scope{Kind: policy.Department, Code: "310106022-pcs"}.AllowsTask("310106022-pcs", read), true},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}
