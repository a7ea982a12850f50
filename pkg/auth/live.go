package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Source says where a service's credentials come from.
type Source struct {
	// KeyDir holds the public keys (*.pub) of every key in force; it wins
	// over KeyFile.
	KeyDir string
	// KeyFile is a single public key, never retiring (a deployment that
	// does not rotate).
	KeyFile string
	// Overlap is how long a key stays valid after the next key was made.
	Overlap time.Duration
	// DenyListFile is the deny list; empty: nothing can be revoked.
	DenyListFile string
}

func (s Source) load() (*KeySet, *DenyList, error) {
	var ks *KeySet
	var err error
	switch {
	case s.KeyDir != "":
		ks, err = LoadKeyDir(s.KeyDir, s.Overlap)
	case s.KeyFile != "":
		ks, err = LoadKeyFile(s.KeyFile)
	default:
		err = errors.New("no key directory or key file")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("keys: %w", err)
	}
	deny := &DenyList{}
	if s.DenyListFile != "" {
		if deny, err = LoadDenyList(s.DenyListFile); err != nil {
			return nil, nil, fmt.Errorf("deny list: %w", err)
		}
	}
	return ks, deny, nil
}

// stamp fingerprints the files of s cheaply (names, sizes, modification
// times), so a poll reloads only when one of them changed.
func (s Source) stamp() string {
	var parts []string
	add := func(path string) {
		if fi, err := os.Stat(path); err == nil {
			parts = append(parts, fmt.Sprintf("%s %d %d", path, fi.Size(), fi.ModTime().UnixNano()))
		} else {
			parts = append(parts, path+" absent")
		}
	}
	if s.KeyDir != "" {
		files, _ := filepath.Glob(filepath.Join(s.KeyDir, "*.pub"))
		sort.Strings(files)
		for _, f := range files {
			add(f)
		}
	} else if s.KeyFile != "" {
		add(s.KeyFile)
	}
	if s.DenyListFile != "" {
		add(s.DenyListFile)
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(sum[:8])
}

// Live holds a service's verifier and reloads its keys and deny list: on
// SIGHUP (it is a process.Reloadable) and when Poll sees their files change.
// A reload that fails keeps what is in force.
type Live struct {
	src Source
	v   *Verifier

	mu    sync.Mutex // serialises reloads
	stamp string
}

// NewLive loads src and returns the holder of its verifier.
func NewLive(src Source) (*Live, error) {
	stamp := src.stamp()
	ks, deny, err := src.load()
	if err != nil {
		return nil, err
	}
	return &Live{src: src, v: NewKeySetVerifier(ks, deny), stamp: stamp}, nil
}

// Verifier is the verifier the gRPC server checks tokens with; reloads
// change what it accepts in place.
func (l *Live) Verifier() *Verifier { return l.v }

// Name is what the log calls it.
func (l *Live) Name() string { return "credentials" }

// Attrs describe the keys in force and the deny list.
func (l *Live) Attrs() []any {
	l.v.mu.RLock()
	ks, deny := l.v.keys, l.v.deny
	l.v.mu.RUnlock()
	var keys []string
	for _, k := range ks.Keys() {
		s := k.ID
		if !k.Retires.IsZero() {
			s += " (retires " + k.Retires.UTC().Format(time.RFC3339) + ")"
		}
		keys = append(keys, s)
	}
	return []any{"keys", strings.Join(keys, ", "), "revocations", deny.Len(), "deny_list", l.src.DenyListFile}
}

// Refresh loads the keys and the deny list again.
func (l *Live) Refresh(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refresh()
}

func (l *Live) refresh() error {
	stamp := l.src.stamp()
	ks, deny, err := l.src.load()
	if err != nil {
		return err
	}
	l.v.Replace(ks, deny)
	l.stamp = stamp
	return nil
}

// Poll reloads every interval when a key or the deny list file changed, so
// a revocation reaches every service without a signal, until ctx ends.
func (l *Live) Poll(ctx context.Context, every time.Duration, log *slog.Logger) error {
	if every <= 0 {
		return nil
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		l.mu.Lock()
		cur := l.src.stamp()
		changed := cur != l.stamp
		var err error
		if changed {
			err = l.refresh()
			l.stamp = cur // a broken file is reported once, not every poll
		}
		l.mu.Unlock()
		switch {
		case err != nil:
			log.ErrorContext(ctx, "credentials reload failed; keeping what was loaded", "err", err)
		case changed:
			log.InfoContext(ctx, "credentials reloaded (files changed)", l.Attrs()...)
		}
	}
}
