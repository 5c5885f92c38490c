package graphsim

import (
	"context"
	"fmt"
)

// The scripted methods below drive a call the way Graph's cloud would, for
// tests and for the traffic generator. Each returns once the notifications
// it causes have been delivered to the webhook (or given up on after
// retries), so a test can assert on what the webhook received right after.
// If ctx ends first they return its error; the change itself has been made.

// StartIncoming makes a call arrive for the bot: a created notification with
// the call in state incoming. Unless answered, rejected or redirected within
// Config.IncomingTimeout, it ends with 408/1106. The zero CallSpec is a
// one-to-one audio call from a Teams user. It returns the call id.
func (s *Sim) StartIncoming(ctx context.Context, spec CallSpec) (string, error) {
	id, done, err := s.startIncoming(spec)
	if err != nil {
		return "", err
	}
	return id, await(ctx, done)
}

// StartOutgoing plays an outgoing call of the bot being set up and picked
// up: establishing, then established. The source is always the bot; the
// zero CallSpec calls one Teams user. It returns the call id.
func (s *Sim) StartOutgoing(ctx context.Context, spec CallSpec) (string, error) {
	id, done, err := s.startOutgoing(spec, true)
	if err != nil {
		return "", err
	}
	return id, await(ctx, done)
}

// Establish does what answer does to an incoming call (establishing, then
// established), without an API request. It also establishes an outgoing
// call still in establishing.
func (s *Sim) Establish(ctx context.Context, id string) error {
	return wait(ctx, "establish", id)(s.establish(id))
}

// Hold puts an established call on hold (on) or takes a held call back to
// established (off).
func (s *Sim) Hold(ctx context.Context, id string, on bool) error {
	return wait(ctx, "hold", id)(s.hold(id, on))
}

// Transfer plays a transfer of an established call. On success: transferring,
// transferAccepted, then deleted with 0/7015. On failure: transferring, then
// established again with resultInfo 500/7000.
func (s *Sim) Transfer(ctx context.Context, id string, succeed bool) error {
	return wait(ctx, "transfer", id)(s.transfer(id, succeed, reasonResult(500, 7000)))
}

// RemoteHangUp ends a live call as when the other side leaves or the
// platform fails: deleted(terminated) with resultInfo code/subcode and the
// documented message for that pair (see the delete call page's table).
func (s *Sim) RemoteHangUp(ctx context.Context, id string, code, subcode int) error {
	if err := validateResultCode(code, subcode); err != nil {
		return err
	}
	return wait(ctx, "remote hang-up", id)(s.remoteHangUp(id, reasonResult(code, subcode)))
}

// SetRoster changes the roster of an established group call: the last
// leave participants leave, then join join. It sends a participants
// notification with the new roster.
func (s *Sim) SetRoster(ctx context.Context, id string, join []Party, leave int) error {
	for _, p := range join {
		if err := p.validate(); err != nil {
			return fmt.Errorf("graphsim: roster of %s: %w", id, err)
		}
	}
	if leave < 0 {
		return fmt.Errorf("graphsim: roster of %s: leave %d is negative", id, leave)
	}
	return wait(ctx, "roster change", id)(s.changeRoster(id, join, leave))
}

// MuteSomeone makes one unmuted member of an established group call mute
// themselves: a roster update shows them muted.
func (s *Sim) MuteSomeone(ctx context.Context, id string) error {
	return wait(ctx, "mute", id)(s.muteMember(id))
}

// wait returns a function that waits for an operation's deliveries, naming
// the operation in errors.
func wait(ctx context.Context, op, id string) func(<-chan struct{}, error) error {
	return func(done <-chan struct{}, err error) error {
		if err != nil {
			return fmt.Errorf("graphsim: %s %s: %w", op, id, err)
		}
		return await(ctx, done)
	}
}

// await waits until done is closed or ctx ends.
func await(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("graphsim: waiting for notification delivery: %w", ctx.Err())
	}
}
