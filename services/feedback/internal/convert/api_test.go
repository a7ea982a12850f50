package convert

import (
	"testing"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"

	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// CaseOut maps the vocabulary through pkg/wire, including the
// "unspecified" that feedback stored for an UNSPECIFIED urgency or appeal
// type before it read them into pkg/reference's types.
func TestCaseOutVocabulary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		urgency    reference.Urgency
		appeal     reference.AppealType
		wantUrg    typesv1.Urgency
		wantAppeal typesv1.AppealType
	}{
		{reference.Urgent, reference.Complaint, typesv1.Urgency_URGENCY_URGENT, typesv1.AppealType_APPEAL_TYPE_COMPLAINT},
		{"", "", typesv1.Urgency_URGENCY_UNSPECIFIED, typesv1.AppealType_APPEAL_TYPE_UNSPECIFIED},
		{"unspecified", "unspecified", typesv1.Urgency_URGENCY_UNSPECIFIED, typesv1.AppealType_APPEAL_TYPE_UNSPECIFIED},
	}
	for _, tt := range tests {
		c := &feedback.Case{ID: "c1", Source: reference.FromPatrol, Urgency: tt.urgency, AppealType: tt.appeal,
			Area: reference.AreaCodes{District: "310106", Street: "310106022", Community: "0", Grid: "0"}}
		out := CaseOut(c, nil)
		if out.GetUrgency() != tt.wantUrg || out.GetAppealType() != tt.wantAppeal || out.GetSource() != typesv1.Source_SOURCE_PATROL {
			t.Errorf("%q/%q: got %v %v %v", tt.urgency, tt.appeal, out.GetUrgency(), out.GetAppealType(), out.GetSource())
		}
		if a := out.GetArea(); a.GetDistrictCode() != "310106" || a.GetStreetCode() != "310106022" || a.GetCommunityCode() != "0" || a.GetGridCode() != "0" {
			t.Errorf("area = %v", a)
		}
	}
}
