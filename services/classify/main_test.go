package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/config"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/sethvargo/go-envconfig"
)

func TestConfigDefaults(t *testing.T) {
	cfg, err := config.LoadFrom[Config](context.Background(), envconfig.MapLookuper(nil))
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.domain()
	if d.ReviewThreshold != 0.3 || d.ClassThreshold != 0.6 || d.ReviewTimeout != 30*time.Minute || d.IncidentThreshold != 5 ||
		d.LinkWindow != 24*time.Hour || d.CellSize != 150 || d.RepeatLabel != "重复投诉" || d.Choices != 5 {
		t.Errorf("defaults = %+v", d)
	}
	// The item and scope settings default to the domain's defaults, which
	// `classify served` (make eval-classify) measures.
	def := classify.DefaultConfig()
	if d.ItemThreshold != def.ItemThreshold || d.ItemWindow != def.ItemWindow || d.ScopeThreshold != def.ScopeThreshold {
		t.Errorf("item settings = %v %v %v, want the domain defaults %v %v %v", d.ItemThreshold, d.ItemWindow, d.ScopeThreshold,
			def.ItemThreshold, def.ItemWindow, def.ScopeThreshold)
	}
}

func TestConfigRejects(t *testing.T) {
	for k, v := range map[string]string{
		"CLASSIFY_REVIEW_THRESHOLD":   "1.5",
		"CLASSIFY_REVIEW_TIMEOUT":     "0s",
		"CLASSIFY_INCIDENT_THRESHOLD": "1",
		"CLASSIFY_CELL_METRES":        "1",
		"CLASSIFY_ITEM_THRESHOLD":     "-1",
		"CLASSIFY_ITEM_WINDOW":        "-5",
		// issue 15: the history's item labels without the history they label
		"CLASSIFY_ITEM_HISTORY_LABELS_FILE": "testdata/train_items.tsv",
	} {
		_, err := config.LoadFrom[Config](context.Background(), envconfig.MapLookuper(map[string]string{k: v}))
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v, want an error naming it", k, v, err)
		}
	}
}
