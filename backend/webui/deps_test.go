package webui

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWasmStaysClientOnly checks the dependency rule: the WebAssembly build
// of cmd/switchboard, which is the console this package serves, links no
// server-only package.
func TestWasmStaysClientOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "./cmd/switchboard")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd.Env = append(cmd.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !contains(deps, "switchboard/app/ui") {
		t.Fatalf("the wasm build does not contain the console; deps:\n%s", out)
	}
	for _, d := range deps {
		for _, banned := range []string{"switchboard/backend", "nats-io", "go-oidc", "prometheus", "zitadel", "oauth2", "chromedp"} {
			if strings.Contains(d, banned) {
				t.Errorf("the wasm build links %s", d)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
