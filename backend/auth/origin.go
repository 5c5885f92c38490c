package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"switchboard/backend/apierror"
)

// ErrOrigin is returned by CheckOrigin for a request from a page of
// another site.
var ErrOrigin = errors.New("auth: origin not allowed")

// normalizeOrigin reduces an absolute http(s) URL or origin to
// scheme://host[:port], lower-case, without a default port.
func normalizeOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("auth: %q is not an http(s) origin", s)
	}
	host := strings.ToLower(u.Host)
	if (u.Scheme == "http" && strings.HasSuffix(host, ":80")) || (u.Scheme == "https" && strings.HasSuffix(host, ":443")) {
		host = host[:strings.LastIndex(host, ":")]
	}
	return strings.ToLower(u.Scheme) + "://" + host, nil
}

// initOrigins sets the origins CheckOrigin and SameOrigin trust: the public
// URL's and the allow-list.
func (a *Auth) initOrigins() error {
	public, err := normalizeOrigin(a.cfg.PublicURL)
	if err != nil {
		return err
	}
	a.public, a.origins = public, []string{public}
	a.csrf = http.NewCrossOriginProtection()
	if err := a.csrf.AddTrustedOrigin(public); err != nil {
		return fmt.Errorf("auth: public URL origin: %w", err)
	}
	for _, o := range a.cfg.AllowedOrigins {
		n, err := normalizeOrigin(o)
		if err != nil {
			return fmt.Errorf("auth: allowed origin: %w", err)
		}
		a.origins = append(a.origins, n)
		if err := a.csrf.AddTrustedOrigin(n); err != nil {
			return fmt.Errorf("auth: allowed origin %q: %w", o, err)
		}
	}
	a.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "remote", r.RemoteAddr)
		apierror.Write(w, http.StatusForbidden, "forbidden", "cross-origin request refused: this action must come from Switchboard's own pages")
	}))
	return nil
}

// CheckOrigin returns nil if r comes from a page of PublicURL's origin or
// of an allowed origin, and an error wrapping ErrOrigin otherwise, including
// when r has no Origin header. Browsers always send Origin when opening a
// websocket, and a websocket is not protected by SameSite or CORS: the feed
// must call CheckOrigin before accepting, or any site a supervisor visits
// could read the feed with the supervisor's cookie (cross-site websocket
// hijacking).
func (a *Auth) CheckOrigin(r *http.Request) error {
	raw := r.Header.Get("Origin")
	if raw == "" {
		return fmt.Errorf("%w: no Origin header", ErrOrigin)
	}
	o, err := normalizeOrigin(raw)
	if err != nil || !slices.Contains(a.origins, o) {
		return fmt.Errorf("%w: %q", ErrOrigin, raw)
	}
	return nil
}

// AllowedOrigins returns the origins CheckOrigin accepts, PublicURL's first.
func (a *Auth) AllowedOrigins() []string { return slices.Clone(a.origins) }

// SameOrigin protects state-changing requests (anything but GET, HEAD and
// OPTIONS) on top of the SameSite=Lax cookie. It refuses with 403:
//
//   - a request whose Sec-Fetch-Site says cross-site or same-site, or whose
//     Origin is neither this server's nor an allowed one (Go's
//     http.CrossOriginProtection, trusting PublicURL and AllowedOrigins);
//   - a request carrying the session cookie but neither Sec-Fetch-Site nor
//     Origin. Every current browser sends one of them on such requests, so
//     this is an old browser or a tool replaying a cookie; refusing costs
//     nothing and closes the last gap.
//
// Requests with neither header and no session cookie (curl, integrations
// with their own credentials) pass: they carry no ambient authority to
// abuse.
func (a *Auth) SameOrigin(next http.Handler) http.Handler {
	guarded := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isSafeMethod(r.Method) && r.Header.Get("Sec-Fetch-Site") == "" && r.Header.Get("Origin") == "" && a.hasSessionCookie(r) {
			apierror.Write(w, http.StatusForbidden, "forbidden", "a signed-in request that changes something must say where it comes from (Origin header)")
			return
		}
		next.ServeHTTP(w, r)
	})
	return a.csrf.Handler(guarded)
}

func isSafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
