package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/natsauth"
)

// readmeCommand is one shell command of a README block marked for the test:
// its text (continuation lines joined), the README line it starts on, and
// what its `# → …` comment says it prints.
type readmeCommand struct {
	line   int
	text   string
	expect string
}

// readmeInfo is the info string of the fenced blocks the test runs.
const readmeInfo = "sh readme-test"

var expectRE = regexp.MustCompile(`\s#\s*→\s*(.*?)\s*$`)

// readmeCommands reads the marked blocks of the README in order.
func readmeCommands(t *testing.T, path string) []readmeCommand {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []readmeCommand
	in, cont := false, false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !in && strings.TrimSpace(line) == "```"+readmeInfo:
			in = true
			continue
		case in && strings.TrimSpace(line) == "```":
			in, cont = false, false
			continue
		case !in:
			continue
		}
		trimmed := strings.TrimSpace(line)
		if !cont && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cont {
			last := &cmds[len(cmds)-1]
			last.text += "\n" + line
		} else {
			cmds = append(cmds, readmeCommand{line: n, text: line})
		}
		last := &cmds[len(cmds)-1]
		cont = strings.HasSuffix(line, "\\")
		if !cont {
			if m := expectRE.FindStringSubmatch(line); m != nil {
				last.expect = m[1]
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cmds
}

// readmeScript runs the commands in one shell, in order, as a reader pastes
// them: each command's output goes to out.N, its exit status to rc.N, and
// its expectation, expanded by the shell (so `# → $CASE  closed` means this
// case), to expect.N; the script stops at the first failure.
func readmeScript(cmds []readmeCommand, dir string) string {
	var b strings.Builder
	b.WriteString("set -o pipefail\n")
	for i, c := range cmds {
		fmt.Fprintf(&b, "{\n%s\n} >%q 2>&1\n", c.text, filepath.Join(dir, fmt.Sprintf("out.%d", i)))
		fmt.Fprintf(&b, "rc=$?; echo $rc >%q; [ $rc -eq 0 ] || exit 1\n", filepath.Join(dir, fmt.Sprintf("rc.%d", i)))
		if c.expect != "" {
			fmt.Fprintf(&b, "expect=$(cat <<README_EXPECT\n%s\nREADME_EXPECT\n)\n", c.expect)
			fmt.Fprintf(&b, "printf '%%s' \"$expect\" >%q\n", filepath.Join(dir, fmt.Sprintf("expect.%d", i)))
			fmt.Fprintf(&b, "grep -qF -- \"$expect\" %q || exit 1\n", filepath.Join(dir, fmt.Sprintf("out.%d", i)))
		}
	}
	b.WriteString("echo README-DONE\n")
	return b.String()
}

// TestReadmeTryIt runs the README's marked blocks — credentials and the
// whole closed loop of "Try it": submit, classified, dispatched, signed for,
// completed, replied, callback, closed, timeline — against a stack on
// non-default ports that gridctl finds only through the context file that
// `make up` writes (no --addr, no address in the environment). A command
// that fails, or prints no longer what its `# →` says, fails the test: the
// README a newcomer follows cannot rot.
func TestReadmeTryIt(t *testing.T) {
	readme, err := filepath.Abs("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cmds := readmeCommands(t, readme)
	all := ""
	for _, c := range cmds {
		all += c.text + "\n"
		if strings.Contains(c.text, "--addr") {
			t.Errorf("README.md:%d: a tested command passes --addr; gridctl must find the stack by itself", c.line)
		}
	}
	// The blocks must walk the whole loop: losing a step from the README
	// fails here rather than silently testing less.
	for _, step := range []string{"auth issue", "submit work-order", "submission show", "case wait", "classify show",
		"dispatch task list", "dispatch task ack", "dispatch task complete", "--state replied", "callback record",
		"case show", "case timeline"} {
		if !strings.Contains(all, step) {
			t.Errorf("README.md's %q blocks no longer run %q", readmeInfo, step)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	s := startStack(t)
	for svc, addr := range s.addrs {
		for _, def := range []string{":7101", ":7102", ":7103", ":7104", ":7180"} {
			if strings.HasSuffix(addr, def) {
				t.Fatalf("%s on the default port %s: the test wants moved ports", svc, addr)
			}
		}
	}
	repo := filepath.Dir(readme)
	work := t.TempDir()
	for name, target := range map[string]string{"bin": s.bin, "scripts": filepath.Join(repo, "scripts"), "pkg": filepath.Join(repo, "pkg")} {
		if err := os.Symlink(target, filepath.Join(work, name)); err != nil {
			t.Fatal(err)
		}
	}
	// The context file as scripts/stack.sh's write_context writes it.
	runDir := filepath.Join(work, ".run")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctxFile := "# written by TestReadmeTryIt as scripts/stack.sh up writes it\n"
	for _, svc := range []string{"intake", "classify", "dispatch", "feedback"} {
		ctxFile += strings.ToUpper(svc) + "_GRPC_ADDR=" + s.addrs[svc] + "\n"
	}
	ctxFile += "CONSOLE_HTTP_ADDR=" + s.addrs["console"] + "\nGRIDFLOW_NATS_URL=" + s.natsURL + "\nGRIDFLOW_KEY_DIR=" + s.keyDir + "\n"
	ctxFile += "GRIDFLOW_NATS_NKEY_FILE=" + natsauth.SeedFile(s.users, natsauth.Operator) + "\n"
	if err := os.WriteFile(filepath.Join(runDir, "context.env"), []byte(ctxFile), 0o644); err != nil {
		t.Fatal(err)
	}

	results := t.TempDir()
	script := readmeScript(cmds, results)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = work
	for _, kv := range os.Environ() {
		key, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasSuffix(key, "_GRPC_ADDR"), key == "GRIDFLOW_NATS_URL", key == "GRIDFLOW_KEY_DIR", key == "GRIDFLOW_NATS_NKEY_FILE",
			key == "GRIDFLOW_RUN_DIR", key == "GRIDFLOW_TOKEN":
			continue // gridctl must find the stack through the context file alone
		}
		cmd.Env = append(cmd.Env, kv)
	}
	out, runErr := cmd.CombinedOutput()

	ran := 0
	for i, c := range cmds {
		rcText, err := os.ReadFile(filepath.Join(results, fmt.Sprintf("rc.%d", i)))
		if err != nil {
			break
		}
		ran++
		got, _ := os.ReadFile(filepath.Join(results, fmt.Sprintf("out.%d", i)))
		t.Logf("README.md:%d: %s\n%s", c.line, c.text, got)
		if rc, _ := strconv.Atoi(strings.TrimSpace(string(rcText))); rc != 0 {
			t.Fatalf("README.md:%d: `%s` exited %d:\n%s", c.line, c.text, rc, got)
		}
		if c.expect == "" {
			continue
		}
		want, err := os.ReadFile(filepath.Join(results, fmt.Sprintf("expect.%d", i)))
		if err != nil || !strings.Contains(string(got), string(want)) {
			t.Fatalf("README.md:%d: `%s` does not print what the README says (# → %s, expanded %q); it printed:\n%s",
				c.line, c.text, c.expect, want, got)
		}
	}
	if runErr != nil || !strings.Contains(string(out), "README-DONE") || ran != len(cmds) {
		t.Fatalf("the README script stopped after %d of %d commands: %v\n%s", ran, len(cmds), runErr, out)
	}
}

// The parser reads what the README shows: continuation lines, comments and
// expectations; unmarked blocks are not run.
func TestReadmeCommandsParse(t *testing.T) {
	dir := t.TempDir()
	md := "# x\n```sh\nnot run\n```\n```sh readme-test\n# a comment\nA=$(echo 1)\necho \"$A\" \\\n  two   # → 1 two\n\nls   # no expectation\n```\n"
	path := filepath.Join(dir, "README.md")
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	got := readmeCommands(t, path)
	want := []readmeCommand{{7, "A=$(echo 1)", ""}, {8, "echo \"$A\" \\\n  two   # → 1 two", "1 two"}, {11, "ls   # no expectation", ""}}
	if len(got) != len(want) {
		t.Fatalf("commands = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("command %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
