package auth

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// page is a plain HTML page that explains a refusal or an outcome. Pages
// have no script and no inline style, so they pass the strict
// Content-Security-Policy; they take the console's look from its
// stylesheet for these pages (web/auth.css, served at /web/auth.css).
type page struct {
	Title   string
	Message string
	Details []string
	Links   []link
}

type link struct{ Href, Text string }

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="theme-color" content="#0f766e">
<title>{{.Title}} · Switchboard</title>
<link rel="stylesheet" href="/web/auth.css">
<link rel="icon" href="/web/icon.svg">
</head>
<body class="auth">
<main id="auth-page" class="auth-card">
<h1>{{.Title}}</h1>
<p id="auth-message">{{.Message}}</p>
{{range .Details}}<p>{{.}}</p>
{{end}}{{if .Links}}<ul class="auth-links">{{range .Links}}<li><a href="{{.Href}}">{{.Text}}</a></li>{{end}}</ul>{{end}}
</main>
</body>
</html>
`))

func renderPage(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	pageTemplate.Execute(w, p)
}

// signOutLinks offers to sign out of the provider, so the user can sign in
// with another account, and to try again.
func (a *Auth) signOutLinks() []link {
	links := []link{{"/auth/login", "Sign in again"}}
	if a.endSession != "" {
		links = append(links, link{a.endSessionURL(""), "Sign out of the identity provider, to use another account"})
	}
	return links
}

func (a *Auth) noRolePage(name string, values []string) page {
	held := "no values"
	if len(values) > 0 {
		held = strings.Join(values, ", ")
	}
	return page{
		Title: "No Switchboard role",
		Message: fmt.Sprintf("You signed in as %s, but your account has none of Switchboard's roles "+
			"(viewer, supervisor or admin), so Switchboard does not let you in.", name),
		Details: []string{
			fmt.Sprintf("Switchboard reads roles from the %q claim of your sign-in, which holds: %s.", a.cfg.RoleClaim, held),
			"Ask an administrator to assign you one of Switchboard's roles, then sign in again.",
		},
		Links: a.signOutLinks(),
	}
}

func (a *Auth) overagePage(name string) page {
	return page{
		Title: "Too many groups to read your role",
		Message: fmt.Sprintf("You signed in as %s, but your account belongs to so many groups that the identity provider "+
			"left the %q claim out of your sign-in and pointed to Microsoft Graph instead. "+
			"Switchboard refuses rather than guess your role from a partial list.", name, a.cfg.RoleClaim),
		Details: []string{
			"Ask an administrator to give you a Switchboard app role (the \"roles\" claim), or to emit only the groups " +
				"assigned to the application, then sign in again.",
		},
		Links: a.signOutLinks(),
	}
}

func (a *Auth) serveLoggedOut(w http.ResponseWriter, _ *http.Request) {
	renderPage(w, http.StatusOK, page{
		Title:   "Signed out",
		Message: "You are signed out of Switchboard.",
		Links:   []link{{"/auth/login", "Sign in again"}},
	})
}

// endSessionURL is the provider's end-session URL, which returns the
// browser to /auth/logged-out. idToken, when known, is the id_token_hint
// that lets the provider end the session without asking.
func (a *Auth) endSessionURL(idToken string) string {
	q := url.Values{
		"client_id":                {a.cfg.ClientID},
		"post_logout_redirect_uri": {a.cfg.PublicURL + "/auth/logged-out"},
	}
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	sep := "?"
	if strings.Contains(a.endSession, "?") {
		sep = "&"
	}
	return a.endSession + sep + q.Encode()
}
