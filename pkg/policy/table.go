package policy

import (
	"slices"
	"strings"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
)

// The services' full gRPC names; a method's is "/" + service + "/" + RPC.
const (
	IntakeService   = "gridflow.intake.v1.IntakeService"
	ClassifyService = "gridflow.classify.v1.ClassifyService"
	DispatchService = "gridflow.dispatch.v1.DispatchService"
	FeedbackService = "gridflow.feedback.v1.FeedbackService"
)

// WebhookService is dispatch's webhook door (issue 19).
const WebhookService = "gridflow.dispatch.v1.WebhookService"

// PublicIntakeService is intake's door for the public (Open311, issue 19).
const PublicIntakeService = "gridflow.intake.v1.PublicIntakeService"

// PublicCaseService is feedback's read of the public cases (Open311, issue 19).
const PublicCaseService = "gridflow.feedback.v1.PublicCaseService"

// PlaceService is classify's place registry and place history (issue 20,
// places).
const PlaceService = "gridflow.classify.v1.PlaceService"

// WorkerTaskService is dispatch's door for grid workers' own tasks
// (issue 20, work tasks).
const WorkerTaskService = "gridflow.dispatch.v1.WorkerTaskService"

// Source place coordination (issue 20): classify's source places and
// dispatch's coordinated work.
const (
	SourcePlaceService  = "gridflow.classify.v1.SourcePlaceService"
	CoordinationService = "gridflow.dispatch.v1.CoordinationService"
)

// SelfDisposalService is feedback's check of self-disposals and 自处率
// (issue 20).
const SelfDisposalService = "gridflow.feedback.v1.SelfDisposalService"

// ListsService is feedback's three lists and month's figures (issue 20).
const ListsService = "gridflow.feedback.v1.ListsService"

// WarningService is feedback's early warning (issue 20).
const WarningService = "gridflow.feedback.v1.WarningService"

// Method is the full gRPC method name of an RPC of a service.
func Method(service, rpc string) string { return "/" + service + "/" + rpc }

// Roles, as the table names them.
const (
	hotline    = auth.RoleHotline
	patrol     = auth.RolePatrol
	secretary  = auth.RoleSecretary
	dispatcher = auth.RoleDispatcher
	district   = auth.RoleDistrict
	department = auth.RoleDepartment
	admin      = auth.RoleAdmin
	public     = auth.RolePublic // Open311 (issue 19)
)

// gridleader is a grid's leader (self-disposal, issue 20).
const gridleader = auth.RoleGridLeader

// Groups of roles that recur in the table.
var (
	everyone    = []auth.Role{hotline, patrol, secretary, dispatcher, district, department, admin}
	dispatchers = []auth.Role{dispatcher, district, admin}
	units       = []auth.Role{department}
	// caseReaders read a case through feedback, each within its reach
	// (a grid's leader its grid's cases: self-disposal, issue 20).
	caseReaders = []auth.Role{hotline, patrol, secretary, dispatcher, district, department, admin, gridleader}
	// submitters read what intake took in, each within its reach; not
	// departments, which read a case through dispatch and feedback and never
	// the submission holding the caller's contact.
	submitters = []auth.Role{hotline, patrol, secretary, dispatcher, district, admin}
)

func roles(rs ...auth.Role) []auth.Role { return rs }

