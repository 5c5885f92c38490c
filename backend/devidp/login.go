package devidp

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// The pages are plain HTML forms without script or inline style, so they
// work in any browser and under Switchboard's Content-Security-Policy; they
// take their look from Config.Stylesheet.
var pages = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="theme-color" content="#0f766e">
<meta name="description" content="Sign in to the Switchboard demo.">
<title>Sign in · Switchboard demo</title>
{{if .Stylesheet}}<link rel="stylesheet" href="{{.Stylesheet}}">{{end}}
{{if .Icon}}<link rel="icon" href="{{.Icon}}">{{end}}
</head>
<body class="auth">
<main class="auth-card">
<h1>Sign in to Switchboard</h1>
<p class="auth-note">The demo's own sign-in. Not for real accounts.</p>
{{if .Error}}<p id="login-error" class="auth-error" role="alert">{{.Error}}</p>{{end}}
{{if .ID}}<form method="post" action="{{.Action}}" class="auth-form">
<input type="hidden" name="authRequestID" value="{{.ID}}">
<label for="username">User name</label>
<input id="username" name="username" value="{{.Username}}" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button id="login" type="submit">Sign in</button>
</form>
{{if .Users}}<section class="auth-users" aria-labelledby="demo-users">
<h2 id="demo-users">Demo users</h2>
<p>Each password is the user name.</p>
<table>
<thead><tr><th scope="col">User</th><th scope="col">Password</th><th scope="col">May</th></tr></thead>
<tbody>{{range .Users}}<tr><td><code>{{.Username}}</code></td><td><code>{{.Password}}</code></td><td>{{.Hint}}</td></tr>
{{end}}</tbody>
</table>
</section>{{end}}{{end}}
</main>
</body>
</html>
`))

var loggedOut = template.Must(template.New("logged-out").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Signed out · Switchboard demo</title>
{{if .Stylesheet}}<link rel="stylesheet" href="{{.Stylesheet}}">{{end}}
</head>
<body class="auth"><main class="auth-card"><h1>Signed out</h1><p>You are signed out of the demo's sign-in.</p></main></body>
</html>
`))

type loginPage struct {
	Action, ID, Username, Error string
	Stylesheet, Icon            string
	Users                       []userHint
}

// userHint is a demo user as the sign-in page shows it.
type userHint struct{ Username, Password, Hint string }

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
	loggedOut.Execute(w, loginPage{Stylesheet: p.cfg.Stylesheet})
}

func (p *Provider) render(w http.ResponseWriter, status int, page loginPage) {
	page.Action = p.path + "/login"
	page.Stylesheet, page.Icon = p.cfg.Stylesheet, p.cfg.Icon
	if p.cfg.ShowUsers {
		for _, u := range p.cfg.Users {
			page.Users = append(page.Users, userHint{Username: u.Username, Password: u.Password, Hint: u.Hint})
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	pages.Execute(w, page)
}
