package auth

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Self-disposal (issue 20): a grid's leader is gridleader:<15-digit grid>.
func TestParsePrincipalGridLeader(t *testing.T) {
	t.Parallel()
	got, err := ParsePrincipal("gridleader:310106022001001")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Principal{Role: RoleGridLeader, Subject: "310106022001001"}, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"gridleader", "gridleader:310106022001", "gridleader:31010602200100x", "gridleader:3101060220010011"} {
		if _, err := ParsePrincipal(bad); err == nil {
			t.Errorf("ParsePrincipal(%q) accepted", bad)
		}
	}
}
