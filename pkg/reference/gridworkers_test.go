package reference

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

func TestGridWorkersOfTheDefaults(t *testing.T) {
	s, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range s.grids {
		w, ok := s.WorkerOfGrid(g.Code)
		if !ok || w.Role != RoleWorker || !w.Covers(g.Code) {
			t.Errorf("grid %s: worker %+v, %v", g.Code, w, ok)
		}
		l, ok := s.LeaderOfGrid(g.Code)
		if !ok || l.Role != RoleLeader || !l.Covers(g.Code) {
			t.Errorf("grid %s: leader %+v, %v", g.Code, l, ok)
		}
	}
	if w, ok := s.GridWorker("w-022001001"); !ok || w.Grids[0] != "310106022001001" {
		t.Errorf("GridWorker(w-022001001) = %+v, %v", w, ok)
	}
	if _, ok := s.WorkerOfGrid("310106022009009"); ok {
		t.Error("an unknown grid has a worker")
	}
}

func TestGridWorkersRefused(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, f := range Files {
		data, err := fs.ReadFile(DefaultFS(), f)
		if err != nil {
			t.Fatal(err)
		}
		fsys[f] = &fstest.MapFile{Data: data}
	}
	fsys[FileGridWorkers] = &fstest.MapFile{Data: []byte(`workers:
  - id: w-1
    name: 甲
    role: worker
    grids: ["310106022001001"]
  - id: w-2
    name: 乙
    role: worker
    grids: ["310106022001001", "310106099001001"]
  - id: w-1
    name: ""
    role: boss
    grids: []
    notify: "ftp://x"
`)}
	_, err := Load(fsys)
	if err == nil {
		t.Fatal("a bad register loaded")
	}
	for _, want := range []string{
		"grid 310106022001001 already has worker w-1",
		`unknown grid "310106099001001"`,
		"duplicate id", "no name", "role must be worker or leader", "covers no grid",
		"notify: must be an http or https URL",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
