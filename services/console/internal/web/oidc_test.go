package web_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gridflow/gridflow/services/console/internal/web"
)

// issuer is a tiny OpenID Connect provider: discovery, JWKS, an authorize
// endpoint that signs in whoever the test says at once, and a token
// endpoint that checks the client secret and the PKCE verifier.
type issuer struct {
	t      *testing.T
	srv    *httptest.Server
	key    *rsa.PrivateKey
	mu     sync.Mutex
	person string // who the next sign-in is
	nonce  string // "": the one the console sent
	codes  map[string]grant
}

type grant struct{ nonce, challenge, person string }

const (
	clientID     = "gridflow-console"
	clientSecret = "s3cret-of-the-console"
)

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &issuer{t: t, key: key, codes: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		u := is.srv.URL
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": u, "authorization_endpoint": u + "/authorize",
			"token_endpoint": u + "/token", "jwks_uri": u + "/jwks", "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		b64 := base64.RawURLEncoding
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
			"n": b64.EncodeToString(key.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(key.E)).Bytes())}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != clientID || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" {
			http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		code := rand.Text()
		is.mu.Lock()
		is.codes[code] = grant{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), person: is.person}
		is.mu.Unlock()
		back, _ := url.Parse(q.Get("redirect_uri"))
		back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
		}
		is.mu.Lock()
		g, found := is.codes[r.PostFormValue("code")]
		delete(is.codes, r.PostFormValue("code"))
		nonce := is.nonce
		is.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		if id != clientID || secret != clientSecret || !found || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
			return
		}
		if nonce == "" {
			nonce = g.nonce
		}
		now := time.Now()
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": is.srv.URL, "aud": clientID, "sub": "sso-" + g.person,
			"preferred_username": g.person, "nonce": nonce, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()})
		tok.Header["kid"] = "k1"
		signed, err := tok.SignedString(key)
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": signed})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *issuer) set(person, nonce string) {
	is.mu.Lock()
	is.person, is.nonce = person, nonce
	is.mu.Unlock()
}

func oidcHarness(t *testing.T) (*harness, *issuer) {
	is := newIssuer(t)
	h := newHarnessWith(t, func(consoleURL string) web.Options {
		o, err := web.NewOIDC(context.Background(), web.OIDCConfig{Issuer: is.srv.URL, ClientID: clientID, ClientSecret: clientSecret,
			RedirectURL: consoleURL + "/signin/oidc/callback", PersonClaim: "preferred_username"})
		if err != nil {
			t.Fatal(err)
		}
		return web.Options{OIDC: o}
	})
	return h, is
}

// ssoSignIn follows the whole flow from the console's button, redirects
// and all, and returns the last answer.
func ssoSignIn(t *testing.T, h *harness, c *http.Client) (int, string) {
	t.Helper()
	resp, err := c.Get(h.srv.URL + "/signin/oidc")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func following() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

func TestOIDCSignIn(t *testing.T) {
	h, is := oidcHarness(t)
	h.addAccount("zj-07", "dispatcher:310106022")
	_, form := h.get(h.browser(), "/signin")
	if !strings.Contains(form, `href="/signin/oidc"`) {
		t.Fatalf("the sign-in page offers no single sign-on:\n%s", form)
	}

	is.set("zj-07", "")
	c := following()
	code, page := ssoSignIn(t, h, c)
	if code != http.StatusOK || !strings.Contains(page, "王芳（zj-07）") || !strings.Contains(page, "GF-20261203-000001") {
		t.Fatalf("after single sign-on: %d\n%s", code, page)
	}
	h.fb.mu.Lock()
	last := h.fb.callers[len(h.fb.callers)-1]
	h.fb.mu.Unlock()
	if last.Actor() != "dispatcher:310106022 (zj-07 王芳)" {
		t.Fatalf("feedback was called as %s: the principal must be the console account's", last.Actor())
	}

	for _, tc := range []struct {
		person, nonce string
		code          int
		says          string
	}{
		{"nobody-99", "", http.StatusForbidden, "尚未开通"},
		{"zj-07", "not-the-nonce-sent", http.StatusUnauthorized, "凭证无效"},
	} {
		is.set(tc.person, tc.nonce)
		code, page := ssoSignIn(t, h, following())
		if code != tc.code || !strings.Contains(page, tc.says) {
			t.Errorf("person %s nonce %q: %d, want %d saying %s:\n%s", tc.person, tc.nonce, code, tc.code, tc.says, page)
		}
	}

	if code, body := h.api(admin, "POST", "/api/admin/accounts/zj-07/disable", nil); code != http.StatusNoContent {
		t.Fatalf("disable: %d %s", code, body)
	}
	is.set("zj-07", "")
	if code, page := ssoSignIn(t, h, following()); code != http.StatusForbidden || !strings.Contains(page, "停用") {
		t.Errorf("a disabled account through single sign-on: %d\n%s", code, page)
	}

	// An answer this browser did not ask for (another flow's state, or
	// none) is refused before the code is used.
	b := h.browser()
	resp, _ := h.get(b, "/signin/oidc/callback?code=x&state=y")
	wantStatus(t, resp, http.StatusForbidden, "a callback without this browser's flow")
	resp, _ = h.get(b, "/signin/oidc")
	wantStatus(t, resp, http.StatusFound, "the start of a flow")
	resp, _ = h.get(b, "/signin/oidc/callback?code=x&state=forged")
	wantStatus(t, resp, http.StatusForbidden, "a callback with another state")
}

func TestOIDCRoutesAbsentWhenNotConfigured(t *testing.T) {
	h := newHarness(t)
	resp, _ := h.get(h.browser(), "/signin/oidc")
	wantStatus(t, resp, http.StatusNotFound, "single sign-on without an issuer")
}
