//go:build !wasm

package main

import (
	"bytes"
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
