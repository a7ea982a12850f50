package dispatch

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/requestid"
	"github.com/gridflow/gridflow/pkg/workcal"
	"github.com/gridflow/gridflow/services/dispatch/internal/routing"
)

// The requests of the service's calls. Each validates itself (Validate):
// every field it can judge alone, all violations at once, InvalidArgument
// naming each field. What needs more than the request — the reference data
// in force, the time, the caller — is checked by the call.

// Limits on request fields.
const (
	MaxRequestID  = requestid.MaxBytes
	MaxNoteRunes  = 2000
	MaxTextRunes  = 4000
	MaxEvidence   = 50
	MaxPageSize   = 500
	defaultPage   = 50
	maxEvidenceID = 1024
)

// The check helpers collect field violations.

func checkID(field, id string, v *fault.Violations) {
	if id == "" {
		v.Add(field, "is required")
		return
	}
	if _, err := uuid.Parse(id); err != nil {
		v.Add(field, "is not a task or case id")
	}
}

func checkText(field, s string, max int, required bool, v *fault.Violations) {
	switch {
	case !utf8.ValidString(s):
		v.Add(field, "is not valid UTF-8")
	case required && strings.TrimSpace(s) == "":
		v.Add(field, "is required")
	case utf8.RuneCountInString(s) > max:
		v.Add(field, "must be at most %d characters", max)
	}
}

func checkPageSize(n int, v *fault.Violations) {
	if n < 0 {
		v.Add("page_size", "must not be negative")
	}
}

// pageSize is the page size a valid request asks for: the default for 0,
// at most MaxPageSize.
func pageSize(n int) int {
	switch {
	case n == 0:
		return defaultPage
	case n > MaxPageSize:
		return MaxPageSize
	}
	return n
}

// AckInput is AcknowledgeTask's request.
type AckInput struct {
	RequestID, TaskID string
	ETA               time.Time
	Note              string
}

// Validate checks the request alone; that the ETA lies ahead is checked at
// the service's now.
func (in AckInput) Validate() error {
	var v fault.Violations
	requestid.Check(in.RequestID, &v)
	checkID("task_id", in.TaskID, &v)
	checkText("note", in.Note, MaxNoteRunes, false, &v)
	return v.Err()
}

// RejectInput is RejectTask's request.
type RejectInput struct {
	RequestID, TaskID string
	Reason            RejectReason
	Note, Area        string
}

// Validate checks the request alone; that the area exists is checked
// against the reference data in force.
func (in RejectInput) Validate() error {
	var v fault.Violations
	requestid.Check(in.RequestID, &v)
	checkID("task_id", in.TaskID, &v)
	switch in.Reason {
	case NotMyArea, NotMyDuty, UnclearOwnership:
		checkText("note", in.Note, MaxNoteRunes, false, &v)
	case OtherReason:
		checkText("note", in.Note, MaxNoteRunes, true, &v)
	case "":
		v.Add("reason", "is required (not_my_area, not_my_duty, unclear_ownership, other)")
	default:
		v.Add("reason", "unknown reason %q", in.Reason)
	}
	if in.Area != "" && in.Reason != NotMyArea {
		v.Add("area_code", "only a not_my_area rejection names an area")
	}
	return v.Err()
}

// validateRef checks the area a not_my_area rejection names exists in the
// reference data in force.
func (in RejectInput) validateRef(ref *reference.Set) error {
	if _, ok := ref.Area(in.Area); in.Area != "" && !ok {
		return invalid("area_code", "no area %q in the reference data", in.Area)
	}
	return nil
}

// ForwardInput is ForwardTask's request.
type ForwardInput struct {
	RequestID, TaskID, Department, Note string
}

// Validate checks the request alone.
func (in ForwardInput) Validate() error {
	var v fault.Violations
	requestid.Check(in.RequestID, &v)
	checkID("task_id", in.TaskID, &v)
	if in.Department == "" {
		v.Add("department_code", "is required")
	}
	checkText("note", in.Note, MaxNoteRunes, false, &v)
	return v.Err()
}

// ExtensionInput is RequestExtension's request.
type ExtensionInput struct {
	RequestID, TaskID string
	Due               time.Time
	Reason            string
}

// Validate checks the request alone; that the new due time is later than
// the task's is the task's to judge.
func (in ExtensionInput) Validate() error {
	var v fault.Violations
	requestid.Check(in.RequestID, &v)
	checkID("task_id", in.TaskID, &v)
	if in.Due.IsZero() {
		v.Add("new_due", "is required")
	}
	checkText("reason", in.Reason, MaxNoteRunes, true, &v)
	return v.Err()
}

