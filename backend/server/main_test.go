package server_test

import (
	"os"
	"testing"

	"switchboard/backend/natstest"
)

// TestMain lets this test binary run as a NATS node of a process cluster
// (natstest.StartProcessCluster) when started as one.
func TestMain(m *testing.M) {
	natstest.RunNodeIfAsked()
	os.Exit(m.Run())
}
