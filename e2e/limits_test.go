package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
)

// Intake as built and configured by default: a patrol worker's app in a
// loop is stopped after its burst with RESOURCE_EXHAUSTED and RetryInfo, and
// served again after the delay, while another worker and the hotline go on;
// a request over the size bound is refused before it is decoded.
func TestIntakeLimits(t *testing.T) {
	s := startStack(t, "intake")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w17 := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RolePatrol, Subject: "w-0017"}))
	w21 := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RolePatrol, Subject: "w-0021"}))
	hotline := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	get := func(c intakev1.IntakeServiceClient) error {
		_, err := c.GetSubmission(ctx, &intakev1.GetSubmissionRequest{Key: &intakev1.GetSubmissionRequest_CaseNumber{CaseNumber: "GF-20261203-000001"}})
		return err
	}

	// The default patrol bucket holds 30 and refills at 2/s.
	var refused error
	for i := range 40 {
		err := get(w17)
		if status.Code(err) == codes.ResourceExhausted {
			if i < 30 {
				t.Fatalf("refused at call %d, within the burst of 30", i+1)
			}
			refused = err
			break
		}
	}
	if refused == nil {
		t.Fatal("40 calls at once from one worker, none refused")
	}
	var retry time.Duration
	for _, d := range status.Convert(refused).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			retry = ri.GetRetryDelay().AsDuration()
		}
	}
	if retry <= 0 || retry > 500*time.Millisecond {
		t.Fatalf("RetryInfo delay %v, want in (0, 500ms] at 2/s: %v", retry, refused)
	}
	if err := get(w21); status.Code(err) == codes.ResourceExhausted {
		t.Errorf("w-0021 refused for w-0017's calls: %v", err)
	}
	for range 100 {
		if err := get(hotline); status.Code(err) == codes.ResourceExhausted {
			t.Fatalf("hotline refused: %v", err)
		}
	}
	time.Sleep(retry)
	if err := get(w17); status.Code(err) == codes.ResourceExhausted {
		t.Fatalf("refused again after the RetryInfo delay %v: %v", retry, err)
	}

	// GRIDFLOW_GRPC_MAX_RECV_BYTES, 4 MiB by default.
	big := workOrder("E2E-BIG-1")
	big.Content = strings.Repeat("噪", 2<<20) // 6 MiB of UTF-8
	_, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: big})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a 6 MiB work order: %v, want RESOURCE_EXHAUSTED", err)
	}
}
