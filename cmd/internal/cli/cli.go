// Package cli is how Switchboard's tools start and end: run under a
// context that an interrupt or SIGTERM cancels, and exit with a status
// that says how it went. Every tool behaves the same at a terminal and
// under a supervisor: Ctrl-C stops it cleanly, -h prints its flags and
// exits 0, an error is one line on standard error and exit status 1.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Main runs run under a context cancelled by an interrupt or SIGTERM and
// ends the process: status 0 when run returns nil or flag.ErrHelp,
// otherwise the error on standard error after the tool's name, and
// status 1.
func Main(name string, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err == nil || errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	fmt.Fprintln(os.Stderr, name+":", err)
	os.Exit(1)
}
