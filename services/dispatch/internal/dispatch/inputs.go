package dispatch

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/pagetoken"
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
	// MaxCodeBytes bounds a department, area or item code a request names.
	MaxCodeBytes = 64
	// MaxNamed bounds the departments a simulated 一指通办 issue names.
	MaxNamed = 20
)

// The window a time in a request must lie in: no deadline, ETA, review
// date or receipt dispatch keeps lies before 2000 or from 2100 on, and an
// overflowed or negative protobuf timestamp decodes to a time outside it
// (which PostgreSQL and JSON could not even store).
var (
	minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checkTime refuses a set time outside [minTime, maxTime); the zero time is
// the caller's to judge (absent).
func checkTime(field string, t time.Time, v *fault.Violations) {
	if !t.IsZero() && (t.Before(minTime) || !t.Before(maxTime)) {
		v.Add(field, "%s is not between %d and %d", t.UTC().Format(time.RFC3339), minTime.Year(), maxTime.Year()-1)
	}
}

// checkCode checks a code a request names (a department, an area); required
// says whether it may be empty.
func checkCode(field, code string, required bool, v *fault.Violations) {
	if code == "" && required {
		v.Add(field, "is required")
		return
	}
	freetext.Code(field, code, MaxCodeBytes, v)
}

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

// checkText checks free text: valid UTF-8, within max characters, no
// control characters but line breaks and tabs (pkg/freetext).
func checkText(field, s string, max int, required bool, v *fault.Violations) {
	freetext.Check(field, s, max, required, v)
}

func checkPageSize(n int, v *fault.Violations) {
	if n < 0 {
		v.Add("page_size", "must not be negative")
	}
}

// checkPageToken refuses a token ListTasks or a case list did not hand
// out (pkg/pagetoken's keyset tokens), before the store reads it.
func checkPageToken(tok string, v *fault.Violations) {
	if tok == "" {
		return
	}
	if _, _, err := pagetoken.Decode(tok); err != nil {
		v.Add("page_token", "is not a token this list returned")
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
	checkTime("eta", in.ETA, &v)
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
	} else {
		checkCode("area_code", in.Area, false, &v)
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
	checkCode("department_code", in.Department, true, &v)
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
	checkTime("new_due", in.Due, &v)
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
		if strings.TrimSpace(e) == "" || len(e) > maxEvidenceID || !utf8.ValidString(e) ||
			strings.IndexFunc(e, func(r rune) bool { return unicode.IsSpace(r) || freetext.Control(r) }) >= 0 {
			v.Add("evidence["+strconv.Itoa(i)+"]", "must be a non-empty reference of at most %d bytes, without spaces or control characters", maxEvidenceID)
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
	checkCode("department_code", f.Department, false, &v)
	checkPageToken(f.PageToken, &v)
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

// Validate checks the page size and token.
func (f CaseFilter) Validate() error {
	var v fault.Violations
	checkPageSize(f.PageSize, &v)
	checkPageToken(f.PageToken, &v)
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
	var v fault.Violations
	checkCode("department_code", in.Department, false, &v)
	if _, err := parseCursor(in.Cursor); err != nil {
		v.Add("cursor", "is not a cursor this service issued")
	}
	return v.Err()
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
	checkCode("department_code", in.Department, true, &v)
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
	checkTime("new_due", in.Due, &v)
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
	checkCode("department_code", in.Department, true, &v)
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
		checkFacts(in.Facts, &v)
	default:
		v.Add("subject", "give a case_id, case_number, hotline_order_no or facts")
	}
	checkCode("redecide_area_code", in.Redecide, false, &v)
	return v.Err()
}

// checkFacts checks simulated facts field by field: codes, known enum
// values, a plausible receipt time, the text.
func checkFacts(f *routing.Case, v *fault.Violations) {
	const p = "facts."
	checkCode(p+"item_code", f.Item, false, v)
	checkText(p+"label", f.Label, MaxNoteRunes, false, v)
	checkCode(p+"area.district_code", f.District, false, v)
	checkCode(p+"area.street_code", f.Street, false, v)
	checkCode(p+"area.community_code", f.Community, false, v)
	checkCode(p+"area.grid_code", f.Grid, false, v)
	if f.AppealType != "" && !f.AppealType.Valid() {
		v.Add(p+"appeal_type", "unknown value %q", f.AppealType)
	}
	if f.Source != "" && !f.Source.Valid() {
		v.Add(p+"source", "unknown value %q", f.Source)
	}
	if !f.Urgency.Valid() {
		v.Add(p+"urgency", "unknown value %q", f.Urgency)
	}
	checkTime(p+"received_at", f.Received, v)
	checkText(p+"text", f.Text, MaxTextRunes, false, v)
	if len(f.Named) > MaxNamed {
		v.Add(p+"whistle_departments", "names %d departments; at most %d", len(f.Named), MaxNamed)
	}
	for i, d := range f.Named {
		checkCode(p+"whistle_departments["+strconv.Itoa(i)+"]", d, true, v)
	}
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
	if d, err := workcal.ParseDate(in.ReviewDate); err != nil {
		v.Add("review_date", "must be a date YYYY-MM-DD")
	} else if d.Year < minTime.Year() || d.Year >= maxTime.Year() {
		v.Add("review_date", "%s is not between %d and %d", in.ReviewDate, minTime.Year(), maxTime.Year()-1)
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
