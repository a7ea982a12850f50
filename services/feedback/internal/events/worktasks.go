package events

import "github.com/gridflow/gridflow/services/feedback/internal/feedback"

// notCaseWork reports an event feedback acknowledges without keeping it in
// a case's log (issue 20, work tasks): a grid worker's own task — a
// re-check or an inspection, whose task events name the unit "worker"; the
// re-check itself reaches the case as case.rechecked — an inspection
// recorded or missed, and a place of classify's registry.
func notCaseWork(e feedback.Event) bool {
	switch e.Fact.(type) {
	case *feedback.PlaceUpserted, *feedback.InspectionRecorded, *feedback.InspectionMissed:
		return true
	}
	return e.Department == workerUnit
}

// workerUnit is the unit token of grid workers' tasks.
const workerUnit = "worker"
