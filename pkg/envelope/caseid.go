package envelope

import "google.golang.org/protobuf/encoding/protowire"

// caseIDField is gridflow.events.v1.Envelope's case_id (TestCaseID checks
// it against the generated type).
const caseIDField = 3

// CaseID reads the case_id of an encoded Envelope without decoding the rest:
// what a consumer's OrderKey needs for every message of a fetch, before the
// handler decodes it once (issue 17). "" if it has none or b does not parse.
func CaseID(b []byte) string {
	id := ""
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ""
		}
		b = b[n:]
		if num == caseIDField && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return ""
			}
			id, b = string(v), b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return ""
		}
		b = b[n:]
	}
	return id
}
