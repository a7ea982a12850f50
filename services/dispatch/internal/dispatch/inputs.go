package dispatch

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/services/dispatch/internal/routing"
)

// The requests of the service's calls and the limits on their fields.

// Limits on request fields.
const (
	MaxRequestID  = 64
	MaxNoteRunes  = 2000
	MaxTextRunes  = 4000
	MaxEvidence   = 50
	MaxPageSize   = 500
	defaultPage   = 50
	maxEvidenceID = 1024
)

// check helpers collect field violations.

func checkRequestID(id string, v *fault.Violations) {
	switch {
	case strings.TrimSpace(id) == "":
		v.Add("request_id", "is required")
	case len(id) > MaxRequestID:
		v.Add("request_id", "must be at most %d bytes", MaxRequestID)
	case !utf8.ValidString(id):
		v.Add("request_id", "is not valid UTF-8")
	}
}

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

// AckInput is AcknowledgeTask's request.
type AckInput struct {
	RequestID, TaskID string
	ETA               time.Time
	Note              string
}

// RejectInput is RejectTask's request.
type RejectInput struct {
	RequestID, TaskID string
	Reason            RejectReason
	Note, Area        string
}

// ForwardInput is ForwardTask's request.
type ForwardInput struct {
	RequestID, TaskID, Department, Note string
}

// ExtensionInput is RequestExtension's request.
type ExtensionInput struct {
	RequestID, TaskID string
	Due               time.Time
	Reason            string
}

// ProgressInput is ReportProgress's request.
type ProgressInput struct {
	RequestID, TaskID, Text string
	OnSite                  bool
}

// CompleteInput is CompleteTask's request.
type CompleteInput struct {
	RequestID, TaskID, Result string
	Evidence                  []string
}

func pageSize(n int, v *fault.Violations) int {
	switch {
	case n < 0:
		v.Add("page_size", "must not be negative")
	case n == 0:
		return defaultPage
	case n > MaxPageSize:
		return MaxPageSize
	}
	return n
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

// ReassignInput is Reassign's request.
type ReassignInput struct {
	RequestID, CaseID, TaskID, Department, Note string
}

// DecideExtensionInput is DecideExtension's request.
type DecideExtensionInput struct {
	RequestID, TaskID string
	Grant             bool
	Due               time.Time
	Note              string
}

// ReviewInput is ReviewCompletion's request.
type ReviewInput struct {
	RequestID, TaskID string
	Approve           bool
	Note              string
}

// SuperviseInput is Supervise's request.
type SuperviseInput struct {
	RequestID, TaskID, Note string
}

// ArbitrateInput is Arbitrate's request.
type ArbitrateInput struct {
	RequestID, CaseID, Department, Note string
}

// SimulateInput is SimulateRoute's request: a stored case, or facts.
type SimulateInput struct {
	// A stored case, by exactly one of these.
	CaseID, CaseNumber, HotlineOrderNo string
	Facts                              *routing.Case
	Redecide                           string
}

// CaseInput is the request of the dispatcher's case decisions.
type CaseInput struct {
	RequestID, CaseID, Reason string
	ReviewDate                string // ParkCase: YYYY-MM-DD
}
