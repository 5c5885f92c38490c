package notifyauth

import (
	"context"
	"net/http"

	"switchboard/backend/apierror"
)

type claimsKey struct{}

// Middleware lets through to next only requests whose token Verify accepts,
// with the claims in the request's context (see ClaimsFrom). Others get 401
// with a JSON error naming the reason, and never reach next: nothing of a
// refused notification is recorded. The details go to the log.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := v.Verify(r.Context(), r)
		if err != nil {
			v.log.Warn("notification refused", "remote", r.RemoteAddr, "err", err)
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			apierror.Write(w, http.StatusUnauthorized, "unauthenticated", "notification token refused: "+Reason(err).Error())
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
	})
}

// ClaimsFrom returns the claims Middleware put in ctx.
func ClaimsFrom(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(Claims)
	return c, ok
}
