//go:build !wasm

package main

import "testing"

func TestDevIdentityFlag(t *testing.T) {
	o, err := parse([]string{"--dev-identity"})
	if err != nil || !o.cfg.DevIdentity || o.cfg.Demo {
		t.Fatalf("--dev-identity: DevIdentity %v, Demo %v, err %v; want the provider without the demo", o.cfg.DevIdentity, o.cfg.Demo, err)
	}
	t.Setenv("SWITCHBOARD_DEV_IDENTITY", "true")
	if o, err := parse(nil); err != nil || !o.cfg.DevIdentity {
		t.Fatalf("SWITCHBOARD_DEV_IDENTITY=true: DevIdentity %v, err %v", o.cfg.DevIdentity, err)
	}
}
