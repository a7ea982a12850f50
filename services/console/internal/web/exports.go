package web

// The three lists' export over HTTP (issue 20): the files gridctl export
// lists writes (pkg/listexport), one per request, for a community and a
// month, read through feedback's ListsService as the account's principal —
// whose row of the RPC table decides which communities it may export.

import (
	"net/http"
	"slices"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/listexport"
)

func (s *Server) exportsRoutes() {
	s.page("GET /exports/lists/{file}", s.exportList)
}

// exportList answers GET /exports/lists/{file}?community=C&month=YYYY-MM
// with one of listexport.Names as an Excel-safe CSV attachment. A
// secretary's community is its own when it names none; the month defaults
// to the current one.
func (s *Server) exportList(w http.ResponseWriter, r *http.Request) {
	plain := func(code int, msg string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(msg + "\n"))
	}
	if s.opts.Lists == nil {
		plain(http.StatusNotImplemented, "导出未配置：控制台没有连接清单服务。")
		return
	}
	name := r.PathValue("file")
	if !slices.Contains(listexport.Names, name) {
		plain(http.StatusNotFound, "没有这个文件：可导出 problems.csv、needs.csv、services.csv、figures.csv、subjects.csv。")
		return
	}
	acting := sessionOf(r.Context()).Account.Acting()
	community := r.URL.Query().Get("community")
	if community == "" && acting.Role == auth.RoleSecretary {
		community = acting.Subject
	}
	month := r.URL.Query().Get("month")
	if month == "" {
		month = time.Now().In(shanghai).Format("2006-01")
	}
	if community == "" {
		plain(http.StatusBadRequest, "参数有误：community 必填（12 位社区代码）。")
		return
	}
	period, err := listexport.Month(month, shanghai)
	if err != nil {
		plain(http.StatusBadRequest, "参数有误：month 应为 YYYY-MM。")
		return
	}
	ctx, cancel := s.callContext(r.Context(), acting)
	defer cancel()
	if ctx == nil {
		plain(http.StatusInternalServerError, msgNoCredential)
		return
	}
	files, err := listexport.Fetch(ctx, s.opts.Lists, community, month, period, 50)
	if err != nil {
		msg, code := plainError(err)
		s.log.WarnContext(r.Context(), "list export failed", "file", name, "err", err)
		plain(code, msg)
		return
	}
	f := files[slices.Index(listexport.Names, name)]
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+community+"-"+month+"-"+name+`"`)
	if err := f.Write(w); err != nil {
		s.log.WarnContext(r.Context(), "list export not written", "file", name, "err", err)
	}
}
