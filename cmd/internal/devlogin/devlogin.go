// Package devlogin signs in to a Switchboard server that runs the
// development identity provider (--demo or --dev-identity), through the
// provider's login form as a browser would, and reads the demo users the
// server prints at start. The load and fault-injection tools use it to open
// the live feed as a signed-in console does.
package devlogin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// User is a user of the development identity provider.
type User struct {
	Username, Password, Roles string
}

// Users reads the "demo user" lines of the server's JSON log.
func Users(log string) []User {
	var users []User
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg      string `json:"msg"`
			Username string `json:"username"`
			Password string `json:"password"`
			Roles    string `json:"roles"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "demo user" && line.Username != "" {
			users = append(users, User{Username: line.Username, Password: line.Password, Roles: line.Roles})
		}
	}
	return users
}

// PickViewer prefers a user who may only watch: the feed needs no more.
func PickViewer(users []User) (User, error) {
	if len(users) == 0 {
		return User{}, errors.New("devlogin: the server printed no demo user to sign in with")
	}
	for _, u := range users {
		if strings.Contains(strings.ToLower(u.Roles), "viewer") {
			return u, nil
		}
	}
	return users[0], nil
}

// callbackPath is where the identity provider sends the browser back to
// the server, which then opens the session.
const callbackPath = "/auth/callback"

// loginForm finds the development provider's form: where it posts and the
// sign-in request it belongs to.
var loginForm = regexp.MustCompile(`action="([^"]+)"[\s\S]*?name="authRequestID" value="([^"]+)"`)

// SignIn logs u in at the server at baseURL and returns the cookie jar
// holding the session.
func SignIn(ctx context.Context, baseURL string, u User) (http.CookieJar, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("devlogin: sign in: %w", err)
	}
	c := &http.Client{Jar: jar, Transport: &http.Transport{Proxy: nil}, Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if via[len(via)-1].URL.Path == callbackPath {
				return http.ErrUseLastResponse // signed in: the console page itself is not needed
			}
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			return nil
		}}
	defer c.CloseIdleConnections()
	page, at, err := fetch(ctx, c, http.MethodGet, baseURL+"/auth/login", nil)
	if err != nil {
		return nil, fmt.Errorf("devlogin: sign in: %w", err)
	}
	m := loginForm.FindStringSubmatch(page)
	if m == nil {
		return nil, fmt.Errorf("devlogin: sign in: no login form at %s", at)
	}
	action, err := at.Parse(html.UnescapeString(m[1]))
	if err != nil {
		return nil, fmt.Errorf("devlogin: sign in: form action %q: %w", m[1], err)
	}
	form := url.Values{"authRequestID": {html.UnescapeString(m[2])}, "username": {u.Username}, "password": {u.Password}}
	if _, _, err := fetch(ctx, c, http.MethodPost, action.String(), form); err != nil {
		return nil, fmt.Errorf("devlogin: sign in as %s: %w", u.Username, err)
	}
	if _, _, err := fetch(ctx, c, http.MethodGet, baseURL+"/api/me", nil); err != nil {
		return nil, fmt.Errorf("devlogin: sign in as %s: no session afterwards: %w", u.Username, err)
	}
	return jar, nil
}

// fetch runs one request (following redirects) and returns the final page
// and its URL; any answer but 200 is an error.
func fetch(ctx context.Context, c *http.Client, method, target string, form url.Values) (string, *url.URL, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return "", nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", nil, fmt.Errorf("read %s: %w", resp.Request.URL, err)
	}
	signedIn := resp.Request.URL.Path == callbackPath && resp.StatusCode/100 == 3
	if resp.StatusCode != http.StatusOK && !signedIn {
		return "", nil, fmt.Errorf("%s %s answered %s: %s", method, resp.Request.URL, resp.Status, firstLine(string(page)))
	}
	return string(page), resp.Request.URL, nil
}

// firstLine is s up to its first line break.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
