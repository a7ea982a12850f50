package intake

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/reference"
)

// Limits on what intake accepts.
const (
	MaxTextRunes    = 10000 // content, answers, descriptions
	MaxTitleRunes   = 200
	MaxNameRunes    = 100
	MaxAddressRunes = 500
	MaxRequestID    = 64
	MaxAttachments  = 20
	MaxWhistle      = 20 // departments one issue names (吹哨报到)
	MaxCodeBytes    = 64 // an area code, a case id or number looked up
	// MaxClockSkew is how far in the future a client's timestamp may lie.
	MaxClockSkew = 5 * time.Minute
)

var (
	// Mobile 1[3-9]xxxxxxxxx; landline with area code 0xx(x)-xxxxxxx(x)
	// and an optional extension; hotline-internal 5–8 digit short numbers
	// (e.g. 12345, 95598); all optionally with +86 / 86.
	phoneRE     = regexp.MustCompile(`^(?:\+?86[- ]?)?(?:1[3-9]\d{9}|0\d{2,3}[- ]?\d{7,8}(?:[- ]?\d{1,6})?|\d{5,8})$`)
	requestIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:\-]*$`)
	minTime     = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	// maxTime bounds the times a query names: an overflowed protobuf
	// timestamp decodes past it, and PostgreSQL cannot take such a time.
	maxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checkKey checks how a request names a case: the id and number as codes,
// the hotline order number as the request id it was submitted under.
func checkKey(k Key, v *fault.Violations) {
	freetext.Code("case_id", k.CaseID, MaxCodeBytes, v)
	freetext.Code("case_number", k.CaseNumber, MaxCodeBytes, v)
	if k.HotlineOrderNo != "" {
		checkRequestID("hotline_order_no", k.HotlineOrderNo, v)
	}
}

// checkQueryTime refuses a time a query names outside [2000, 2100).
func checkQueryTime(field string, t time.Time, v *fault.Violations) {
	if !t.IsZero() && (t.Before(minTime) || !t.Before(maxTime)) {
		v.Add(field, "%s is not between %d and %d", t.UTC().Format(time.RFC3339), minTime.Year(), maxTime.Year()-1)
	}
}

// normaliseWorkOrder trims surrounding space and settles defaults, so that
// the same order sent twice with cosmetic differences hashes the same.
func normaliseWorkOrder(wo *WorkOrder) {
	for _, s := range []*string{&wo.HotlineOrderNo, &wo.Title, &wo.Content, &wo.CallerName, &wo.CallerPhone,
		&wo.Address, &wo.DistrictCode, &wo.StreetCode, &wo.CommunityCode, &wo.GridCode, &wo.Answer} {
		*s = strings.TrimSpace(*s)
	}
	if wo.Urgency == "" {
		wo.Urgency = reference.Normal
	}
	wo.ReceivedAt = wo.ReceivedAt.UTC()
}

func validateWorkOrder(wo *WorkOrder, now time.Time, v *fault.Violations) {
	const p = "work_order."
	checkRequestID(p+"hotline_order_no", wo.HotlineOrderNo, v)
	checkTime(p+"received_at", wo.ReceivedAt, now, true, v)
	switch {
	case wo.AppealType == "":
		v.Add(p+"appeal_type", "is required (consultation, help, complaint, report, suggestion or praise)")
	case !wo.AppealType.Valid():
		v.Add(p+"appeal_type", "unknown value %q", wo.AppealType)
	}
	freetext.Check(p+"title", wo.Title, MaxTitleRunes, false, v)
	freetext.Check(p+"content", wo.Content, MaxTextRunes, true, v)
	freetext.Check(p+"caller_name", wo.CallerName, MaxNameRunes, false, v)
	if wo.CallerPhone != "" {
		if !utf8.ValidString(wo.CallerPhone) || !phoneRE.MatchString(wo.CallerPhone) {
			v.Add(p+"caller_phone", "is not a phone number (mobile 1xxxxxxxxxx, landline 0xx-xxxxxxxx, or +86 forms)")
		}
	} else if !wo.NoCallback && !wo.AnsweredOnCall {
		v.Add(p+"caller_phone", "is required unless no_callback is set: the citizen is called back")
	}
	freetext.Check(p+"address", wo.Address, MaxAddressRunes, false, v)
	if wo.Location != nil {
		checkLocation(p+"location", *wo.Location, v)
	}
	if !wo.Urgency.Valid() {
		v.Add(p+"urgency", "unknown value %q", wo.Urgency)
	}
	checkAttachments(p+"attachments", wo.Attachments, v)
	if wo.AnsweredOnCall {
		if wo.AppealType != reference.Consultation {
			v.Add(p+"answered_on_call", "only a consultation can be answered on the call (appeal_type is %q)", wo.AppealType)
		}
		freetext.Check(p+"answer", wo.Answer, MaxTextRunes, true, v)
	} else if wo.Answer != "" {
		v.Add(p+"answer", "is only accepted with answered_on_call")
	}
}

func checkRequestID(field, id string, v *fault.Violations) {
	switch {
	case id == "":
		v.Add(field, "is required")
	case len(id) > MaxRequestID:
		v.Add(field, "is %d bytes long; at most %d", len(id), MaxRequestID)
	case !requestIDRE.MatchString(id):
		v.Add(field, "may hold only letters, digits and . _ : - (and must start with a letter or digit)")
	}
}

func checkTime(field string, t, now time.Time, required bool, v *fault.Violations) {
	switch {
	case t.IsZero() || t.Unix() == 0:
		if required {
			v.Add(field, "is required")
		}
	case t.After(now.Add(MaxClockSkew)):
		v.Add(field, "%s lies in the future (now %s)", t.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case t.Before(minTime):
		v.Add(field, "%s is before 2000", t.Format(time.RFC3339))
	}
}

func checkLocation(field string, p LatLng, v *fault.Violations) {
	switch p.Datum {
	case WGS84, GCJ02:
	case "":
		v.Add(field+".datum", "is required (WGS84 or GCJ02; Chinese map apps send GCJ02)")
	default:
		v.Add(field+".datum", "unknown value %q", p.Datum)
	}
	if math.IsNaN(p.Lat) || p.Lat < -90 || p.Lat > 90 {
		v.Add(field+".lat", "%v is outside [-90, 90]", p.Lat)
	}
	if math.IsNaN(p.Lng) || p.Lng < -180 || p.Lng > 180 {
		v.Add(field+".lng", "%v is outside [-180, 180]", p.Lng)
	}
}

func checkAttachments(field string, as []Attachment, v *fault.Violations) {
	if len(as) > MaxAttachments {
		v.Add(field, "has %d attachments; at most %d", len(as), MaxAttachments)
		return
	}
	for i, a := range as {
		f := field + "[" + strconv.Itoa(i) + "].uri"
		switch {
		case a.URI == "":
			v.Add(f, "is required")
		case !utf8.ValidString(a.URI) || len(a.URI) > 2048 || strings.ContainsAny(a.URI, " \t\r\n"):
			v.Add(f, "is not a valid reference (at most 2048 bytes, no spaces)")
		case !strings.Contains(a.URI, ":"):
			v.Add(f, "must be a URI with a scheme (e.g. s3://bucket/key, https://…)")
		}
		freetext.Check(field+"["+strconv.Itoa(i)+"].name", a.Name, MaxNameRunes, false, v)
	}
}
