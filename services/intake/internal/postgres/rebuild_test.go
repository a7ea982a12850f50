package postgres_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/intake/internal/events"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"github.com/gridflow/gridflow/services/intake/internal/postgres"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// case.received is kept in the outbox by reference to its case. When the
// fast path never published it (a crash between commit and hand-over), the
// poller rebuilds it from the stored submission: the same event, same id.
func TestReceivedIsRebuiltFromTheSubmission(t *testing.T) {
	st, pool := newStore(t) // no relay: nothing is handed to a fast path
	_, js := testenv.JetStream(t)
	ctx := context.Background()

	at := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	loc := &intake.LatLng{Lat: 31.27, Lng: 121.45}
	subs := []*intake.Submission{
		submission("H-REBUILD", "hash-r"),
		{Source: reference.FromHotline, AcceptedAt: at, Principal: "hotline:h-2", RequestID: "H-ANSWERED", RequestHash: "hash-x",
			Area: intake.Area{AreaCodes: reference.AreaCodes{District: "310106", Street: "0", Community: "0", Grid: "0"}, Resolution: intake.ResolvedPartly},
			WorkOrder: &intake.WorkOrder{HotlineOrderNo: "H-ANSWERED", ReceivedAt: at, AppealType: reference.Consultation,
				Title: "咨询", Content: "垃圾分类时间？", AnsweredOnCall: true, Answer: "早7点至9点"}},
		patrolSubmission("P-REBUILD"),
	}
	subs[2].Location = loc
	var stored []*intake.Submission
	for _, s := range subs {
		got, created, err := st.Create(ctx, s)
		if err != nil || !created {
			t.Fatalf("Create = %v, %v", created, err)
		}
		stored = append(stored, got)
	}
	var withData int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE data IS NOT NULL`).Scan(&withData); err != nil || withData != 0 {
		t.Fatalf("%d outbox rows carry their payload (%v); want 0, kept by reference", withData, err)
	}

	relay := outbox.NewRelay(pool, js, slog.Default(), outbox.RelayOptions{Rebuild: postgres.Rebuild})
	if n, err := relay.Flush(ctx); err != nil || n != len(subs) {
		t.Fatalf("Flush = %d, %v; want %d", n, err, len(subs))
	}
	stream, err := js.Stream(ctx, natsjs.StreamGrid)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range stored {
		m, err := stream.GetMsg(ctx, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		var got eventsv1.Envelope
		if err := proto.Unmarshal(m.Data, &got); err != nil {
			t.Fatal(err)
		}
		want, err := events.ReceivedAs(got.GetEventId(), s, s.Principal, s.AcceptedAt)
		if err != nil {
			t.Fatal(err)
		}
		var wantEnv eventsv1.Envelope
		if err := proto.Unmarshal(want.Data, &wantEnv); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(&got, &wantEnv) {
			t.Errorf("rebuilt event %d\n got %v\nwant %v", i, &got, &wantEnv)
		}
		if m.Subject != want.Subject || m.Header.Get("Nats-Msg-Id") != got.GetEventId() {
			t.Errorf("event %d on %s with id %s; want %s", i, m.Subject, m.Header.Get("Nats-Msg-Id"), want.Subject)
		}
	}
}
