// Command console is gridflow's web door: the dispatchers' page, the
// HTTP/JSON API and Open311. It holds no domain state. Until its issue lands
// it serves a landing page that lists the stack and its admin port.
package main

import (
	"context"
	"html/template"
	"net/http"
	"time"

	"github.com/gridflow/gridflow/pkg/config"
	"github.com/gridflow/gridflow/pkg/process"
)

// Config is the console's configuration.
type Config struct {
	config.Base
	HTTPAddr  string `env:"CONSOLE_HTTP_ADDR, default=127.0.0.1:7180"`
	AdminAddr string `env:"CONSOLE_ADMIN_ADDR, default=127.0.0.1:7205"`
}

func main() { process.Main(run) }

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>gridflow 城运中心</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:48rem}code{background:#eee;padding:0 .3em}</style></head>
<body><h1>gridflow</h1>
<p>网格化管理 — every problem to the department that can fix it, on time, with the loop closed.</p>
<p>The dispatchers' console arrives with its issue. Until then use <code>gridctl</code>:
<code>bin/gridctl submission show GF-…</code>, <code>bin/gridctl events tail --follow</code>.</p>
<p>Served at {{.}}.</p></body></html>`))

func run(ctx context.Context) error {
	cfg, err := config.Load[Config](ctx)
	if err != nil {
		return err
	}
	p, err := process.Start(ctx, "console", cfg.Base, cfg)
	if err != nil {
		return err
	}
	defer p.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, time.Now().Format(time.RFC3339))
	})
	if err := p.HTTP(cfg.HTTPAddr, "CONSOLE_HTTP_ADDR", mux); err != nil {
		return err
	}
	if err := p.Admin(cfg.AdminAddr, "CONSOLE_ADMIN_ADDR"); err != nil {
		return err
	}
	return p.Wait()
}
