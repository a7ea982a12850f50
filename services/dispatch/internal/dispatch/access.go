package dispatch

import (
	"context"
	"strings"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
)

// Who may call what, and over which cases and tasks.

// Scope is what a caller may see and steer.
type Scope struct {
	All        bool   // admin
	Department string // department:<code>: its own tasks
	District   string // district:<district>
	Street     string // dispatcher:<street>
}

func caller(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return auth.Principal{}, fault.New(fault.Unauthenticated, "no credential")
	}
	return p, nil
}

// department is the calling department's code.
func department(ctx context.Context) (auth.Principal, error) {
	p, err := caller(ctx)
	if err != nil {
		return p, err
	}
	if p.Role != auth.RoleDepartment {
		return p, fault.New(fault.PermissionDenied, "only a department (department:<code>) works tasks; %s may not", p)
	}
	return p, nil
}

// dispatcher returns the caller's dispatching scope.
func dispatcher(ctx context.Context) (auth.Principal, Scope, error) {
	p, err := caller(ctx)
	if err != nil {
		return p, Scope{}, err
	}
	switch p.Role {
	case auth.RoleAdmin:
		return p, Scope{All: true}, nil
	case auth.RoleDispatcher:
		return p, Scope{Street: p.Subject}, nil
	case auth.RoleDistrict:
		return p, Scope{District: p.Subject}, nil
	}
	return p, Scope{}, fault.New(fault.PermissionDenied, "only dispatchers (dispatcher:<street>, district:<district>, admin) may do this; %s may not", p)
}

// readScope is what a caller may read: departments their tasks, dispatchers
// their area.
func readScope(ctx context.Context) (Scope, error) {
	p, err := caller(ctx)
	if err != nil {
		return Scope{}, err
	}
	if p.Role == auth.RoleDepartment {
		return Scope{Department: p.Subject}, nil
	}
	_, sc, err := dispatcher(ctx)
	return sc, err
}

// AllowsCase reports whether the scope covers a case.
func (sc Scope) AllowsCase(c *Case) bool {
	switch {
	case sc.All:
		return true
	case sc.Street != "":
		return c.Area.Street == sc.Street
	case sc.District != "":
		return c.Area.District == sc.District || strings.HasPrefix(c.Area.Street, sc.District)
	}
	return false
}

// AllowsTask reports whether the scope covers a task of case c.
func (sc Scope) AllowsTask(t *Task, c *Case) bool {
	if sc.Department != "" {
		return t.Department == sc.Department
	}
	return sc.AllowsCase(c)
}

func denied(what string) error {
	return fault.New(fault.PermissionDenied, "%s is outside the caller's scope", what)
}
