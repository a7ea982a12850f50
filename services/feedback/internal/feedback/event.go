package feedback

import "time"

// Event is one stored event as the domain reads it: the envelope's common
// fields and the facts of its payload that feedback uses. Raw keeps the
// envelope as it was stored, the source for rebuilding views.
type Event struct {
	ID     string
	Seq    int64 // position in feedback's log; 0 until stored
	Type   string
	CaseID string
	At     time.Time
	Actor  string

	CaseNumber string
	Area       Area
	// Feedback's own events name the case fully for their consumers.
	Source         Source
	HotlineOrderNo string
	PrimaryCaseID  string
	// Local events stay in feedback's log and are never published.
	Local bool

	// Timeline details.
	Summary      string
	Rule         string
	ModelVersion string
	ClassVersion int
	TaskID       string
	Department   string

	Received   *ReceivedFact
	Classified *ClassifiedFact
	Grouped    *GroupedFact
	FollowUp   *FollowUpFact
	Task       *TaskFact

	// Dispatcher decisions and feedback's own events.
	Reason      string
	Round       int
	Reply       *Reply
	Callback    *Callback
	Recheck     *Recheck
	CallbackDue time.Time
	RetryAt     time.Time
	// Reopened: the merged case whose callback caused it.
	CauseCaseID string
	Note        string
	// Closed by a callback: its rating.
	Satisfaction Satisfaction
	// Resolved: the lead task and every part.
	LeadTaskID string
	Results    []Result

	Raw []byte
}

// ReceivedFact is what case.received (or case.answered) says.
type ReceivedFact struct {
	Number, HotlineOrderNo string
	Source                 Source
	Area                   Area
	AppealType, Urgency    string
	Title, PlaceKey        string
	NoCallback             bool
	ReceivedAt             time.Time
}

// ClassifiedFact is one classification version.
type ClassifiedFact struct {
	Version                                 int
	ItemCode, ItemName, HotlineClass        string
	ModelVersion, IncidentID, PrimaryCaseID string
	Urgency                                 string
	Source                                  Source
	ReceivedAt                              time.Time
}

// GroupedFact is a case joining an incident.
type GroupedFact struct {
	IncidentID, PrimaryCaseID string
}

// FollowUpFact is a hotline follow-up.
type FollowUpFact struct {
	ID       string
	Withdraw bool
	Text     string
}

// TaskFact is a task event's snapshot of its task.
type TaskFact struct {
	ID, Department, Role, State, Review string
	Round                               int
	AckDue, CompleteDue                 time.Time
	Overdue                             bool
	Result                              string
	Evidence                            []string
	Granted                             bool
	NewDue                              time.Time
	Text                                string
}

// Recheck is a patrol re-check.
type Recheck struct {
	ID, WorkerID, Note string
	Passed             bool
	Photos             []string
}
