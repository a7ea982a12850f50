package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gridflow/gridflow/services/console/internal/accounts"
	"golang.org/x/oauth2"
)

// OIDCConfig is a city's single sign-on, when it has one: an OpenID
// Connect issuer the console is registered with as a confidential client.
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is the console's /signin/oidc/callback as the browser
	// reaches it, registered with the issuer.
	RedirectURL string
	// PersonClaim is the ID token's claim holding the console account's
	// person id (preferred_username, sub, employee_number …).
	PersonClaim string
}

// OIDC signs people in through an issuer: the authorization-code flow with
// state, nonce and PKCE (golang.org/x/oauth2), the ID token verified
// against the issuer's published keys, audience and expiry
// (github.com/coreos/go-oidc/v3). The issuer proves who someone is; what
// they may do stays their console account's (its principal, enabled or
// not), found by the person claim.
type OIDC struct {
	verifier *oidc.IDTokenVerifier
	oauth    oauth2.Config
	claim    string
}

// NewOIDC discovers the issuer (its /.well-known/openid-configuration).
func NewOIDC(ctx context.Context, c OIDCConfig) (*OIDC, error) {
	p, err := oidc.NewProvider(ctx, c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("OIDC issuer %s: %w", c.Issuer, err)
	}
	claim := c.PersonClaim
	if claim == "" {
		claim = "preferred_username"
	}
	return &OIDC{
		verifier: p.Verifier(&oidc.Config{ClientID: c.ClientID}),
		oauth: oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: c.RedirectURL,
			Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile"}},
		claim: claim,
	}, nil
}

// oidcCookie carries one flow's state, nonce and PKCE verifier between
// the redirect to the issuer and its answer; it lives ten minutes.
const oidcCookie = "gridflow_oidc"

const oidcFlowTTL = 10 * time.Minute

// oidcStart sends the browser to the issuer.
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) {
	state, err1 := accounts.NewToken()
	nonce, err2 := accounts.NewToken()
	if err := errors.Join(err1, err2); err != nil {
		http.Error(w, "服务暂时不可用", http.StatusInternalServerError)
		return
	}
	verifier := oauth2.GenerateVerifier()
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: state + "." + nonce + "." + verifier, Path: "/signin/oidc",
		MaxAge: int(oidcFlowTTL.Seconds()), HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, s.oidc.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// oidcCallback takes the issuer's answer: the state must be this browser's
// (the cookie), the code is exchanged with the PKCE verifier, the ID token
// verified and its nonce matched; then the account the person claim names
// is signed in as a password would.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/signin/oidc", MaxAge: -1,
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
	c, err := r.Cookie(oidcCookie)
	var parts []string
	if err == nil {
		parts = strings.Split(c.Value, ".")
	}
	q := r.URL.Query()
	if len(parts) != 3 || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(parts[0])) != 1 || q.Get("state") == "" {
		s.signInForm(w, r, http.StatusForbidden, "统一身份认证校验失败（state），请重新登录", "")
		return
	}
	if e := q.Get("error"); e != "" {
		s.log.InfoContext(r.Context(), "OIDC sign-in refused by the issuer", "error", e, "description", q.Get("error_description"))
		s.signInForm(w, r, http.StatusUnauthorized, "统一身份认证未通过，请重试或使用密码登录", "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.CallTimeout)
	defer cancel()
	tok, err := s.oidc.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(parts[2]))
	if err != nil {
		s.log.WarnContext(r.Context(), "OIDC code exchange failed", "err", err)
		s.signInForm(w, r, http.StatusBadGateway, "统一身份认证服务暂时不可用，请稍后再试", "")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := s.oidc.verifier.Verify(ctx, raw)
	if err != nil || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(parts[1])) != 1 {
		s.log.WarnContext(r.Context(), "OIDC ID token refused", "err", err)
		s.signInForm(w, r, http.StatusUnauthorized, "统一身份认证凭证无效，请重新登录", "")
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		s.signInForm(w, r, http.StatusUnauthorized, "统一身份认证凭证无效，请重新登录", "")
		return
	}
	person, _ := claims[s.oidc.claim].(string)
	if person == "" {
		s.log.WarnContext(r.Context(), "OIDC ID token lacks the person claim", "claim", s.oidc.claim, "subject", idt.Subject)
		s.signInForm(w, r, http.StatusUnauthorized, "统一身份认证凭证缺少人员编号，请联系管理员", "")
		return
	}
	sess, err := s.accounts.SignInExternal(r.Context(), person)
	switch {
	case err == nil:
	case errors.Is(err, accounts.ErrNotProvisioned), errors.Is(err, accounts.ErrDisabled):
		s.log.InfoContext(r.Context(), "OIDC sign-in refused", "person", person, "reason", err.Error())
		s.signInForm(w, r, http.StatusForbidden, err.Error(), "")
		return
	default:
		s.log.ErrorContext(r.Context(), "OIDC sign-in failed", "err", err)
		s.signInForm(w, r, http.StatusInternalServerError, "服务暂时不可用，请稍后再试", "")
		return
	}
	s.log.InfoContext(r.Context(), "signed in through OIDC", "actor", sess.Account.Acting().Actor(), "issuer", idt.Issuer)
	s.setCookie(w, r, SessionCookie, sess.ID)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
