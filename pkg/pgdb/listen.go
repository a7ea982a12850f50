package pgdb

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gridflow/gridflow/pkg/pause"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Listen keeps a dedicated connection LISTENing on the channel that
// channelSQL names (a SQL expression, e.g. 'x_' || current_schema(), so
// each service's schema gets its own channel) and calls wake for every
// notification, and once after each (re)connect for whatever was sent while
// nobody listened. It reconnects with backoff until ctx ends. A NOTIFY sent
// in a transaction is delivered only if it commits, which makes it the right
// signal for "new rows are visible".
func Listen(ctx context.Context, pool *pgxpool.Pool, channelSQL string, log *slog.Logger, wake func()) {
	retry := 500 * time.Millisecond
	for {
		err := listenOnce(ctx, pool, channelSQL, wake)
		if ctx.Err() != nil {
			return
		}
		log.WarnContext(ctx, "LISTEN connection lost; polling until it is back", "err", err, "retry_in", retry)
		if !pause.For(ctx, retry) {
			return
		}
		retry = min(retry*2, 30*time.Second)
	}
}

func listenOnce(ctx context.Context, pool *pgxpool.Pool, channelSQL string, wake func()) error {
	// Not from the pool: a listening connection is held for good and must
	// not starve the pool's other users.
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	var channel string
	if err := conn.QueryRow(ctx, `SELECT `+channelSQL).Scan(&channel); err != nil {
		return fmt.Errorf("channel name: %w", err)
	}
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}
