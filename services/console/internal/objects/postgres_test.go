package objects_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/console/internal/objects"
)

// TestPGStore puts, gets and deletes an object in real PostgreSQL.
func TestPGStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := objects.NewPG(testenv.Pool(t, objects.Schema, 4, objects.Migrations...))

	body := []byte("\xff\xd8\xff\xe0 a photo")
	if err := s.Put(ctx, objects.Object{Key: "k1", ContentType: "image/jpeg", Meta: map[string]string{"owner": "patrol:w-0017"}, Body: body}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, objects.Object{Key: "k1", ContentType: "image/jpeg", Body: body}); err == nil {
		t.Error("a second Put under the same key succeeded; keys are written once")
	}
	got, err := s.Get(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if !bytes.Equal(got.Body, body) || got.ContentType != "image/jpeg" || got.Size != int64(len(body)) ||
		!bytes.Equal(got.SHA256, sum[:]) || got.Meta["owner"] != "patrol:w-0017" || got.CreatedAt.IsZero() {
		t.Errorf("Get = %+v", got)
	}
	if err := s.Delete(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "k1"); !errors.Is(err, objects.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "k1"); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
}