// table is THE policy: for every RPC of every service, the roles that may
// call it; each calls it over its own reach (the package doc). A role not
// named is refused, and so is a method not in the table.
var table = map[string][]auth.Role{
	// intake: the three doors in, the hotline's follow-ups, and what came in.
	Method(IntakeService, "SubmitWorkOrder"):    roles(hotline, admin),
	Method(IntakeService, "SubmitPatrolReport"): roles(patrol, admin),
	Method(IntakeService, "RaiseIssue"):         roles(secretary, admin),
	Method(IntakeService, "AddFollowUp"):        roles(hotline, admin),
	Method(IntakeService, "GetSubmission"):      submitters,
	Method(IntakeService, "ListSubmissions"):    submitters,
	// The caller's full contact, audited: the hotline, the street's
	// dispatcher and the departments with an open task on the case (which
	// case each may read is intake's rule, mayReadContact), and admin.
	Method(IntakeService, "ReadContact"): roles(hotline, dispatcher, department, admin),
	// Which reference data each service ran on, and who put it in force:
	// for the people answerable for routing.
	Method(IntakeService, "ListReferenceReloads"): dispatchers,

	// classify: the catalogue is reference data every door needs (the
	// patrol app and the hotline pick items from it); the review queue,
	// corrections of a classification and incidents are dispatchers'.
	// The public too: Open311's services are the catalogue (issue 19).
	Method(ClassifyService, "ListCatalogue"):     append(roles(public), everyone...),
	Method(ClassifyService, "GetCatalogueItem"):  append(roles(public), everyone...),
	Method(ClassifyService, "ListReviewQueue"):   dispatchers,
	Method(ClassifyService, "ResolveReview"):     dispatchers,
	Method(ClassifyService, "Reclassify"):        dispatchers,
	Method(ClassifyService, "GetClassification"): dispatchers,
	Method(ClassifyService, "GetIncident"):       dispatchers,
	Method(ClassifyService, "ListIncidents"):     dispatchers,
	// Every dispatcher's correction of the city, with the citizens' texts:
	// training data, exported by admin.
	Method(ClassifyService, "ListCorrections"): roles(admin),
	Method(ClassifyService, "ReloadModel"):     roles(admin),
	Method(ClassifyService, "RetrainModel"):    roles(admin),
	// Which model decides, and how well: for the people answerable for it.
	Method(ClassifyService, "ListModels"):           dispatchers,
	Method(ClassifyService, "ListReferenceReloads"): dispatchers,

	// dispatch: units work their own tasks; dispatchers steer their area's.
	Method(DispatchService, "GetTask"): roles(department, dispatcher, district, admin),
	// ListTasks: a grid worker its own worker tasks (issue 20, work tasks).
	Method(DispatchService, "ListTasks"): roles(department, dispatcher, district, patrol, admin),
	// A department watches its own tasks; admin names the department.
	Method(DispatchService, "WatchTasks"):           roles(department, admin),
	Method(DispatchService, "AcknowledgeTask"):      units,
	Method(DispatchService, "RejectTask"):           units,
	Method(DispatchService, "ForwardTask"):          units,
	Method(DispatchService, "RequestExtension"):     units,
	Method(DispatchService, "ReportProgress"):       units,
	Method(DispatchService, "CompleteTask"):         units,
	Method(DispatchService, "ListDispatchQueue"):    dispatchers,
	Method(DispatchService, "Reassign"):             dispatchers,
	Method(DispatchService, "DecideExtension"):      dispatchers,
	Method(DispatchService, "ReviewCompletion"):     dispatchers,
	Method(DispatchService, "Supervise"):            dispatchers,
	Method(DispatchService, "ListArbitration"):      dispatchers,
	Method(DispatchService, "Arbitrate"):            dispatchers,
	Method(DispatchService, "SimulateRoute"):        dispatchers,
	Method(DispatchService, "CancelCase"):           dispatchers,
	Method(DispatchService, "ParkCase"):             dispatchers,
	Method(DispatchService, "UnparkCase"):           dispatchers,
	Method(DispatchService, "ExcludeCase"):          dispatchers,
	Method(DispatchService, "ListReferenceReloads"): dispatchers,

	// feedback: a case, its timeline and its replies, each within reach.
	Method(FeedbackService, "GetCase"):         caseReaders,
	Method(FeedbackService, "ListCases"):       caseReaders,
	Method(FeedbackService, "GetCaseTimeline"): caseReaders,
	// What the hotline relays to citizens.
	Method(FeedbackService, "WatchCaseUpdates"): roles(hotline, admin),
	Method(FeedbackService, "ListReplies"):      roles(hotline, dispatcher, district, admin),
	// 回访: the hotline on its cases, the street's dispatcher on the street's.
	Method(FeedbackService, "RecordCallback"): roles(hotline, dispatcher, admin),
	// 核查: the worker who reported the case, or the street's dispatcher.
	Method(FeedbackService, "RecordRecheck"): roles(patrol, dispatcher, admin),
	// Figures: the hotline's over hotline cases, a dispatcher's over its
	// area, a department's of its own work (GetMetrics' department scope).
	Method(FeedbackService, "GetMetrics"):           roles(hotline, dispatcher, district, department, admin),
	Method(FeedbackService, "GetPareto"):            roles(hotline, dispatcher, district, admin),
	Method(FeedbackService, "GetHotspots"):          roles(hotline, dispatcher, district, admin),
	Method(FeedbackService, "ListReferenceReloads"): dispatchers,

	// Webhooks (issue 19): a department registers, lists and deletes the
	// webhooks of its own unit, admin any unit's; the deliveries are also the
	// dispatchers' over their area (the escalation board shows the dead ones).
	Method(WebhookService, "RegisterWebhook"):       roles(department, admin),
	Method(WebhookService, "ListWebhooks"):          roles(department, admin),
	Method(WebhookService, "DeleteWebhook"):         roles(department, admin),
	Method(WebhookService, "ListWebhookDeliveries"): roles(department, dispatcher, district, admin),

	// Dead webhook deliveries retried (issue 19): the owning department, admin.
	Method(WebhookService, "RetryWebhookDelivery"): roles(department, admin),

	// Open311 (issue 19): the console's door submits a member of the
	// public's request as the key's principal; admin may too.
	Method(PublicIntakeService, "SubmitPublicRequest"): roles(public, admin),
	// What the door reads: public-source cases only, for any caller (the
	// RPCs never answer another door's case, admin's call included).
	Method(PublicCaseService, "ListPublicCases"): roles(public, admin),
	Method(PublicCaseService, "GetPublicCase"):   roles(public, admin),

	// Issue 20, places (以房管人): classify's place registry. A street's
	// register is imported by its dispatchers (rows outside their area are
	// refused) and admin; a grid worker records findings at the places of
	// its grids (pkg/reference's grid register), the dispatchers at their
	// area's. Places and their history are read by the people of the area:
	// a worker its grids, a secretary its community, dispatchers their
	// area, admin all; never the hotline or a department (a place's history
	// is other cases than theirs).
	Method(PlaceService, "ImportPlaces"):       dispatchers,
	Method(PlaceService, "RecordPlaceFinding"): roles(patrol, dispatcher, district, admin),
	Method(PlaceService, "GetPlace"):           roles(patrol, secretary, dispatcher, district, admin),
	Method(PlaceService, "ListPlaces"):         roles(patrol, secretary, dispatcher, district, admin),
	Method(PlaceService, "GetPlaceHistory"):    roles(patrol, secretary, dispatcher, district, admin),
	// Grid workers' tasks (issue 20, work tasks): a worker lists its own
	// re-checks and due inspections and records its inspections; a street's
	// or district's dispatcher reads those of its area; admin all.
	Method(WorkerTaskService, "ListWorkerTasks"):  roles(patrol, dispatcher, district, admin),
	Method(WorkerTaskService, "RecordInspection"): roles(patrol, admin),
	// Source place coordination (issue 20): a street's dispatcher names the
	// lead unit of its street's source places, changes it, closes and
	// reopens them; the district over its district; admin any.
	Method(SourcePlaceService, "SetSourcePlaceLead"): dispatchers,
	Method(SourcePlaceService, "GetSourcePlace"):     dispatchers,
	Method(SourcePlaceService, "ListSourcePlaces"):   dispatchers,
	Method(SourcePlaceService, "CloseSourcePlace"):   dispatchers,
	Method(SourcePlaceService, "ReopenSourcePlace"):  dispatchers,
	// The coordinated tasks: the lead unit of an open place (masked: tasks
	// carry no personal data), the street's dispatchers, the district, admin.
	// Which place a department may read is dispatch's rule: the ones it leads.
	Method(CoordinationService, "GetCoordination"): roles(department, dispatcher, district, admin),
	// Self-disposal (issue 20): a grid's leader lists and checks its grid's
	// self-disposals and reads its grid's 自处率; the street's dispatcher
	// stands in for a grid without a leader on duty (and the district over
	// it reads and checks as it steers every case of the district), admin
	// everything. The workers who self-dispose read their own cases through
	// GetCase; they never check their own work.
	Method(SelfDisposalService, "ListSelfDisposals"):      roles(gridleader, dispatcher, district, admin),
	Method(SelfDisposalService, "CheckSelfDisposal"):      roles(gridleader, dispatcher, district, admin),
	Method(SelfDisposalService, "GetSelfDisposalFigures"): roles(gridleader, dispatcher, district, admin),
	// The three lists and the month's figures (issue 20): a community's
	// secretary for its community, a dispatcher for its street or district,
	// admin anywhere. The secretary hands the exports in (减负) and imports
	// its community's needs survey.
	Method(ListsService, "GetProblemList"):    roles(secretary, dispatcher, district, admin),
	Method(ListsService, "ImportNeedsSurvey"): roles(secretary, dispatcher, district, admin),
	Method(ListsService, "GetNeedsList"):      roles(secretary, dispatcher, district, admin),
	Method(ListsService, "GetServiceList"):    roles(secretary, dispatcher, district, admin),
	Method(ListsService, "GetMonthFigures"):   roles(secretary, dispatcher, district, admin),
	// Early warning (issue 20): the warnings of a street are its
	// dispatcher's, a district's its district's, admin's all — to read and
	// to acknowledge or dismiss (feedback applies the reach).
	Method(WarningService, "ListWarnings"):       dispatchers,
	Method(WarningService, "GetWarning"):         dispatchers,
	Method(WarningService, "AcknowledgeWarning"): dispatchers,
	Method(WarningService, "DismissWarning"):     dispatchers,
}