// ProgressInput is ReportProgress's request.
type ProgressInput struct {
	RequestID, TaskID, Text string
	OnSite                  bool
}

// Validate checks the request: a text, unless the unit reports it is on
// site.
func (in ProgressInput) Validate() error {
	var v fault.Violations
	requestid.Check(in.RequestID, &v)
	checkID("task_id", in.TaskID, &v)
	checkText("text", in.Text, MaxTextRunes, !in.OnSite, &v)
	return v.Err()
}

// CompleteInput is CompleteTask's request.
type CompleteInput struct {
	RequestID, TaskID, Result string
	Evidence                  []string
}

// Validate checks the request and each evidence reference.
func (in CompleteInput) Validate() error {
	var v fault.Violations
	requestid.Check(in.RequestID, &v)
	checkID("task_id", in.TaskID, &v)
	checkText("result", in.Result, MaxTextRunes, true, &v)
	if len(in.Evidence) > MaxEvidence {
		v.Add("evidence", "at most %d references", MaxEvidence)
	}
	for i, e := range in.Evidence {
		if strings.TrimSpace(e) == "" || len(e) > maxEvidenceID || !utf8.ValidString(e) {
			v.Add("evidence["+strconv.Itoa(i)+"]", "must be a non-empty reference of at most %d bytes", maxEvidenceID)
		}
	}
	return v.Err()
}

// TaskFilter selects tasks.
type TaskFilter struct {
	Scope  Scope
	States []TaskState
	// Only this case's tasks: at most one of CaseID, CaseNumber and
	// HotlineOrderNo; ListTasks reads them into Case for the store.
	CaseID, CaseNumber, HotlineOrderNo string
	Case                               caseref.Ref
	Department                         string
	PageSize                           int
	PageToken                          string
}

// Validate checks the filter's own fields: the page size and at most one
// well-formed case reference. Which departments a caller may name depends
// on the caller (ListTasks).
func (f TaskFilter) Validate() error {
	var v fault.Violations
	checkPageSize(f.PageSize, &v)
	if f.CaseID != "" {
		checkID("case_id", f.CaseID, &v)
	}
	if _, err := caseref.OptionalFromFields("", f.CaseID, f.CaseNumber, f.HotlineOrderNo); err != nil {
		var bad *fault.Error
		if errors.As(err, &bad) {
			v = append(v, bad.Violations...)
		}
	}
	return v.Err()
}

// CaseFilter selects cases waiting for a dispatcher (ListDispatchQueue,
// ListArbitration).
type CaseFilter struct {
	Scope       Scope
	Arbitration bool // in arbitration; otherwise in the dispatch queue
	PageSize    int
	PageToken   string
}

// Validate checks the page size.
func (f CaseFilter) Validate() error {
	var v fault.Violations
	checkPageSize(f.PageSize, &v)
	return v.Err()
}

// WatchInput is WatchTasks' request: a department's task events from a
// cursor ("" new events only, "0" all the stream holds, n after stream
// sequence n).
type WatchInput struct {
	Department, Cursor string
}

// Validate checks the cursor is one this service issues; which department
// a caller may watch depends on the caller.
func (in WatchInput) Validate() error {
	if _, err := parseCursor(in.Cursor); err != nil {
		return invalid("cursor", "is not a cursor this service issued")
	}
	return nil
}

func parseCursor(c string) (uint64, error) {
	var n uint64
	if c == "" {
		return 0, nil
	}
	for _, r := range c {
		if r < '0' || r > '9' || n > (1<<63)/10 {
			return 0, fault.New(fault.InvalidArgument, "bad cursor")
		}
		n = n*10 + uint64(r-'0')
	}
	return n, nil
}

// ReassignInput is Reassign's request: the case's lead (no TaskID) or one
// of its tasks goes to Department.
type ReassignInput struct {
	RequestID, CaseID, TaskID, Department, Note string
}

// Validate checks the request alone.
func (in ReassignInput) Validate() error {
	var v fault.Violations
	requestid.Check(in.RequestID, &v)
	checkID("case_id", in.CaseID, &v)
	if in.TaskID != "" {
		checkID("task_id", in.TaskID, &v)
	}
	if in.Department == "" {
		v.Add("department_code", "is required")
	}
	checkText("note", in.Note, MaxNoteRunes, false, &v)
	return v.Err()
}

// DecideExtensionInput is DecideExtension's request.
type DecideExtensionInput struct {
	RequestID, TaskID string
	Grant             bool
	Due               time.Time
	Note              string
}

