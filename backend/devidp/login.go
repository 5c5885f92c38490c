package devidp

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// The pages are plain HTML forms without script or inline style, so they
// work in any browser and under Switchboard's Content-Security-Policy.
var pages = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Switchboard demo</title>
</head>
<body>
<main>
<h1>Sign in to Switchboard</h1>
<p>Development identity provider of the Switchboard demo. Not for real accounts.</p>
{{if .Error}}<p id="login-error" role="alert"><strong>{{.Error}}</strong></p>{{end}}
{{if .ID}}<form method="post" action="{{.Action}}">
<input type="hidden" name="authRequestID" value="{{.ID}}">
<p><label for="username">User name</label><br>
<input id="username" name="username" value="{{.Username}}" autocomplete="username" autocapitalize="none" required autofocus></p>
<p><label for="password">Password</label><br>
<input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button id="login" type="submit">Sign in</button></p>
</form>{{end}}
</main>
</body>
</html>
`))

var loggedOut = template.Must(template.New("logged-out").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Signed out · Switchboard demo</title></head>
<body><main><h1>Signed out</h1><p>You are signed out of the development identity provider.</p></main></body>
</html>
`))

type loginPage struct {
	Action, ID, Username, Error string
}

// serveLoginForm shows the form for the sign-in request in authRequestID.
func (p *Provider) serveLoginForm(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	if _, err := p.store.AuthRequestByID(r.Context(), id); err != nil {
		p.render(w, http.StatusBadRequest, loginPage{Error: errUnknownRequest.Error()})
		return
	}
	p.render(w, http.StatusOK, loginPage{ID: id})
}

// serveLogin checks the form. Success sends the browser back to the
// provider's callback, which redirects to Switchboard with a code; failure
// shows the form again with the error.
func (p *Provider) serveLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		p.render(w, http.StatusBadRequest, loginPage{Error: "the form could not be read: " + err.Error()})
		return
	}
	id, username := r.PostForm.Get("authRequestID"), r.PostForm.Get("username")
	err := p.store.checkLogin(id, username, r.PostForm.Get("password"))
	switch {
	case errors.Is(err, errWrongPassword):
		p.cfg.Logger.Info("devidp: sign-in refused", "user", username)
		p.render(w, http.StatusUnauthorized, loginPage{ID: id, Username: username, Error: err.Error()})
		return
	case err != nil:
		p.render(w, http.StatusBadRequest, loginPage{Error: err.Error()})
		return
	}
	p.cfg.Logger.Info("devidp: signed in", "user", username)
	http.Redirect(w, r, op.AuthCallbackURL(p.op)(r.Context(), id), http.StatusSeeOther)
}

func (p *Provider) serveLoggedOut(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	loggedOut.Execute(w, nil)
}

func (p *Provider) render(w http.ResponseWriter, status int, page loginPage) {
	page.Action = p.path + "/login"
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	pages.Execute(w, page)
}
