package grpcapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/auth"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/testing/protocmp"

	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// asPerson is as, with a token that names the person behind the principal.
func (e *env) asPerson(t *testing.T, p auth.Principal) (intakev1.IntakeServiceClient, context.Context) {
	t.Helper()
	tok, err := e.signer.Issue(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return intakev1.NewIntakeServiceClient(e.conn), metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

// The person a credential names is the actor of the events their calls
// cause; request ids stay scoped to the principal, so a colleague retrying
// the same request gets the first result.
func TestPersonIsTheActor(t *testing.T) {
	e := setup(t)
	agent := auth.Principal{Role: auth.RoleHotline, Person: auth.Person{ID: "a-0107", Name: "陈静"}}
	c, ctx := e.asPerson(t, agent)
	if _, err := c.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: order("T-PERSON")}); err != nil {
		t.Fatal(err)
	}
	env, _ := e.event(t, "grid.case.received.310106.310106022")
	want := &typesv1.Principal{Role: "hotline", Person: &typesv1.Person{Id: "a-0107", Name: "陈静"}}
	if diff := cmp.Diff(want, env.GetActor(), protocmp.Transform()); diff != "" {
		t.Errorf("case.received actor mismatch (-want +got):\n%s", diff)
	}

	colleague := auth.Principal{Role: auth.RoleHotline, Person: auth.Person{ID: "a-0110", Name: "周敏"}}
	c2, ctx2 := e.asPerson(t, colleague)
	req := &intakev1.AddFollowUpRequest{RequestId: "fu-p", Case: &intakev1.AddFollowUpRequest_HotlineOrderNo{HotlineOrderNo: "T-PERSON"},
		Kind: intakev1.FollowUpKind_FOLLOW_UP_KIND_URGE}
	first, err := c2.AddFollowUp(ctx2, req)
	if err != nil {
		t.Fatal(err)
	}
	env, _ = e.event(t, "grid.case.followed_up.310106.310106022")
	want = &typesv1.Principal{Role: "hotline", Person: &typesv1.Person{Id: "a-0110", Name: "周敏"}}
	if diff := cmp.Diff(want, env.GetActor(), protocmp.Transform()); diff != "" {
		t.Errorf("case.followed_up actor mismatch (-want +got):\n%s", diff)
	}
	again, err := c.AddFollowUp(ctx, req) // the first agent retries the colleague's request
	if err != nil || again.GetFollowUp().GetFollowUpId() != first.GetFollowUp().GetFollowUpId() {
		t.Errorf("the same request id on the same principal = %v, %v; want the first follow-up", again, err)
	}
}
