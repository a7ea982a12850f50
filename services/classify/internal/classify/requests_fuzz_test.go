package classify_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/classify/memstore"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

// Fuzz targets for classify's request validators, driven through the
// service's own calls on the in-memory store (the validators run first;
// the store only answers lookups). Seeds in testdata/fuzz/<target>. Each
// checks: no panic; no internal error; a refusal is InvalidArgument naming
// only the request's fields with reasons (testenv.Refusal); what is
// accepted obeys what the store relies on.

// fuzzService is classify on the in-memory store, with one case in the
// review queue ("queued") and one filed by a dispatcher ("filed").
func fuzzService(f *testing.F) *classify.Service {
	ref, err := reference.LoadDefault()
	if err != nil {
		f.Fatal(err)
	}
	rs, err := rules.Load("", ref)
	if err != nil {
		f.Fatal(err)
	}
	store := memstore.New()
	svc := classify.New(classify.DefaultConfig(), store, classify.Deps{
		Reference: func() *reference.Set { return ref }, Rules: func() *rules.Set { return rs },
		Model: func() classify.Model { return testModel },
		Now:   func() time.Time { return t0 },
	})
	for id, content := range map[string]string{"queued": "有点事情", "filed": "小区门口有人占道经营卖水果"} {
		c := classify.Case{ID: id, Number: "GF-20260302-0000" + map[string]string{"queued": "01", "filed": "02"}[id],
			Source: reference.FromHotline, AppealType: reference.Complaint, Content: content, ReceivedAt: t0,
			Area: reference.AreaCodes{District: "310106", Street: "310106022", Community: "0", Grid: "0"}}
		if err := store.InTx(context.Background(), func(tx classify.Tx) error { return svc.Receive(context.Background(), tx, c) }); err != nil {
			f.Fatal(err)
		}
	}
	// The model is unsure of both; a dispatcher files the one.
	if _, err := svc.ResolveReview(as("admin"), classify.Decision{RequestID: "setup", CaseID: "filed", ItemCode: "09006"}); err != nil {
		f.Fatal(err)
	}
	return svc
}

// answered checks err is nil, a refusal naming fields, or one of the
// honest codes a valid request may meet; never internal.
func answered(t *testing.T, err error, fields ...string) bool {
	t.Helper()
	if err == nil {
		return true
	}
	if fault.KindOf(err) == fault.InvalidArgument {
		testenv.Refusal(t, err, fields...)
		return false
	}
	var f *fault.Error
	if !errors.As(err, &f) || f.Kind == fault.Internal {
		t.Fatalf("internal error: %v", err)
	}
	return false
}

func wellFormedCode(t *testing.T, field, s string) {
	t.Helper()
	if !utf8.ValidString(s) || len(s) > classify.MaxCodeBytes || strings.ContainsFunc(s, freetext.Control) || strings.ContainsAny(s, " \t\r\n") {
		t.Fatalf("accepted %s %q", field, s)
	}
}

// FuzzDecision: a dispatcher's ResolveReview and Reclassify. An accepted
// decision files the case under the item asked for, with the urgency asked
// for when one is given.
func FuzzDecision(f *testing.F) {
	svc := fuzzService(f)
	ctx := as("admin")
	f.Fuzz(func(t *testing.T, requestID, caseID, item, urgency, note string, resolve bool) {
		d := classify.Decision{RequestID: requestID, CaseID: caseID, ItemCode: item, Urgency: reference.Urgency(urgency), Note: note}
		call := svc.Reclassify
		if resolve {
			call = svc.ResolveReview
		}
		c, err := call(ctx, d)
		if !answered(t, err, "request_id", "case_id", "item_code", "urgency", "note") {
			return
		}
		wellFormedCode(t, "case_id", caseID)
		if n := strings.TrimSpace(note); !utf8.ValidString(n) || strings.ContainsFunc(n, freetext.Control) || utf8.RuneCountInString(n) > classify.MaxNoteRunes {
			t.Fatalf("accepted note %q", note)
		}
		if c.CaseID != caseID || c.ItemCode != item {
			t.Fatalf("decision %+v filed as %s under %s", d, c.CaseID, c.ItemCode)
		}
		if d.Urgency != "" && c.Urgency != d.Urgency {
			t.Fatalf("urgency %q asked, %q filed", d.Urgency, c.Urgency)
		}
	})
}

// FuzzQueries: the read calls' filters — district and street codes, page
// sizes and tokens, minimum reports, incident ids, catalogue keys, the
// corrections' time.
func FuzzQueries(f *testing.F) {
	svc := fuzzService(f)
	ctx := as("admin")
	f.Fuzz(func(t *testing.T, district, street string, pageSize int, pageToken string, minReports int, key, name string, afterSec int64, tree uint8) {
		if _, _, err := svc.ListReviewQueue(ctx, classify.ReviewFilter{District: district, Street: street, PageSize: pageSize, PageToken: pageToken}); answered(t, err, "district_code", "street_code", "page_size", "page_token") {
			wellFormedCode(t, "district_code", district)
			wellFormedCode(t, "street_code", street)
		}
		if incs, _, err := svc.ListIncidents(ctx, classify.IncidentFilter{District: district, Street: street, MinReports: minReports, PageSize: pageSize, PageToken: pageToken}); answered(t, err, "district_code", "street_code", "page_size", "page_token", "min_reports") {
			if pageSize < 0 || len(incs) > 500 {
				t.Fatalf("page size %d answered %d incidents", pageSize, len(incs))
			}
		}
		after := time.Time{}
		if afterSec != 0 {
			after = time.Unix(afterSec, 0).UTC()
		}
		if _, _, err := svc.ListCorrections(ctx, classify.CorrectionFilter{After: after, PageSize: pageSize, PageToken: pageToken}); answered(t, err, "corrected_after", "page_size", "page_token") {
			if _, err := after.MarshalJSON(); err != nil {
				t.Fatalf("accepted corrected_after %v", after)
			}
		}
		if _, _, err := svc.GetIncident(ctx, key); answered(t, err, "incident_id") {
			wellFormedCode(t, "incident_id", key)
		}
		if it, err := svc.GetCatalogueItem(ctx, key, name); answered(t, err, "code", "name", "key") {
			if it.Code == "" {
				t.Fatalf("GetCatalogueItem(%q, %q) found an entry without a code", key, name)
			}
		}
		if items, next, _, err := svc.ListCatalogue(ctx, classify.CatalogueFilter{Tree: reference.Tree(tree % 4), Class: name, PageSize: pageSize, PageToken: pageToken}); answered(t, err, "class_code", "page_size", "page_token") {
			if len(items) > 500 || (next != "" && len(items) == 0) {
				t.Fatalf("catalogue page of %d entries, next %q", len(items), next)
			}
		}
	})
}
