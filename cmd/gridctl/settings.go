package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gridflow/gridflow/pkg/natsauth"
)

// ContextFile is the file in the run directory where `make up` / `make run`
// (scripts/stack.sh) write the addresses the stack actually runs on, so that
// gridctl in another shell drives a stack started on moved ports without
// flags.
const ContextFile = "context.env"

// The settings gridctl reads: the same names the services and scripts read.
const (
	envRunDir = "GRIDFLOW_RUN_DIR"
	envNATS   = "GRIDFLOW_NATS_URL"
	envKeyDir = "GRIDFLOW_KEY_DIR"
	// envNKey is the operator's NATS user (its nkey seed file), which
	// events tail reads the stream as; by default the one the stack
	// generated in <run dir>/nats/users.
	envNKey = "GRIDFLOW_NATS_NKEY_FILE"
)

// natsUsersDir is where the stack keeps its NATS users' seeds and
// nats-server's authorization block (gridctl nats users), in the run dir.
const natsUsersDir = "nats/users"

// service is one service gridctl dials: its setting and its default.
type service struct {
	name, setting, def string
}

var (
	svcIntake   = service{"intake", "INTAKE_GRPC_ADDR", "127.0.0.1:7101"}
	svcClassify = service{"classify", "CLASSIFY_GRPC_ADDR", "127.0.0.1:7102"}
	svcDispatch = service{"dispatch", "DISPATCH_GRPC_ADDR", "127.0.0.1:7103"}
	svcFeedback = service{"feedback", "FEEDBACK_GRPC_ADDR", "127.0.0.1:7104"}
	svcNATS     = service{"nats", envNATS, "nats://127.0.0.1:14222"}
	services    = []service{svcIntake, svcClassify, svcDispatch, svcFeedback, svcNATS}
)

// settingsHelp is how gridctl finds the stack, for --help and the README.
const settingsHelp = `How gridctl finds the stack, first match wins:
  1. --addr (the one service the command calls), --nats, --nkey, --key-dir;
  2. the environment the services and scripts read: INTAKE_GRPC_ADDR, CLASSIFY_GRPC_ADDR,
     DISPATCH_GRPC_ADDR, FEEDBACK_GRPC_ADDR, GRIDFLOW_NATS_URL, GRIDFLOW_NATS_NKEY_FILE,
     GRIDFLOW_KEY_DIR;
  3. the context file that make up / make run write with the addresses in effect:
     $GRIDFLOW_RUN_DIR/context.env, else .run/context.env in the working directory or the
     nearest parent that has a .run directory (the repository's);
  4. the defaults: intake 127.0.0.1:7101, classify :7102, dispatch :7103, feedback :7104,
     NATS nats://127.0.0.1:14222 as the operator's NATS user <run dir>/nats/users/gridctl.nk
     (none when that file is missing), keys in <run dir>/keys.
` + "`gridctl context`" + ` shows what it resolved and from where.`

// setting is a resolved value and where it came from.
type setting struct {
	value, from string
}

// settings are gridctl's resolved addresses and key directory.
type settings struct {
	runDir  string // "" when none was found
	file    string // the context file read, "" when none
	values  map[string]setting
	fileErr error // a context file that exists but cannot be read
}

// loadSettings resolves every setting from the environment, the context
// file and the defaults (flags are applied by the caller, they win).
func loadSettings(getenv func(string) string, cwd string) *settings {
	s := &settings{values: map[string]setting{}}
	s.runDir = findRunDir(getenv, cwd)
	file := map[string]string{}
	if s.runDir != "" {
		path := filepath.Join(s.runDir, ContextFile)
		kv, err := readContext(path)
		switch {
		case err == nil:
			file, s.file = kv, path
		case !errors.Is(err, fs.ErrNotExist):
			s.fileErr = err
		}
	}
	pick := func(key, def string) setting {
		if v := getenv(key); v != "" {
			return setting{v, "$" + key}
		}
		if v := file[key]; v != "" {
			return setting{v, s.file}
		}
		return setting{def, "default"}
	}
	for _, svc := range services {
		s.values[svc.setting] = pick(svc.setting, svc.def)
	}
	keys := ".run/keys"
	if s.runDir != "" {
		keys = filepath.Join(s.runDir, "keys")
	}
	s.values[envKeyDir] = pick(envKeyDir, keys)
	users := filepath.FromSlash(".run/" + natsUsersDir)
	if s.runDir != "" {
		users = filepath.Join(s.runDir, natsUsersDir)
	}
	s.values[envNKey] = pick(envNKey, natsauth.SeedFile(users, natsauth.Operator))
	return s
}

func (s *settings) get(key string) setting { return s.values[key] }

// findRunDir is $GRIDFLOW_RUN_DIR, else the .run directory of the working
// directory or of its nearest parent that has one.
func findRunDir(getenv func(string) string, cwd string) string {
	if d := getenv(envRunDir); d != "" {
		return d
	}
	for dir := cwd; dir != ""; {
		if fi, err := os.Stat(filepath.Join(dir, ".run")); err == nil && fi.IsDir() {
			return filepath.Join(dir, ".run")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return ""
}

// readContext reads KEY=VALUE lines; blank lines and # comments are
// skipped, and a value may be quoted as a shell would write it.
func readContext(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || key == "" || strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("%s:%d: want KEY=VALUE, got %q", path, n, line)
		}
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		out[key] = value
	}
	return out, sc.Err()
}
