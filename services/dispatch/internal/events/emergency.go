package events

// The emergency lane (pkg/lane): an emergency case's received and
// classified events reach dispatch on a durable of their own, handled one
// at a time with no batching wait, so a routine backlog on ConsumerName
// never holds one back; its task.dispatched is relayed as the transaction
// commits, and the department's watch (WatchTasks) sees it at once. The
// handler is ConsumerName's.
const ConsumerEmergencies = "dispatch-emergencies"

// EmergencySubjects are the emergency lane of the case events dispatch
// creates tasks from.
var EmergencySubjects = []string{
	"grid.case.received.*.*.emergency",
	"grid.case.classified.*.*.emergency",
}
