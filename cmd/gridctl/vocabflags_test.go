package main

import (
	"strings"
	"testing"

	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// The urgency, appeal type and source flags take pkg/reference's names in
// any case, "" for unspecified, and name the flag when refusing anything
// else.
func TestVocabularyFlags(t *testing.T) {
	t.Parallel()
	type parse func(string) (int32, error)
	flags := []struct {
		flag  string
		parse parse
		ok    map[string]int32
	}{
		{"--urgency", func(s string) (int32, error) { v, err := urgencyFlag(s); return int32(v), err }, map[string]int32{
			"": 0, "normal": int32(typesv1.Urgency_URGENCY_NORMAL), "Urgent": int32(typesv1.Urgency_URGENCY_URGENT),
			"EMERGENCY": int32(typesv1.Urgency_URGENCY_EMERGENCY)}},
		{"--appeal-type", func(s string) (int32, error) { v, err := appealTypeFlag(s); return int32(v), err }, map[string]int32{
			"": 0, "consultation": int32(typesv1.AppealType_APPEAL_TYPE_CONSULTATION), "help": int32(typesv1.AppealType_APPEAL_TYPE_HELP),
			"complaint": int32(typesv1.AppealType_APPEAL_TYPE_COMPLAINT), "Report": int32(typesv1.AppealType_APPEAL_TYPE_REPORT),
			"suggestion": int32(typesv1.AppealType_APPEAL_TYPE_SUGGESTION), "praise": int32(typesv1.AppealType_APPEAL_TYPE_PRAISE)}},
		{"--source", func(s string) (int32, error) { v, err := sourceFlag(s); return int32(v), err }, map[string]int32{
			"": 0, "hotline": int32(typesv1.Source_SOURCE_HOTLINE), "Patrol": int32(typesv1.Source_SOURCE_PATROL),
			"secretary": int32(typesv1.Source_SOURCE_SECRETARY)}},
	}
	for _, f := range flags {
		for in, want := range f.ok {
			got, err := f.parse(in)
			if err != nil || got != want {
				t.Errorf("%s %q = %d, %v; want %d", f.flag, in, got, err, want)
			}
		}
		for _, bad := range []string{"unspecified", "bogus", "enum#1"} {
			if _, err := f.parse(bad); err == nil || !strings.HasPrefix(err.Error(), f.flag+" ") {
				t.Errorf("%s %q: err = %v, want one naming the flag", f.flag, bad, err)
			}
		}
	}
}
