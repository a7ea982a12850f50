// Package web is the console's HTTP door: the sign-in page, sessions, the
// signed-in pages, and the admin API gridctl manages accounts through.
//
// Browser rules, for every route:
//   - a page needs a live session (accounts.Service.Session); without one a
//     GET is sent to /signin and anything else is refused (401);
//   - the session cookie holds only a random id: HttpOnly, SameSite=Lax,
//     Path=/, Secure when the request came over TLS or CONSOLE_COOKIE_SECURE
//     says a TLS proxy fronts the console. Lax, not Strict, so that a link
//     to a case page from a chat or a mail opens signed in; no write is a
//     GET, and every write needs the CSRF token;
//   - every POST carries a CSRF token in its form: the session's own once
//     signed in (sign-out included), and before sign-in a random value
//     that must match a cookie set with the form (double submit), so a
//     third-party page cannot sign a browser in as someone else;
//   - pages are server-rendered with html/template, so citizen text is
//     escaped; no-store, no framing, a strict content security policy.
package web

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/policy"
	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	"github.com/gridflow/gridflow/services/console/internal/accounts"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.New("").ParseFS(templateFS, "templates/*.html"))

// Cookie names.
const (
	SessionCookie = "gridflow_session"
	preCookie     = "gridflow_signin" // the pre-sign-in CSRF value
)

// Options are the server's settings.
type Options struct {
	// SecureCookies marks cookies Secure even on a plain connection: the
	// console behind a proxy that terminates TLS.
	SecureCookies bool
	// CallTimeout bounds each call to a service (and the OIDC code
	// exchange).
	CallTimeout time.Duration
	// OIDC, when set, offers sign-in through the city's single sign-on.
	OIDC *OIDC

	// Live: the live queue, the review queue and the case page (issue 18,
	// live.go).
	Live LiveOptions
	// Levers and boards (issue 18): the services and data they call
	// beyond feedback (levers.go, boards.go).
	Boards Boards

	// Places (issue 20): classify's place registry, for the place page
	// and the case page's 此地历史 (places.go); nil: neither is shown.
	Places classifyv1.PlaceServiceClient
	// Source place coordination (issue 20, sourceplace.go): the case
	// page's source place block.
	SourcePlaces SourcePlaces
	// Lists: feedback's three lists, for the export route (issue 20,
	// exports.go); nil: the route says it is not configured.
	Lists feedbackv1.ListsServiceClient
	// Early warning (issue 20): feedback's WarningService, for the
	// warnings page (warnings.go); nil: the page says it is not configured.
	Warnings feedbackv1.WarningServiceClient
}

// Server is the console's HTTP handler.
type Server struct {
	accounts *accounts.Service
	minter   *Minter
	feedback feedbackv1.FeedbackServiceClient
	verifier *auth.Verifier // the admin API's bearer tokens
	oidc     *OIDC          // nil: password sign-in only
	log      *slog.Logger
	opts     Options
	mux      *http.ServeMux
	// patterns are the routes registered, each in pkg/policy's route
	// table (Patterns, for the test that checks it).
	patterns []string
}

// New returns the handler.
func New(acc *accounts.Service, minter *Minter, feedback feedbackv1.FeedbackServiceClient, verifier *auth.Verifier, log *slog.Logger, opts Options) *Server {
	if opts.CallTimeout == 0 {
		opts.CallTimeout = 10 * time.Second
	}
	s := &Server{accounts: acc, minter: minter, feedback: feedback, verifier: verifier, oidc: opts.OIDC, log: log, opts: opts, mux: http.NewServeMux()}
	s.open("GET /signin", s.signInPage)
	s.open("POST /signin", s.signIn)
	if s.oidc != nil {
		s.open("GET /signin/oidc", s.oidcStart)
		s.open("GET /signin/oidc/callback", s.oidcCallback)
	}
	s.page("POST /signout", s.signOut)
	s.page("GET /{$}", s.casesPage)
	s.adminRoutes()
	// The live queue, the review queue and the case page (issue 18, live.go).
	s.liveRoutes()

	// Levers and boards (issue 18): levers.go, boards.go.
	s.leversRoutes()
	s.boardsRoutes()

	// Places (issue 20): the place page (places.go).
	s.placesRoutes()
	// The three lists' export (issue 20): exports.go.
	s.exportsRoutes()
	// Early warning (issue 20): warnings.go.
	s.warningsRoutes()

	return s
}

// Patterns lists the routes the server registered.
func (s *Server) Patterns() []string { return slices.Clone(s.patterns) }

// handle registers a route, which must be in pkg/policy's route table.
func (s *Server) handle(pattern string, h http.Handler) {
	s.patterns = append(s.patterns, pattern)
	s.mux.Handle(pattern, h)
}

// open registers a route anyone may use (signing in): the policy says so.
func (s *Server) open(pattern string, h http.HandlerFunc) {
	if !policy.RouteOpen(policy.Route(policy.Console, pattern)) {
		panic("console: route " + pattern + " is not open in pkg/policy")
	}
	s.handle(pattern, h)
}

