//go:build !wasm

package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func TestFlagsFromEnvironment(t *testing.T) {
	t.Setenv("SWITCHBOARD_PUBLIC_URL", "https://sb.example.com")
	t.Setenv("SWITCHBOARD_SIM_RATE", "3.5")
	t.Setenv("SWITCHBOARD_ADDR", ":9999")
	o, err := parse([]string{"--addr", ":7000", "--history", "2h"})
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.PublicURL != "https://sb.example.com" || o.cfg.SimRate != 3.5 {
		t.Fatalf("environment not applied: %+v", o.cfg)
	}
	if o.addr != ":7000" || o.cfg.History != 2*time.Hour {
		t.Fatalf("the command line must win: addr %q history %v", o.addr, o.cfg.History)
	}
	t.Setenv("SWITCHBOARD_REPLICAS", "three")
	if _, err := parse(nil); err == nil || !strings.Contains(err.Error(), "SWITCHBOARD_REPLICAS") {
		t.Fatalf("a bad variable must be named: %v", err)
	}
}

func TestPublicURLFollowsTheAddress(t *testing.T) {
	tests := []struct {
		env, args []string
		want      string
	}{
		{nil, nil, "http://localhost:8080"},
		{[]string{"SWITCHBOARD_ADDR", ":9090"}, nil, "http://localhost:9090"},
		{nil, []string{"--addr", "127.0.0.1:7070"}, "http://localhost:7070"},
		{nil, []string{"--addr", "[::]:7071"}, "http://localhost:7071"},
		{nil, []string{"--addr", "0.0.0.0:7072"}, "http://localhost:7072"},
		{nil, []string{"--addr", "192.0.2.10:7073"}, "http://192.0.2.10:7073"},
		{nil, []string{"--addr", ":9090", "--public-url", "https://sb.example.com"}, "https://sb.example.com"},
		{[]string{"SWITCHBOARD_PUBLIC_URL", "https://env.example.com"}, []string{"--addr", ":9090"}, "https://env.example.com"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(append(tt.env, tt.args...), " "), func(t *testing.T) {
			t.Setenv("SWITCHBOARD_ADDR", "")
			t.Setenv("SWITCHBOARD_PUBLIC_URL", "")
			os.Unsetenv("SWITCHBOARD_ADDR")
			os.Unsetenv("SWITCHBOARD_PUBLIC_URL")
			if tt.env != nil {
				t.Setenv(tt.env[0], tt.env[1])
			}
			o, err := parse(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if o.cfg.PublicURL != tt.want {
				t.Errorf("public URL %q, want %q", o.cfg.PublicURL, tt.want)
			}
		})
	}
	if _, err := parse([]string{"--addr", ":0"}); err == nil {
		t.Error("--addr :0 without --public-url must be refused: no port to name")
	}
}

func TestHelpNamesEveryVariable(t *testing.T) {
	var out bytes.Buffer
	fs := newFlagSetForHelp(&out)
	fs.Usage()
	for _, name := range []string{"--addr", "SWITCHBOARD_ADDR", "--nats-url", "SWITCHBOARD_NATS_URL", "--sim-rate", "--seed", "--client-secret"} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("--help does not mention %s", name)
		}
	}
}

func TestByteSizeFlags(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"4GiB", 4 << 30, true}, {"512MiB", 512 << 20, true}, {"2GB", 2e9, true}, {"1000", 1000, true},
		{"64 KiB", 64 << 10, true}, {"0", 0, false}, {"-1GiB", 0, false}, {"lots", 0, false},
	}
	for _, tt := range tests {
		var n int64
		err := byteSize{&n}.Set(tt.in)
		if (err == nil) != tt.ok || (tt.ok && n != tt.want) {
			t.Errorf("%q: %d, %v; want %d (ok %v)", tt.in, n, err, tt.want, tt.ok)
		}
	}
	n := int64(512 << 20)
	if s := (byteSize{&n}).String(); s != "512MiB" {
		t.Errorf("512 MiB prints as %q", s)
	}
}

// TestTheMemoryLimitIsASize: --memory-limit (or its variable) takes a
// size, and none by default leaves Go's own limit alone.
func TestTheMemoryLimitIsASize(t *testing.T) {
	o, err := parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.memoryLimit != 0 {
		t.Fatalf("a memory limit of %d by default, want none", o.memoryLimit)
	}
	t.Setenv("SWITCHBOARD_MEMORY_LIMIT", "900MiB")
	if o, err = parse(nil); err != nil || o.memoryLimit != 900<<20 {
		t.Fatalf("SWITCHBOARD_MEMORY_LIMIT=900MiB: %d, %v", o.memoryLimit, err)
	}
	if _, err := parse([]string{"--memory-limit", "lots"}); err == nil {
		t.Fatal("--memory-limit lots was taken")
	}
}
