package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"switchboard/backend/graphsim"
)

func TestCallbackURLList(t *testing.T) {
	o, err := parseOptions([]string{"--callback-url", " http://127.0.0.1:8080/hook, http://127.0.0.1:8081/hook ,"},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"http://127.0.0.1:8080/hook", "http://127.0.0.1:8081/hook"}
	if got := o.callbackURLs(); !slices.Equal(got, want) {
		t.Fatalf("callbackURLs = %q, want %q", got, want)
	}
}

// TestReplicasAndNotificationToken runs the command with two webhook
// replicas, one of them refusing everything: the simulator's traffic all
// lands on the other, and a token from the notification-token endpoint
// verifies against the simulator's keys like its own notifications' tokens.
func TestReplicasAndNotificationToken(t *testing.T) {
	var took atomic.Int64
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		took.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer good.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer bad.Close()
	o, err := parseOptions([]string{"--addr", "127.0.0.1:0", "--callback-url", bad.URL + "," + good.URL, "--rate", "600"},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, o, slog.New(slog.DiscardHandler), func(u string) { ready <- u }) }()
	defer func() {
		cancel()
		<-done
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}

	for took.Load() < 3 && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	if took.Load() < 3 {
		t.Fatalf("the replica that accepts took %d notifications in 20 s", took.Load())
	}

	resp, err := http.Post(base+notificationTokenPath, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Token string `json:"token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || body.Token == "" {
		t.Fatalf("token endpoint: %d %v %+v", resp.StatusCode, err, body)
	}
	keys := oidc.NewRemoteKeySet(ctx, base+graphsim.JWKSPath)
	v := oidc.NewVerifier(graphsim.NotificationIssuer, keys, &oidc.Config{ClientID: demoAppID})
	if _, err := v.Verify(ctx, body.Token); err != nil {
		t.Fatalf("the token does not verify as a notification token for the bot: %v", err)
	}
	if resp, err := http.Get(base + notificationTokenPath); err != nil || resp.StatusCode == http.StatusOK {
		t.Fatalf("GET %s: %v, want a refusal (tokens are POSTed for)", notificationTokenPath, err)
	} else {
		resp.Body.Close()
	}
}
