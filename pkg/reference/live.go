package reference

import "sync/atomic"

// LoadFrom loads the shipped defaults overridden by dir's files, or the
// defaults alone when dir is empty (GRIDFLOW_REFERENCE_DIR unset).
func LoadFrom(dir string) (*Set, error) {
	if dir == "" {
		return LoadDefault()
	}
	return LoadDir(dir)
}

// Live is the set a running service uses. Reload swaps in a new set only
// when it validates, so a bad edit on disk never takes a service down; every
// reader sees one whole set or the other, never a mix.
type Live struct {
	dir string
	set atomic.Pointer[Set]
}

// Open loads the set from dir (see LoadFrom) for a service to run with.
func Open(dir string) (*Live, error) {
	s, err := LoadFrom(dir)
	if err != nil {
		return nil, err
	}
	l := &Live{dir: dir}
	l.set.Store(s)
	return l, nil
}

// Current is the set in force.
func (l *Live) Current() *Set { return l.set.Load() }

// Reload loads the set again and swaps it in when it is valid; on error
// the current set stays.
func (l *Live) Reload() (*Set, error) {
	s, err := LoadFrom(l.dir)
	if err != nil {
		return nil, err
	}
	l.set.Store(s)
	return s, nil
}