// Validate checks the request: only a grant sets a due time.
func (in DecideExtensionInput) Validate() error {
	var v fault.Violations
	requestid.Check(in.RequestID, &v)
	checkID("task_id", in.TaskID, &v)
	if !in.Grant && !in.Due.IsZero() {
		v.Add("new_due", "only a grant sets a due time")
	}
	checkText("note", in.Note, MaxNoteRunes, false, &v)
	return v.Err()
}

// ReviewInput is ReviewCompletion's request.
type ReviewInput struct {
	RequestID, TaskID string
	Approve           bool
	Note              string
}

// Validate checks the request: returning a completion needs a note.
func (in ReviewInput) Validate() error {
	var v fault.Violations
	requestid.Check(in.RequestID, &v)
	checkID("task_id", in.TaskID, &v)
	checkText("note", in.Note, MaxNoteRunes, !in.Approve, &v)
	return v.Err()
}

// SuperviseInput is Supervise's request.
type SuperviseInput struct {
	RequestID, TaskID, Note string
}

// Validate checks the request: supervision says why.
func (in SuperviseInput) Validate() error {
	var v fault.Violations
	requestid.Check(in.RequestID, &v)
	checkID("task_id", in.TaskID, &v)
	checkText("note", in.Note, MaxNoteRunes, true, &v)
	return v.Err()
}

// ArbitrateInput is Arbitrate's request.
type ArbitrateInput struct {
	RequestID, CaseID, Department, Note string
}

// Validate checks the request alone.
func (in ArbitrateInput) Validate() error {
	var v fault.Violations
	requestid.Check(in.RequestID, &v)
	checkID("case_id", in.CaseID, &v)
	if in.Department == "" {
		v.Add("department_code", "is required")
	}
	checkText("note", in.Note, MaxNoteRunes, false, &v)
	return v.Err()
}

// SimulateInput is SimulateRoute's request: a stored case, or facts.
type SimulateInput struct {
	// A stored case, by exactly one of these.
	CaseID, CaseNumber, HotlineOrderNo string
	Facts                              *routing.Case
	Redecide                           string
}

func (in SimulateInput) byCase() bool {
	return in.CaseID != "" || in.CaseNumber != "" || in.HotlineOrderNo != ""
}

// Validate checks the request names exactly one subject: one well-formed
// case reference, or facts.
func (in SimulateInput) Validate() error {
	var v fault.Violations
	switch {
	case in.byCase():
		if _, err := caseref.FromFields("", in.CaseID, in.CaseNumber, in.HotlineOrderNo); err != nil {
			return err
		}
		if in.CaseID != "" {
			checkID("case_id", in.CaseID, &v)
		}
	case in.Facts != nil:
		checkText("facts.text", in.Facts.Text, MaxTextRunes, false, &v)
	default:
		v.Add("subject", "give a case_id, case_number, hotline_order_no or facts")
	}
	return v.Err()
}

// CaseInput is the shape of the dispatcher's decisions on a whole case.
// Each decision's request is its own type over this shape, so each
// validates itself while a stored request's fingerprint (its JSON) stays
// what it was.
type CaseInput struct {
	RequestID, CaseID, Reason string
	ReviewDate                string // ParkCase: YYYY-MM-DD
}

func (in CaseInput) check(reasonField string, reasonRequired bool, v *fault.Violations) {
	requestid.Check(in.RequestID, v)
	checkID("case_id", in.CaseID, v)
	checkText(reasonField, in.Reason, MaxNoteRunes, reasonRequired, v)
}

// CancelInput is CancelCase's request: Reason is required.
type CancelInput CaseInput

// Validate checks the request alone.
func (in CancelInput) Validate() error {
	var v fault.Violations
	CaseInput(in).check("reason", true, &v)
	return v.Err()
}

// ParkInput is ParkCase's request: Reason and a ReviewDate (YYYY-MM-DD).
type ParkInput CaseInput

// Validate checks the request alone; that the review date lies after
// today is checked at the service's now.
func (in ParkInput) Validate() error {
	var v fault.Violations
	CaseInput(in).check("reason", true, &v)
	if _, err := workcal.ParseDate(in.ReviewDate); err != nil {
		v.Add("review_date", "must be a date YYYY-MM-DD")
	}
	return v.Err()
}

// UnparkInput is UnparkCase's request: Reason carries the optional note.
type UnparkInput CaseInput

// Validate checks the request alone.
func (in UnparkInput) Validate() error {
	var v fault.Violations
	CaseInput(in).check("note", false, &v)
	return v.Err()
}

// ExcludeInput is ExcludeCase's request: Reason is required.
type ExcludeInput CaseInput

// Validate checks the request alone.
func (in ExcludeInput) Validate() error {
	var v fault.Violations
	CaseInput(in).check("reason", true, &v)
	return v.Err()
}
