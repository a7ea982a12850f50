package main

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func writeContext(t *testing.T, runDir, text string) {
	t.Helper()
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(runDir, ContextFile), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Precedence: the environment, then the context file, then the defaults
// (flags come first and are the commands' business).
func TestSettingsPrecedence(t *testing.T) {
	t.Parallel()
	repo := t.TempDir()
	run := filepath.Join(repo, ".run")
	writeContext(t, run, "# written by scripts/stack.sh\nINTAKE_GRPC_ADDR=127.0.0.1:27101\n"+
		"export CLASSIFY_GRPC_ADDR=\"127.0.0.1:27102\"\n\nGRIDFLOW_NATS_URL=nats://127.0.0.1:24222\nGRIDFLOW_KEY_DIR=/keys/from/file\n")
	sub := filepath.Join(repo, "services", "dispatch")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	s := loadSettings(env(map[string]string{"CLASSIFY_GRPC_ADDR": "127.0.0.1:37102"}), sub) // found by walking up
	got := map[string]setting{}
	for k, v := range s.values {
		got[k] = v
	}
	file := filepath.Join(run, ContextFile)
	want := map[string]setting{
		"INTAKE_GRPC_ADDR":   {"127.0.0.1:27101", file},
		"CLASSIFY_GRPC_ADDR": {"127.0.0.1:37102", "$CLASSIFY_GRPC_ADDR"},
		"DISPATCH_GRPC_ADDR": {"127.0.0.1:7103", "default"},
		"FEEDBACK_GRPC_ADDR": {"127.0.0.1:7104", "default"},
		"GRIDFLOW_NATS_URL":  {"nats://127.0.0.1:24222", file},
		"GRIDFLOW_KEY_DIR":   {"/keys/from/file", file},
		// The operator's NATS user, where the stack generates it.
		"GRIDFLOW_NATS_NKEY_FILE": {filepath.Join(run, "nats", "users", "gridctl.nk"), "default"},
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d settings, want %d: %v", len(got), len(want), got)
	}
	if s.runDir != run || s.file != file {
		t.Errorf("run dir %q, file %q; want %q, %q", s.runDir, s.file, run, file)
	}
}

func TestSettingsWithoutContext(t *testing.T) {
	t.Parallel()
	// GRIDFLOW_RUN_DIR names the run directory; without a context file
	// there the defaults hold, and the keys live in it.
	run := filepath.Join(t.TempDir(), "elsewhere")
	s := loadSettings(env(map[string]string{"GRIDFLOW_RUN_DIR": run}), t.TempDir())
	if got := s.get("INTAKE_GRPC_ADDR"); got != (setting{"127.0.0.1:7101", "default"}) {
		t.Errorf("intake = %v, want the default", got)
	}
	if got := s.get("GRIDFLOW_KEY_DIR").value; got != filepath.Join(run, "keys") {
		t.Errorf("keys = %q, want %q", got, filepath.Join(run, "keys"))
	}
	if s.file != "" || s.fileErr != nil {
		t.Errorf("file %q, %v; want none", s.file, s.fileErr)
	}
}

func TestSettingsBadContextFile(t *testing.T) {
	t.Parallel()
	run := t.TempDir()
	writeContext(t, run, "INTAKE_GRPC_ADDR 127.0.0.1:1\n")
	s := loadSettings(env(map[string]string{"GRIDFLOW_RUN_DIR": run}), t.TempDir())
	if s.fileErr == nil || !strings.Contains(s.fileErr.Error(), "context.env:1") {
		t.Errorf("fileErr = %v, want the file and line", s.fileErr)
	}
}

// --addr wins over the environment and the context file; `gridctl context`
// says where each value came from.
func TestContextCommand(t *testing.T) {
	run := t.TempDir()
	writeContext(t, run, "DISPATCH_GRPC_ADDR=127.0.0.1:27103\n")
	t.Setenv("GRIDFLOW_RUN_DIR", run)
	t.Setenv("FEEDBACK_GRPC_ADDR", "127.0.0.1:37104")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"context"}, []string{"dispatch 127.0.0.1:27103 (" + filepath.Join(run, ContextFile) + ")",
			"feedback 127.0.0.1:37104 ($FEEDBACK_GRPC_ADDR)", "intake 127.0.0.1:7101 (default)"}},
		{[]string{"--addr", "127.0.0.1:47000", "context"}, []string{"dispatch 127.0.0.1:47000 (--addr)"}},
	} {
		root := newRoot()
		var out strings.Builder
		root.SetOut(&out)
		root.SetArgs(tc.args)
		if err := root.Execute(); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		var lines []string
		for l := range strings.Lines(out.String()) {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
		for _, w := range tc.want {
			if !slices.Contains(lines, w) {
				t.Errorf("gridctl %v printed\n%s\nwant a line with %q", tc.args, out.String(), w)
			}
		}
	}
}

// A stack that does not answer is reported with the address dialled and
// where gridctl took it from.
func TestUnavailableNamesTheAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	run := t.TempDir()
	writeContext(t, run, "INTAKE_GRPC_ADDR="+addr+"\n")
	t.Setenv("GRIDFLOW_RUN_DIR", run)
	t.Setenv("INTAKE_GRPC_ADDR", "")
	root := newRoot()
	root.SetArgs([]string{"--token", "t", "--timeout", "5s", "submission", "show", "GF-20261203-000001"})
	err = root.Execute()
	if err == nil || !strings.Contains(err.Error(), "Unavailable") || !strings.Contains(err.Error(), "intake at "+addr+" (from "+filepath.Join(run, ContextFile)+")") {
		t.Errorf("err = %v, want Unavailable naming intake at %s and the context file", err, addr)
	}
}