// page registers a signed-in route: a live session whose account's
// principal the policy admits to the route.
func (s *Server) page(pattern string, h http.HandlerFunc) {
	s.handle(pattern, s.signedIn(policy.Route(policy.Console, pattern), h))
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

type ctxKey struct{}

func sessionOf(ctx context.Context) accounts.Session {
	sess, _ := ctx.Value(ctxKey{}).(accounts.Session)
	return sess
}

// signedIn admits a request with a live session — and, for anything but a
// GET, the session's CSRF token — whose account's principal pkg/policy
// admits to route, and refuses every other.
func (s *Server) signedIn(route string, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(SessionCookie)
		var sess accounts.Session
		if err == nil {
			sess, err = s.accounts.Session(r.Context(), c.Value)
		}
		if err != nil {
			if !errors.Is(err, http.ErrNoCookie) && !errors.Is(err, accounts.ErrNoSession) {
				s.log.ErrorContext(r.Context(), "session lookup failed", "err", err)
				http.Error(w, "服务暂时不可用，请稍后再试", http.StatusInternalServerError)
				return
			}
			if c != nil {
				s.clearCookie(w, r, SessionCookie)
			}
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/signin", http.StatusSeeOther)
				return
			}
			http.Error(w, "未登录或会话已过期，请重新登录", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && !sameToken(r.PostFormValue("csrf"), sess.CSRF) {
			http.Error(w, "请求校验失败（CSRF），请刷新页面后重试", http.StatusForbidden)
			return
		}
		if err := policy.CheckRoute(sess.Account.Principal, route); err != nil {
			http.Error(w, "无权访问此页面", http.StatusForbidden)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, sess)))
	})
}

func sameToken(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (s *Server) secure(r *http.Request) bool { return s.opts.SecureCookies || r.TLS != nil }

// setCookie sets a browser-session cookie (no Expires): closing the
// browser on a shared desk forgets it, and the server ends the session on
// its own clocks anyway.
func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/",
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
}

type signInView struct {
	Title, Error, CSRF, Name string
	OIDC                     bool
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, v); err != nil {
		s.log.ErrorContext(r.Context(), "render failed", "page", name, "err", err)
	}
}

// signInPage shows the form with a fresh pre-sign-in CSRF value.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if _, err := s.accounts.Session(r.Context(), c.Value); err == nil {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
	}
	s.signInForm(w, r, http.StatusOK, "", "")
}

func (s *Server) signInForm(w http.ResponseWriter, r *http.Request, status int, msg, name string) {
	token, err := accounts.NewToken()
	if err != nil {
		http.Error(w, "服务暂时不可用", http.StatusInternalServerError)
		return
	}
	s.setCookie(w, r, preCookie, token)
	s.render(w, r, status, "signin.html", signInView{Title: "登录", Error: msg, CSRF: token, Name: name, OIDC: s.oidc != nil})
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	pre, err := r.Cookie(preCookie)
	if err != nil || !sameToken(r.PostFormValue("csrf"), pre.Value) {
		s.signInForm(w, r, http.StatusForbidden, "请求校验失败（CSRF），请重新登录", "")
		return
	}
	name := r.PostFormValue("name")
	sess, err := s.accounts.SignIn(r.Context(), name, r.PostFormValue("password"))
	var locked *accounts.LockedError
	switch {
	case err == nil:
	case errors.Is(err, accounts.ErrBadCredentials), errors.Is(err, accounts.ErrDisabled):
		s.log.InfoContext(r.Context(), "sign-in refused", "name", name, "reason", err.Error())
		s.signInForm(w, r, http.StatusUnauthorized, err.Error(), name)
		return
	case errors.As(err, &locked):
		s.log.WarnContext(r.Context(), "sign-in refused: locked out", "name", name, "until", locked.Until)
		s.signInForm(w, r, http.StatusTooManyRequests, err.Error(), name)
		return
	default:
		s.log.ErrorContext(r.Context(), "sign-in failed", "err", err)
		s.signInForm(w, r, http.StatusInternalServerError, "服务暂时不可用，请稍后再试", name)
		return
	}
	s.log.InfoContext(r.Context(), "signed in", "actor", sess.Account.Acting().Actor())
	s.clearCookie(w, r, preCookie)
	s.setCookie(w, r, SessionCookie, sess.ID)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	sess := sessionOf(r.Context())
	if err := s.accounts.SignOut(r.Context(), sess); err != nil {
		s.log.ErrorContext(r.Context(), "sign-out failed", "err", err)
		http.Error(w, "服务暂时不可用，请稍后再试", http.StatusInternalServerError)
		return
	}
	s.log.InfoContext(r.Context(), "signed out", "actor", sess.Account.Acting().Actor())
	s.clearCookie(w, r, SessionCookie)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