// Methods lists every method in the table, sorted.
func Methods() []string {
	out := make([]string, 0, len(table))
	for m := range table {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// Roles lists the roles that may call method; nil for a method not in the
// table.
func Roles(method string) []auth.Role { return slices.Clone(table[method]) }

// Open reports methods anyone may call without a credential: health checks
// and reflection, and nothing else.
func Open(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(method, "/grpc.reflection.")
}

var placeholder = map[auth.Role]string{hotline: "hotline", patrol: "patrol:<worker>", secretary: "secretary:<community>",
	dispatcher: "dispatcher:<street>", district: "district:<district>", department: "department:<code>", admin: "admin",
	public: "public:<key>", gridleader: "gridleader:<grid>"}

// Check is the table's answer for p calling method: the scope p calls it
// over, or PERMISSION_DENIED for a method the table does not have or a role
// its row does not name (saying who may).
func Check(p auth.Principal, method string) (Scope, error) {
	rs, ok := table[method]
	if !ok {
		return Scope{}, fault.New(fault.PermissionDenied, "%s is not in the access policy: nobody may call it", method)
	}
	if !slices.Contains(rs, p.Role) {
		who := make([]string, len(rs))
		for i, r := range rs {
			who[i] = placeholder[r]
		}
		return Scope{}, fault.New(fault.PermissionDenied, "%s may not call %s: only %s may", p, rpcName(method), strings.Join(who, ", "))
	}
	return ScopeOf(p), nil
}

// rpcName is "Service/RPC" of a full method name, for messages.
func rpcName(method string) string {
	if i := strings.LastIndex(method, "."); i >= 0 {
		return method[i+1:]
	}
	return strings.TrimPrefix(method, "/")
}
