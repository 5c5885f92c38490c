package devidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Lifetimes of the provider's state.
const (
	authRequestLife = 10 * time.Minute
	accessTokenLife = 5 * time.Minute
	idTokenLife     = time.Hour
)

// storage is the provider's memory: users, the client, sign-in requests,
// codes and access tokens. It implements op.Storage.
type storage struct {
	client    *client
	users     map[string]User // by username
	subjects  map[string]User // by subject
	roleClaim string
	key       signingKey
	log       func(msg string, args ...any)

	mu       sync.Mutex
	requests map[string]*authRequest
	codes    map[string]string // code -> request id
	tokens   map[string]accessToken
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

func newStorage(cfg Config, key *rsa.PrivateKey, loginPath string) (*storage, error) {
	s := &storage{
		client: &client{
			id: cfg.ClientID, secret: cfg.ClientSecret, loginPath: loginPath,
			redirectURIs: cfg.RedirectURIs, postLogoutURIs: cfg.PostLogoutRedirectURIs,
		},
		users:     map[string]User{},
		subjects:  map[string]User{},
		roleClaim: cfg.RoleClaim,
		key:       signingKey{id: newID(), key: key},
		log:       cfg.Logger.Info,
		requests:  map[string]*authRequest{},
		codes:     map[string]string{},
		tokens:    map[string]accessToken{},
	}
	for _, u := range cfg.Users {
		if u.Username == "" || u.Password == "" {
			return nil, fmt.Errorf("devidp: user %q needs a user name and a password", u.Username)
		}
		if u.Subject == "" {
			u.Subject = "user-" + u.Username
		}
		if _, dup := s.users[u.Username]; dup {
			return nil, fmt.Errorf("devidp: user %q is listed twice", u.Username)
		}
		s.users[u.Username] = u
		s.subjects[u.Subject] = u
	}
	return s, nil
}

// newID returns 128 random bits in hex.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// errUnknownRequest and errWrongPassword are the login form's failures.
var (
	errUnknownRequest = errors.New("this sign-in request is unknown or has expired: start again from Switchboard")
	errWrongPassword  = errors.New("wrong user name or password")
)

// checkLogin completes sign-in request id for username if password is
// theirs.
func (s *storage) checkLogin(id, username, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	req, ok := s.requests[id]
	if !ok || req.done {
		return errUnknownRequest
	}
	u, ok := s.users[username]
	if !ok || subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) != 1 {
		return errWrongPassword
	}
	req.subject, req.done, req.authTime = u.Subject, true, time.Now()
	return nil
}

// CreateAuthRequest stores a validated authorization request. PKCE with
// S256 is required, as Switchboard always sends it.
func (s *storage) CreateAuthRequest(_ context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if slices.Contains(r.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired()
	}
	if r.CodeChallenge == "" || r.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("this provider requires PKCE with code_challenge_method S256")
	}
	req := &authRequest{
		id: newID(), created: time.Now(), clientID: r.ClientID, redirectURI: r.RedirectURI,
		state: r.State, nonce: r.Nonce, scopes: r.Scopes, responseType: r.ResponseType, responseMode: r.ResponseMode,
		challenge: &oidc.CodeChallenge{Challenge: r.CodeChallenge, Method: r.CodeChallengeMethod},
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetOldRequests(req.created)
	s.requests[req.id] = req
	return req, nil
}

// forgetOldRequests drops sign-in requests older than authRequestLife, so
// abandoned sign-ins do not pile up.
func (s *storage) forgetOldRequests(now time.Time) {
	for id, req := range s.requests {
		if now.Sub(req.created) > authRequestLife {
			s.dropRequest(id)
		}
	}
}

