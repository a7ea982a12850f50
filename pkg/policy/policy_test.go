package policy_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	_ "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	_ "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	_ "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
)

// servedMethods walks the generated descriptors of every gridflow service
// linked into this test and returns their full method names.
func servedMethods(t *testing.T) (methods []string, services []string) {
	t.Helper()
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "gridflow.") {
			return true
		}
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			services = append(services, string(sd.FullName()))
			for j := range sd.Methods().Len() {
				methods = append(methods, "/"+string(sd.FullName())+"/"+string(sd.Methods().Get(j).Name()))
			}
		}
		return true
	})
	slices.Sort(methods)
	slices.Sort(services)
	return methods, services
}

// TestTableCoversEveryRPC fails when an RPC of a gridflow service is missing
// from the table (it would be refused to everyone) or when the table names
// a method no service has.
func TestTableCoversEveryRPC(t *testing.T) {
	t.Parallel()
	served, _ := servedMethods(t)
	if len(served) == 0 {
		t.Fatal("no gridflow service descriptors found")
	}
	table := policy.Methods()
	for _, m := range served {
		if !slices.Contains(table, m) {
			t.Errorf("%s is served but not in the policy table: add its row", m)
		}
	}
	for _, m := range table {
		if !slices.Contains(served, m) {
			t.Errorf("the policy table names %s, which no service has", m)
		}
		if len(policy.Roles(m)) == 0 {
			t.Errorf("%s: a row that names nobody", m)
		}
		if slices.Contains(policy.Roles(m), auth.RoleSystem) {
			t.Errorf("%s names system: no service calls another (see the package doc)", m)
		}
	}
}

// TestEveryServiceIsWalked fails when a .proto file declares a service whose
// generated code the walk above does not see (a new service not linked into
// this test).
func TestEveryServiceIsWalked(t *testing.T) {
	t.Parallel()
	_, walked := servedMethods(t)
	files, err := filepath.Glob("../../proto/gridflow/*/v*/*.proto")
	if err != nil || len(files) == 0 {
		t.Fatalf("no proto files found: %v", err)
	}
	pkgRe, svcRe := regexp.MustCompile(`(?m)^package ([\w.]+);`), regexp.MustCompile(`(?m)^service (\w+) \{`)
	var declared []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pkg := pkgRe.FindSubmatch(b)
		for _, s := range svcRe.FindAllSubmatch(b, -1) {
			declared = append(declared, string(pkg[1])+"."+string(s[1]))
		}
	}
	slices.Sort(declared)
	if diff := cmp.Diff(declared, walked); diff != "" {
		t.Errorf("services declared in proto/ vs walked here mismatch (-declared +walked): import the new service's package in this test\n%s", diff)
	}
}

