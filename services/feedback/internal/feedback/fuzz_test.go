package feedback

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/requestid"
	"github.com/gridflow/gridflow/pkg/testenv"
)

// Fuzz targets for every request validator of feedback's domain; seeds in
// testdata/fuzz/<target>. Each checks: no panic; a refusal is
// InvalidArgument naming only the request's fields, with reasons
// (testenv.Refusal); an accepted request obeys what the service relies on
// next, and a write request round-trips through its JSON (the fingerprint
// of its request id) unchanged.

func fuzzTime(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// wellFormed fails on text the store or a log would have to carry that is
// not valid UTF-8 or holds a control character.
func wellFormed(t *testing.T, field, s string) {
	t.Helper()
	if !utf8.ValidString(s) || strings.ContainsFunc(s, freetext.Control) {
		t.Fatalf("accepted %s %q", field, s)
	}
}

func roundTrip[T any](t *testing.T, in T) {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("accepted %+v does not marshal: %v", in, err)
	}
	var back T
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, back); diff != "" {
		t.Fatalf("accepted request does not round-trip (-in +back):\n%s", diff)
	}
}

func acceptedRequest(t *testing.T, requestID, caseID, note string) {
	t.Helper()
	var vs fault.Violations
	if requestid.Check(requestID, &vs); len(vs) > 0 || !caseref.IsID(caseID) {
		t.Fatalf("accepted request id %q, case id %q", requestID, caseID)
	}
	wellFormed(t, "note", note)
	if utf8.RuneCountInString(note) > MaxNoteRunes {
		t.Fatalf("accepted a note of %d characters", utf8.RuneCountInString(note))
	}
}

func FuzzCallbackInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, requestID, caseID string, reached, contacted, solved bool, satisfaction, note string) {
		in := CallbackInput{RequestID: requestID, CaseID: caseID, Reached: reached, ContactedByUnit: contacted, Solved: solved,
			Satisfaction: Satisfaction(satisfaction), Note: note}
		if testenv.Refusal(t, in.Validate(), "request_id", "case_id", "note", "satisfaction") {
			return
		}
		acceptedRequest(t, in.RequestID, in.CaseID, in.Note)
		switch in.Satisfaction {
		case Satisfied, Basic, Unsatisfied:
		case "":
			if in.Reached {
				t.Fatal("accepted a reached citizen without a rating")
			}
		default:
			t.Fatalf("accepted satisfaction %q", in.Satisfaction)
		}
		roundTrip(t, in)
	})
}

func FuzzRecheckInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, requestID, caseID string, passed bool, photos, note string) {
		in := RecheckInput{RequestID: requestID, CaseID: caseID, Passed: passed, Note: note}
		if photos != "" {
			in.Photos = strings.Split(photos, ",")
		}
		if testenv.Refusal(t, in.Validate(), "request_id", "case_id", "note", "photos") {
			return
		}
		acceptedRequest(t, in.RequestID, in.CaseID, in.Note)
		if len(in.Photos) > MaxPhotos {
			t.Fatalf("accepted %d photos", len(in.Photos))
		}
		for _, p := range in.Photos {
			if p == "" || len(p) > maxPhotoBytes || strings.ContainsAny(p, " \t\r\n") {
				t.Fatalf("accepted photo %q", p)
			}
			wellFormed(t, "photo", p)
		}
		roundTrip(t, in)
	})
}

func FuzzFilter(f *testing.F) {
	f.Fuzz(func(t *testing.T, area, department, item string, fromSec, toSec int64, pageSize int) {
		in := Filter{AreaCode: area, Department: department, ItemCode: item, From: fuzzTime(fromSec), To: fuzzTime(toSec), PageSize: pageSize}
		if testenv.Refusal(t, in.Validate(), "area_code", "department_code", "item_code", "received_from", "received_to", "page_size") {
			return
		}
		for _, s := range []string{in.AreaCode, in.Department, in.ItemCode} {
			wellFormed(t, "code", s)
			if len(s) > MaxCodeBytes || strings.ContainsAny(s, " \t\r\n") {
				t.Fatalf("accepted code %q", s)
			}
		}
		for _, tm := range []time.Time{in.From, in.To} {
			if _, err := tm.MarshalJSON(); err != nil || !tm.IsZero() && (tm.Before(minTime) || !tm.Before(maxTime)) {
				t.Fatalf("accepted time %v", tm)
			}
		}
		if in.PageSize < 0 {
			t.Fatalf("accepted page size %d", in.PageSize)
		}
	})
}

func FuzzFigures(f *testing.F) {
	f.Fuzz(func(t *testing.T, scope, code string, startSec, endSec int64) {
		p := Period{Start: fuzzTime(startSec), End: fuzzTime(endSec)}
		if testenv.Refusal(t, checkFigures(Scope(scope), code, p), "scope", "code", "period.start", "period.end") {
			return
		}
		switch Scope(scope) {
		case ScopeDepartment, ScopeStreet, ScopeDistrict, ScopeGrid:
			if code == "" {
				t.Fatalf("accepted scope %s without a code", scope)
			}
			wellFormed(t, "code", code)
		case ScopeCity:
		default:
			t.Fatalf("accepted scope %q", scope)
		}
		acceptedPeriod(t, p)
	})
}

func acceptedPeriod(t *testing.T, p Period) {
	t.Helper()
	if p.Start.IsZero() || p.End.IsZero() || !p.Start.Before(p.End) || p.Start.Before(minTime) || !p.End.Before(maxTime) {
		t.Fatalf("accepted period %v – %v", p.Start, p.End)
	}
}

func FuzzHotspots(f *testing.F) {
	f.Fuzz(func(t *testing.T, area string, startSec, endSec int64, windows, minCount int, minScore float64) {
		p := Period{Start: fuzzTime(startSec), End: fuzzTime(endSec)}
		if testenv.Refusal(t, checkHotspots(area, p, windows, minCount, minScore),
			"area_code", "period.start", "period.end", "baseline_windows", "min_count", "min_score") {
			return
		}
		wellFormed(t, "area_code", area)
		acceptedPeriod(t, p)
		if windows < 0 || windows > MaxBaselineWindows || minCount < 0 || math.IsNaN(minScore) || math.IsInf(minScore, 0) {
			t.Fatalf("accepted windows %d, count %d, score %v", windows, minCount, minScore)
		}
	})
}

func FuzzReplies(f *testing.F) {
	f.Fuzz(func(t *testing.T, caseID string, sinceSec int64) {
		since := fuzzTime(sinceSec)
		if testenv.Refusal(t, checkReplies(caseID, since), "case_id", "since") {
			return
		}
		if caseID != "" && !caseref.IsID(caseID) {
			t.Fatalf("accepted case id %q", caseID)
		}
		if _, err := since.MarshalJSON(); err != nil || !since.IsZero() && (since.Before(minTime) || !since.Before(maxTime)) {
			t.Fatalf("accepted since %v", since)
		}
	})
}
