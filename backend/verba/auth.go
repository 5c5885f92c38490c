package verba

import (
	"context"
	"net/http"
	"net/netip"

	"golang.org/x/crypto/bcrypt"
)

// authenticator knows the configured keys and users and checks what a
// request presents. Tokens are kept by a tokenStore.
type authenticator struct {
	keys   map[string]Key  // by Hash
	users  map[string]User // by Login
	tokens *tokenStore
	// decoy is compared against when the login is unknown, so that the time
	// taken does not tell which logins exist.
	decoy []byte
}

func newAuthenticator(keys []Key, users []User, tokens *tokenStore) (*authenticator, error) {
	_, byHash, err := indexKeys(keys)
	if err != nil {
		return nil, err
	}
	byLogin, err := indexUsers(users)
	if err != nil {
		return nil, err
	}
	decoy, err := bcrypt.GenerateFromPassword([]byte("no such user"), bcrypt.DefaultCost)
	if err != nil {
		return nil, err
	}
	return &authenticator{keys: byHash, users: byLogin, tokens: tokens, decoy: decoy}, nil
}

// key returns the configured key matching the apiKey parameter, if the
// client's address is in its networks.
func (a *authenticator) key(apiKey string, from netip.Addr) (Key, error) {
	k, ok := a.keys[HashKey(apiKey)]
	if !ok {
		return Key{}, unauthorized("unknown API key")
	}
	if !allowed(k.Networks, from) {
		return k, errorf(http.StatusForbidden, "this API key is not accepted from %s", addrString(from))
	}
	return k, nil
}

// allowed reports whether addr is in one of nets; an empty list allows all.
func allowed(nets []netip.Prefix, addr netip.Addr) bool {
	if len(nets) == 0 {
		return true
	}
	addr = addr.Unmap()
	for _, p := range nets {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return "an unknown address"
	}
	return a.Unmap().String()
}

// user checks HTTP Basic credentials. Unknown login and wrong password get
// the same answer; only the audit trail tells them apart.
func (a *authenticator) user(r *http.Request) (login string, err error) {
	login, password, ok := r.BasicAuth()
	if !ok {
		e := unauthorized("missing credentials: RequestToken needs HTTP Basic authentication with an API user's login and password")
		e.challenge = true
		return "", e
	}
	u, known := a.users[login]
	hash := a.decoy
	if known {
		hash = []byte(u.PasswordHash)
	}
	wrong := bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil
	switch {
	case !known:
		e := unauthorized("wrong login or password")
		e.auditNote = "unknown user"
		return login, e
	case wrong:
		e := unauthorized("wrong login or password")
		e.auditNote = "wrong password"
		return login, e
	}
	return login, nil
}

// token checks the token presented with a key that requires one, or that is
// presented anyway, and returns the API user it was issued to.
func (a *authenticator) token(ctx context.Context, k Key, token string) (user string, err error) {
	if token == "" {
		if k.RequireToken {
			return "", unauthorized("this API key requires a token: request one with action=RequestToken")
		}
		return "", nil
	}
	return a.tokens.check(ctx, k, token)
}
