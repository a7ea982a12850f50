package policy_test

import (
	"testing"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/policy"
)

// The public's reach (issue 19): the public-source cases, whatever key; no
// hotline case, no other door's.
func TestPublicScope(t *testing.T) {
	t.Parallel()
	p := auth.Principal{Role: auth.RolePublic, Subject: "k-01"}
	sc := policy.ScopeOf(p)
	if sc.Kind != policy.Public {
		t.Fatalf("scope of %s: %v", p, sc)
	}
	for src, want := range map[string]bool{"public": true, "hotline": false, "patrol": false, "secretary": false, "": false} {
		if got := sc.AllowsCase(policy.CaseFacts{Source: src, District: "310106", Street: "310106022"}); got != want {
			t.Errorf("AllowsCase(source %q) = %v, want %v", src, got, want)
		}
	}
	if sc.AllowsTask("310106022-cgzd", policy.CaseFacts{Source: "hotline"}) || sc.AllowsArea("310106") || sc.Area() != "" {
		t.Error("the public reaches a task, an area or a figure")
	}
	var args []any
	arg := func(v any) string { args = append(args, v); return "$1" }
	if got := sc.Where(policy.Columns{Source: "source", Street: "street"}, arg); got != "source = $1" || args[0] != "public" {
		t.Errorf("Where = %q %v", got, args)
	}
	if got := sc.Where(policy.Columns{Street: "street"}, arg); got != "FALSE" {
		t.Errorf("Where without a source column = %q, want FALSE", got)
	}
	// What the table lets it call: submit, read the catalogue, read the
	// public cases through feedback's public door, nothing else.
	for _, m := range policy.Methods() {
		_, err := policy.Check(p, m)
		want := map[string]bool{
			policy.Method(policy.PublicIntakeService, "SubmitPublicRequest"): true,
			policy.Method(policy.ClassifyService, "ListCatalogue"):           true,
			policy.Method(policy.ClassifyService, "GetCatalogueItem"):        true,
			policy.Method(policy.PublicCaseService, "ListPublicCases"):       true,
			policy.Method(policy.PublicCaseService, "GetPublicCase"):         true,
		}[m]
		if (err == nil) != want {
			t.Errorf("public calling %s: %v, want allowed=%v", m, err, want)
		}
	}
}