func principal(t *testing.T, s string) auth.Principal {
	t.Helper()
	p, err := auth.ParsePrincipal(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	t.Parallel()
	get := policy.Method(policy.DispatchService, "GetTask")
	tests := []struct {
		principal, method string
		want              policy.Scope
		denied            string // a part of the refusal's message
	}{
		{"department:310106022-cgzd", get, policy.Scope{Kind: policy.Department, Code: "310106022-cgzd"}, ""},
		{"dispatcher:310106022", get, policy.Scope{Kind: policy.Street, Code: "310106022"}, ""},
		{"district:310106", get, policy.Scope{Kind: policy.District, Code: "310106"}, ""},
		{"admin", get, policy.Scope{Kind: policy.All}, ""},
		{"hotline", get, policy.Scope{}, "only department:<code>, dispatcher:<street>, district:<district>, admin may"},
		{"system:feedback", get, policy.Scope{}, "system:feedback may not call DispatchService/GetTask"},
		{"admin", "/gridflow.dispatch.v1.DispatchService/Nope", policy.Scope{}, "not in the access policy"},
		{"admin", "/grpc.health.v1.Health/Check", policy.Scope{}, "not in the access policy"},
		{"hotline", policy.Method(policy.FeedbackService, "GetCase"), policy.Scope{Kind: policy.Hotline}, ""},
		{"patrol:w-1", policy.Method(policy.FeedbackService, "GetCase"), policy.Scope{Kind: policy.Reporter, Code: "w-1"}, ""},
		{"secretary:310106022001", policy.Method(policy.IntakeService, "GetSubmission"), policy.Scope{Kind: policy.Community, Code: "310106022001"}, ""},
		{"department:310106022-cgzd", policy.Method(policy.IntakeService, "GetSubmission"), policy.Scope{}, "may not call IntakeService/GetSubmission"},
	}
	for _, tt := range tests {
		got, err := policy.Check(principal(t, tt.principal), tt.method)
		switch {
		case tt.denied == "" && err != nil:
			t.Errorf("%s → %s: %v, want allowed", tt.principal, tt.method, err)
		case tt.denied != "" && (fault.KindOf(err) != fault.PermissionDenied || !strings.Contains(err.Error(), tt.denied)):
			t.Errorf("%s → %s: %v, want PERMISSION_DENIED saying %q", tt.principal, tt.method, err, tt.denied)
		case got != tt.want:
			t.Errorf("%s → %s: scope %v, want %v", tt.principal, tt.method, got, tt.want)
		}
	}
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	get := policy.Method(policy.FeedbackService, "GetCase")
	if _, _, err := policy.Authorize(context.Background(), get); fault.KindOf(err) != fault.Unauthenticated {
		t.Errorf("no credential: %v, want UNAUTHENTICATED", err)
	}
	ctx := auth.WithPrincipal(context.Background(), principal(t, "hotline"))
	if _, sc, err := policy.Authorize(ctx, get); err != nil || sc.Kind != policy.Hotline {
		t.Errorf("hotline without the interceptor: %v %v, want the table's hotline scope", sc, err)
	}
	// The interceptor's scope is used for the method it let through only.
	ctx = policy.WithScope(ctx, get, policy.Scope{Kind: policy.Street, Code: "x"})
	if _, sc, _ := policy.Authorize(ctx, get); sc.Code != "x" {
		t.Errorf("scope from the context: %v", sc)
	}
	if _, _, err := policy.Authorize(ctx, policy.Method(policy.DispatchService, "Reassign")); fault.KindOf(err) != fault.PermissionDenied {
		t.Errorf("another method: %v, want the table's PERMISSION_DENIED", err)
	}
}

func TestAllowsCase(t *testing.T) {
	t.Parallel()
	hotlineZJ := policy.CaseFacts{Source: "hotline", District: "310106", Street: "310106022", Community: "310106022001",
		Departments: []string{"310106022-cgzd", "310106-zjj"}}
	patrolLF := policy.CaseFacts{Source: "patrol", District: "310106", Street: "310106021", Community: "310106021002", Worker: "w-7"}
	unknownStreet := policy.CaseFacts{Source: "hotline", District: "310106", Street: "0", Community: "0"}
	unknownAll := policy.CaseFacts{Source: "hotline", District: "0", Street: "0", Community: "0"}
	unknownEmpty := policy.CaseFacts{Source: "hotline"}
	otherDistrict := policy.CaseFacts{Source: "secretary", District: "310101", Street: "310101002", Community: "310101002003"}
	cases := []policy.CaseFacts{hotlineZJ, patrolLF, unknownStreet, unknownAll, unknownEmpty, otherDistrict}
	tests := []struct {
		scope policy.Scope
		want  []bool // per case above
	}{
		{policy.Scope{Kind: policy.All}, []bool{true, true, true, true, true, true}},
		{policy.Scope{Kind: policy.Hotline}, []bool{true, false, true, true, true, false}},
		{policy.Scope{Kind: policy.Street, Code: "310106022"}, []bool{true, false, false, false, false, false}},
		{policy.Scope{Kind: policy.Street, Code: "310106021"}, []bool{false, true, false, false, false, false}},
		{policy.Scope{Kind: policy.District, Code: "310106"}, []bool{true, true, true, true, true, false}},
		{policy.Scope{Kind: policy.District, Code: "310101"}, []bool{false, false, false, true, true, true}},
		{policy.Scope{Kind: policy.Department, Code: "310106022-cgzd"}, []bool{true, false, false, false, false, false}},
		{policy.Scope{Kind: policy.Department, Code: "310106021-cgzd"}, []bool{false, false, false, false, false, false}},
		{policy.Scope{Kind: policy.Community, Code: "310106022001"}, []bool{true, false, false, false, false, false}},
		{policy.Scope{Kind: policy.Community, Code: "310101002003"}, []bool{false, false, false, false, false, true}},
		{policy.Scope{Kind: policy.Reporter, Code: "w-7"}, []bool{false, true, false, false, false, false}},
		{policy.Scope{Kind: policy.Reporter, Code: "w-8"}, []bool{false, false, false, false, false, false}},
		{policy.Scope{}, []bool{false, false, false, false, false, false}},
		// A scoped kind without its code reaches nothing.
		{policy.Scope{Kind: policy.Street}, []bool{false, false, false, false, false, false}},
		{policy.Scope{Kind: policy.Department}, []bool{false, false, false, false, false, false}},
	}
	for _, tt := range tests {
		var got []bool
		for _, c := range cases {
			got = append(got, tt.scope.AllowsCase(c))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%v: AllowsCase mismatch (-want +got):\n%s", tt.scope, diff)
		}
	}
}

func TestAllowsTaskAndArea(t *testing.T) {
	t.Parallel()
	c := policy.CaseFacts{Source: "hotline", District: "310106", Street: "310106022", Departments: []string{"a", "b"}}
	dept := policy.Scope{Kind: policy.Department, Code: "a"}
	if !dept.AllowsTask("a", c) || dept.AllowsTask("b", c) {
		t.Error("a department reaches its own task of a case only")
	}
	street := policy.Scope{Kind: policy.Street, Code: "310106022"}
	if !street.AllowsTask("b", c) {
		t.Error("a street dispatcher reaches every task of its street's cases")
	}
	for _, tt := range []struct {
		scope policy.Scope
		area  string
		want  bool
	}{
		{street, "310106022", true}, {street, "310106022001", true}, {street, "310106022001001", true},
		{street, "310106021", false}, {street, "310106", false}, {street, "", false},
		{policy.Scope{Kind: policy.District, Code: "310106"}, "310106021001", true},
		{policy.Scope{Kind: policy.District, Code: "310106"}, "", false},
		{policy.Scope{Kind: policy.All}, "", true},
		{policy.Scope{Kind: policy.Hotline}, "310106", false},
		{policy.Scope{Kind: policy.Department, Code: "a"}, "310106", false},
	} {
		if got := tt.scope.AllowsArea(tt.area); got != tt.want {
			t.Errorf("%v.AllowsArea(%q) = %v, want %v", tt.scope, tt.area, got, tt.want)
		}
	}
}

func TestWhere(t *testing.T) {
	t.Parallel()
	cols := policy.Columns{Source: "source", District: "district", Street: "street", Community: "community", Worker: "worker",
		Department: "%s = ANY(departments)"}
	tests := []struct {
		scope policy.Scope
		cols  policy.Columns
		want  string
		args  []any
	}{
		{policy.Scope{Kind: policy.All}, cols, "TRUE", nil},
		{policy.Scope{Kind: policy.Hotline}, cols, "source = $1", []any{"hotline"}},
		{policy.Scope{Kind: policy.Street, Code: "s"}, cols, "street = $1", []any{"s"}},
		{policy.Scope{Kind: policy.District, Code: "d"}, cols,
			"(district = $1 OR starts_with(street, $1) OR (district IN ('', '0') AND street IN ('', '0')))", []any{"d"}},
		{policy.Scope{Kind: policy.Department, Code: "x"}, cols, "$1 = ANY(departments)", []any{"x"}},
		{policy.Scope{Kind: policy.Community, Code: "c"}, cols, "community = $1", []any{"c"}},
		{policy.Scope{Kind: policy.Reporter, Code: "w"}, cols, "(source = $1 AND worker = $2)", []any{"patrol", "w"}},
		{policy.Scope{}, cols, "FALSE", nil},
		// A store without the fact a scope needs shows it nothing.
		{policy.Scope{Kind: policy.Department, Code: "x"}, policy.Columns{Street: "street"}, "FALSE", nil},
		{policy.Scope{Kind: policy.Street}, cols, "FALSE", nil},
	}
	for _, tt := range tests {
		var args []any
		got := tt.scope.Where(tt.cols, func(v any) string { args = append(args, v); return "$" + string(rune('0'+len(args))) })
		if got != tt.want || !cmp.Equal(args, tt.args) {
			t.Errorf("%v: Where = %q %v, want %q %v", tt.scope, got, args, tt.want, tt.args)
		}
	}
}

func TestMissing(t *testing.T) {
	t.Parallel()
	nf := fault.NotFoundf("cases/x", "no case x")
	if err := (policy.Scope{Kind: policy.All}).Missing("case x", nf); fault.KindOf(err) != fault.NotFound {
		t.Errorf("admin: %v, want NOT_FOUND", err)
	}
	missing := (policy.Scope{Kind: policy.Street, Code: "s"}).Missing("case x", nf)
	if diff := cmp.Diff(policy.ErrDenied("case x").Error(), missing.Error()); diff != "" || fault.KindOf(missing) != fault.PermissionDenied {
		t.Errorf("scoped: %v, want the same PERMISSION_DENIED as out of scope", missing)
	}
}
