package web

import feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"

// Self-disposal (issue 20): the state's name on the console's pages.
func init() {
	stateNames[feedbackv1.CaseState_CASE_STATE_SELF_DISPOSED] = "自行处置待核查"
}
