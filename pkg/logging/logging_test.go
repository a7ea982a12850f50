package logging_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/gridflow/gridflow/pkg/logging"
)

// TestLogsMaskPhones: whatever text reaches a log line — the message, an
// attribute, an error — a phone number in it is masked.
func TestLogsMaskPhones(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := logging.New(&buf, "test", slog.LevelInfo)
	log.With("caller", "13812345678").Info("call 021-62345678 back", "phone", "139 8765 4321",
		"err", errors.New("insert: caller 13812345678 refused"), "count", 13812345678)
	out := buf.String()
	for _, clear := range []string{"13812345678\"", "62345678", "8765 4321", "caller 13812345678"} {
		if strings.Contains(out, clear) {
			t.Errorf("log line holds %q: %s", clear, out)
		}
	}
	for _, masked := range []string{"138****5678", "021-****5678", "139 **** 4321"} {
		if !strings.Contains(out, masked) {
			t.Errorf("log line lacks %q: %s", masked, out)
		}
	}
}
