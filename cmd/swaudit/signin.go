package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

var authRequestID = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)

// signIn signs user (whose password is the user name) in through the
// demo's sign-in form, as a browser would, and returns the session cookie
// as a Cookie header value.
func signIn(ctx context.Context, base, user string) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/auth/login", nil)
	res, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("sign in: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	m := authRequestID.FindSubmatch(body)
	if m == nil {
		return "", fmt.Errorf("sign in: no sign-in form at %s (status %d)", res.Request.URL, res.StatusCode)
	}
	form := url.Values{"authRequestID": {string(m[1])}, "username": {user}, "password": {user}}
	action := *res.Request.URL
	action.RawQuery = ""
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	res, err = c.Do(req)
	if err != nil {
		return "", fmt.Errorf("sign in: %w", err)
	}
	res.Body.Close()
	u, _ := url.Parse(base)
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "switchboard" || ck.Name == "__Host-switchboard" {
			return ck.Name + "=" + ck.Value, nil
		}
	}
	return "", fmt.Errorf("sign in as %s: no session cookie (ended at %s, status %d)", user, res.Request.URL, res.StatusCode)
}
