package main

import (
	"strings"
	"testing"
)

func TestServerArgsFollowTheBinary(t *testing.T) {
	tests := []struct {
		name       string
		bin        serverBinary
		want, deny []string
	}{
		{"no sign-in", serverBinary{},
			[]string{"--tenant-id", "--graph-url", "--log-level warn"}, []string{"--demo", "--insecure-skip-notification-auth"}},
		{"sign-in through the demo", serverBinary{NeedsSignIn: true, SkipAuthFlag: true},
			[]string{"--demo", "--sim-rate 0", "--auto-answer-after 24h", "--log-level info", "--insecure-skip-notification-auth"}, []string{"--tenant-id"}},
		{"sign-in with a dev identity flag", serverBinary{NeedsSignIn: true, DevIdentityFlag: true},
			[]string{"--dev-identity", "--tenant-id", "--log-level info"}, []string{"--demo"}},
	}
	for _, tt := range tests {
		args := " " + strings.Join(serverArgs(tt.bin, "127.0.0.1:1", "/d"), " ") + " "
		for _, w := range append(tt.want, "--addr 127.0.0.1:1", "--public-url http://127.0.0.1:1", "--data /d") {
			if !strings.Contains(args, " "+w+" ") {
				t.Errorf("%s: args %q lack %q", tt.name, args, w)
			}
		}
		for _, d := range tt.deny {
			if strings.Contains(args, " "+d+" ") {
				t.Errorf("%s: args %q have %q", tt.name, args, d)
			}
		}
	}
}
