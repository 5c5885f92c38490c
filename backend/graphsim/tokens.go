package graphsim

import (
	"crypto/subtle"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// Values of the client-credentials flow, as the Microsoft identity platform
// uses them for Graph.
const (
	// GraphScope is the only scope the token endpoint grants.
	GraphScope = "https://graph.microsoft.com/.default"
	// graphAudience is the "aud" of access tokens for Graph.
	graphAudience = "https://graph.microsoft.com"
	// accessTokenLife is how long an access token lasts, as Entra ID's usual 3599 s.
	accessTokenLife = 3599 * time.Second
)

// accessClaims are the claims of the access tokens the token endpoint
// issues and the Graph API accepts.
type accessClaims struct {
	jwt.Claims
	TenantID string   `json:"tid"`
	AppID    string   `json:"appid"`
	IDType   string   `json:"idtyp"`
	Roles    []string `json:"roles"`
}

func accessIssuer(tenant string) string { return "https://sts.windows.net/" + tenant + "/" }

type tokenResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
}

// oauthError is the identity platform's error body.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	ErrorCodes  []int  `json:"error_codes"`
	Timestamp   string `json:"timestamp"`
	TraceID     string `json:"trace_id"`
}

// tokenError is a refused token request.
type tokenError struct {
	status int
	code   string // the OAuth error
	aadsts int    // the identity platform's AADSTS number
	desc   string
}

// serveToken is the client-credentials token endpoint,
// POST /{tenant}/oauth2/v2.0/token.
func (s *Sim) serveToken(w http.ResponseWriter, r *http.Request) {
	tok, terr := s.issueToken(w, r)
	if terr != nil {
		s.log.Info("token request refused", "error", terr.code, "description", terr.desc)
		writeJSON(w, terr.status, oauthError{
			Error:       terr.code,
			Description: fmt.Sprintf("AADSTS%d: %s", terr.aadsts, terr.desc),
			ErrorCodes:  []int{terr.aadsts},
			Timestamp:   time.Now().UTC().Format(time.DateTime + "Z"),
			TraceID:     newUUID(mrand.Uint64(), mrand.Uint64()),
		})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenResponse{
		TokenType:    "Bearer",
		ExpiresIn:    int(accessTokenLife / time.Second),
		ExtExpiresIn: int(accessTokenLife / time.Second),
		AccessToken:  tok,
	})
}

// issueToken checks a token request and signs an access token for it.
func (s *Sim) issueToken(w http.ResponseWriter, r *http.Request) (string, *tokenError) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return "", &tokenError{http.StatusBadRequest, "invalid_request", 900144, "The request body must be form-encoded: " + err.Error()}
	}
	if tenant := r.PathValue("tenant"); tenant != s.cfg.TenantID {
		return "", &tokenError{http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found.", tenant)}
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		return "", &tokenError{http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'; only client_credentials is served.", gt)}
	}
	if terr := s.checkClient(r); terr != nil {
		return "", terr
	}
	switch scope := r.PostForm.Get("scope"); scope {
	case GraphScope:
	case "":
		return "", &tokenError{http.StatusBadRequest, "invalid_request", 90014, "The required field 'scope' is missing from the credential."}
	default:
		return "", &tokenError{http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.", scope)}
	}
	tok, err := s.accessToken(time.Now())
	if err != nil {
		return "", &tokenError{http.StatusInternalServerError, "server_error", 50000, err.Error()}
	}
	return tok, nil
}

// checkClient authenticates the client, by HTTP Basic (RFC 6749 2.3.1, with
// form-encoded id and secret) or by client_id and client_secret in the form.
func (s *Sim) checkClient(r *http.Request) *tokenError {
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	switch {
	case id == "":
		return &tokenError{http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."}
	case id != s.cfg.ClientID:
		return &tokenError{http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", id, s.cfg.TenantID)}
	case secret == "":
		return &tokenError{http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
	case subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.ClientSecret)) != 1:
		return &tokenError{http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided."}
	}
	return nil
}

// accessToken signs an application access token for Graph.
func (s *Sim) accessToken(now time.Time) (string, error) {
	return s.keys.sign(accessClaims{
		Claims: jwt.Claims{
			Issuer:    accessIssuer(s.cfg.TenantID),
			Audience:  jwt.Audience{graphAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Minute)),
			Expiry:    jwt.NewNumericDate(now.Add(accessTokenLife)),
			ID:        newUUID(mrand.Uint64(), mrand.Uint64()),
		},
		TenantID: s.cfg.TenantID,
		AppID:    s.cfg.ClientID,
		IDType:   "app",
		Roles:    []string{"Calls.Initiate.All", "Calls.JoinGroupCall.All", "Calls.AccessMedia.All"},
	})
}

// errTokenMissing and friends are Graph's answers to bad access tokens.
var (
	errTokenMissing = &Error{Status: http.StatusUnauthorized, Code: "InvalidAuthenticationToken", Message: "Access token is empty."}
	errTokenParse   = &Error{Status: http.StatusUnauthorized, Code: "InvalidAuthenticationToken", Message: "CompactToken parsing failed with error code: 80049217"}
)

// authenticate checks the Bearer access token of a Graph API request.
func (s *Sim) authenticate(r *http.Request) *Error {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return errTokenMissing
	}
	var c accessClaims
	if err := s.keys.verify(tok, &c); err != nil {
		return errTokenParse
	}
	err := c.Claims.ValidateWithLeeway(jwt.Expected{
		Issuer:      accessIssuer(s.cfg.TenantID),
		AnyAudience: jwt.Audience{graphAudience},
		Time:        time.Now(),
	}, time.Minute)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return &Error{Status: http.StatusUnauthorized, Code: "InvalidAuthenticationToken", Message: "Lifetime validation failed, the token is expired."}
	case err != nil:
		return &Error{Status: http.StatusUnauthorized, Code: "InvalidAuthenticationToken", Message: "Access token validation failure: " + err.Error()}
	case c.TenantID != s.cfg.TenantID:
		return &Error{Status: http.StatusUnauthorized, Code: "InvalidAuthenticationToken", Message: "Access token validation failure. Invalid tenant."}
	}
	return nil
}