func (s *storage) dropRequest(id string) {
	delete(s.requests, id)
	for code, rid := range s.codes {
		if rid == id {
			delete(s.codes, code)
		}
	}
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	req, ok := s.requests[id]
	if !ok {
		return nil, errUnknownRequest
	}
	return req, nil
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	id, ok := s.codes[code]
	s.mu.Unlock()
	if !ok {
		return nil, errors.New("code unknown, used or expired")
	}
	return s.AuthRequestByID(ctx, id)
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.requests[id]; !ok {
		return errUnknownRequest
	}
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest forgets a request and its code once tokens are issued:
// a code works once.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropRequest(id)
	return nil
}

// accessToken is an opaque access token's record.
type accessToken struct {
	subject, clientID string
	scopes            []string
	expiry            time.Time
}

func (s *storage) CreateAccessToken(_ context.Context, r op.TokenRequest) (string, time.Time, error) {
	clientID := s.client.id
	if ar, ok := r.(*authRequest); ok {
		clientID = ar.clientID
	}
	id, exp := newID(), time.Now().Add(accessTokenLife)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[id] = accessToken{subject: r.GetSubject(), clientID: clientID, scopes: r.GetScopes(), expiry: exp}
	return id, exp, nil
}

var errNoRefresh = errors.New("the development provider issues no refresh tokens")

func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errNoRefresh
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errNoRefresh
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// TerminateSession ends a user's sign-in at the end-session endpoint: their
// access tokens for the client stop working.
func (s *storage) TerminateSession(_ context.Context, subject, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.tokens {
		if t.subject == subject && t.clientID == clientID {
			delete(s.tokens, id)
		}
	}
	if u, ok := s.subjects[subject]; ok {
		s.log("devidp: signed out", "user", u.Username)
	}
	return nil
}

func (s *storage) RevokeToken(_ context.Context, token, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[token]
	if !ok {
		return nil
	}
	if t.clientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
	}
	delete(s.tokens, token)
	return nil
}

// signingKey is the RSA key that signs ID tokens.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.id }

// publicKey is signingKey's public half, published at the keys endpoint.
type publicKey struct{ signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.key.PublicKey }

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.key, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s.key}}, nil
}

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != s.client.id {
		return nil, fmt.Errorf("client %q not found", id)
	}
	return s.client, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	if id != s.client.id || subtle.ConstantTimeCompare([]byte(secret), []byte(s.client.secret)) != 1 {
		return errors.New("wrong client id or secret")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in op; SetUserinfoFromRequest fills
// the ID token instead.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	return s.fillUserinfo(info, r.GetSubject(), scopes)
}

// SetUserinfoFromToken answers the userinfo endpoint.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || time.Now().After(t.expiry) {
		return errors.New("access token unknown or expired")
	}
	return s.fillUserinfo(info, t.subject, t.scopes)
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, _, clientID string) error {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || time.Now().After(t.expiry) || t.clientID != clientID {
		return errors.New("access token unknown, expired or not this client's")
	}
	info := new(oidc.UserInfo)
	if err := s.fillUserinfo(info, t.subject, t.scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Scope, resp.ClientID, resp.Expiration = t.scopes, t.clientID, oidc.FromTime(t.expiry)
	return nil
}

// fillUserinfo sets the claims of subject that scopes grant; the role claim
// comes with openid, as Entra ID puts app roles in every ID token.
func (s *storage) fillUserinfo(info *oidc.UserInfo, subject string, scopes []string) error {
	u, ok := s.subjects[subject]
	if !ok {
		return fmt.Errorf("user %q not found", subject)
	}
	for _, scope := range scopes {
		switch scope {
		case oidc.ScopeOpenID:
			info.Subject = u.Subject
			info.AppendClaims(s.roleClaim, append([]string{}, u.Roles...))
		case oidc.ScopeProfile:
			info.Name, info.PreferredUsername = u.Name, u.Username
		case oidc.ScopeEmail:
			info.Email, info.EmailVerified = u.Email, oidc.Bool(u.Email != "")
		}
	}
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

var errNoJWTProfile = errors.New("the development provider does not accept JWT profile grants")

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNoJWTProfile
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errNoJWTProfile
}

func (s *storage) Health(context.Context) error { return nil }
