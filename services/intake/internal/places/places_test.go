package places_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"github.com/gridflow/gridflow/services/intake/internal/places"
)

// Places keeps no set of its own: once the service's holder reloads, the
// next lookup uses the new set and an index built for it.
func TestPlacesFollowTheReloadedSet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ref, err := reference.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := places.New(ref.Current)
	here := intake.LatLng{Lat: 31.2540, Lng: 121.4520, Datum: intake.WGS84}
	moved := intake.LatLng{Lat: 32.2540, Lng: 121.4520, Datum: intake.WGS84}
	const grid = "310106022001001"
	if a, ok := p.Locate(here); !ok || a.Grid != grid || !p.InCity(here) || p.InCity(moved) {
		t.Fatalf("before the reload: Locate = %+v, %v; InCity(here) %v, InCity(moved) %v", a, ok, p.InCity(here), p.InCity(moved))
	}

	// The same city one degree further north.
	areas, err := fs.ReadFile(reference.DefaultFS(), "areas.yaml")
	if err != nil {
		t.Fatal(err)
	}
	shifted := strings.ReplaceAll(string(areas), "[31.", "[32.")
	if err := os.WriteFile(filepath.Join(dir, "areas.yaml"), []byte(shifted), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ref.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Locate(here); ok || p.InCity(here) {
		t.Errorf("after the reload the old place is still found (InCity %v)", p.InCity(here))
	}
	if a, ok := p.Locate(moved); !ok || a.Grid != grid || !p.InCity(moved) {
		t.Errorf("after the reload: Locate(moved) = %+v, %v; InCity %v", a, ok, p.InCity(moved))
	}
}
