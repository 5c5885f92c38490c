package server_test

import (
	"context"
	"testing"

	"switchboard/app/calls"
	"switchboard/backend/graphsim"
)

// Graph gives notifications no id: hold, resume, hold again sends the
// same hold notification twice, and both count.
func TestHoldResumeHoldAgain(t *testing.T) {
	h := start(t, options{})
	ctx := context.Background()
	id, err := h.sim.StartOutgoing(ctx, graphsim.CallSpec{})
	if err != nil {
		t.Fatal(err)
	}
	for _, on := range []bool{true, false, true} {
		if err := h.sim.Hold(ctx, id, on); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { c, _ := h.srv.View().Get(id); return c.State == calls.Hold })
}
