//go:build !wasm

package main

import (
	"strings"
	"testing"
	"time"
)

func TestLimitFlags(t *testing.T) {
	t.Setenv("SWITCHBOARD_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.10")
	t.Setenv("SWITCHBOARD_METRICS_TOKEN", "from-the-environment")
	t.Setenv("SWITCHBOARD_BODY_TIMEOUT", "3s")
	o, err := parse([]string{"--client-rate", "12", "--write-timeout", "90s", "--verba-lockout", "1h"})
	if err != nil {
		t.Fatal(err)
	}
	l := o.cfg.Limits
	if len(l.TrustedProxies) != 2 || l.TrustedProxies[1].String() != "192.0.2.10/32" || o.cfg.MetricsToken != "from-the-environment" ||
		l.BodyTimeout != 3*time.Second || l.ClientRate != 12 || l.WriteTimeout != 90*time.Second || l.VerbaLockoutFor != time.Hour {
		t.Fatalf("limits %+v, metrics token %q", l, o.cfg.MetricsToken)
	}
	if l.ReadHeaderTimeout != 10*time.Second || l.ClientBurst != 30 || l.MaxPendingSignIns != 5000 || o.cfg.MetricsAddr != "" {
		t.Fatalf("defaults %+v", l)
	}
	t.Setenv("SWITCHBOARD_TRUSTED_PROXIES", "10.0.0.0/33")
	if _, err := parse(nil); err == nil || !strings.Contains(err.Error(), "SWITCHBOARD_TRUSTED_PROXIES") {
		t.Fatalf("a bad network must be named: %v", err)
	}
}
